package evloop_test

// OnStop reaches the application's handler through every layer (TLS, the
// debug conn log, ProxySender), on every backend, so that a protocol can say
// goodbye as the engine stops.

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
)

// goodbye echoes lines and, on OnStop, writes "bye\n": what a protocol's
// last word looks like.
type goodbye struct {
	reactor.BaseHandler
	opened  chan conn.Conn
	stopped chan conn.Conn
	closed  chan error
}

func newGoodbye() *goodbye {
	return &goodbye{opened: make(chan conn.Conn, 64), stopped: make(chan conn.Conn, 64), closed: make(chan error, 64)}
}

func (g *goodbye) OnOpen(c conn.Conn) reactor.Action { g.opened <- c; return reactor.None }

func (g *goodbye) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (g *goodbye) OnStop(c conn.Conn) {
	c.Write([]byte("bye\n"))
	g.stopped <- c
}

func (g *goodbye) OnClose(_ conn.Conn, err error) { g.closed <- err }

// readUntilEOF reads lines until the peer's end, then closes c (the
// server lingers for that); it fails on anything but a clean end.
func readUntilEOF(t *testing.T, c net.Conn) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	c.Close()
	require.NoError(t, sc.Err(), "a clean end, after %q", lines)
	return lines
}

// stopAsync stops e on a goroutine of its own: the stop waits for the
// clients' EOFs, which the test sends once it has read the server's.
func stopAsync(e reactor.Engine) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.Stop(ctx)
	}()
	return done
}

func stopNow(t *testing.T, e reactor.Engine) {
	t.Helper()
	require.NoError(t, recv(t, stopAsync(e), "Stop's end"))
}

// echoed sends "hi" and waits for it to come back: the server has read
// everything the client sent.
func echoed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write([]byte("hi\n"))
	require.NoError(t, err)
	got := make([]byte, 3)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "hi\n", string(got))
}

// TestOnStopBehindTLS: the TLS layer passes OnStop on with the plaintext
// conn; the goodbye goes out encrypted, ahead of close_notify.
func TestOnStopBehindTLS(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGoodbye()
		e := start(t, g, "tls://127.0.0.1:0", b, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.Addrs()[0].String(), &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		defer c.Close()
		echoed(t, c)
		opened := recv(t, g.opened, "OnOpen")
		_, isTLS := conn.TLSState(opened)
		require.True(t, isTLS, "the handler's conn carries TLS")
		stopped := stopAsync(e)
		require.Same(t, opened, recv(t, g.stopped, "OnStop behind TLS"), "OnStop gets the conn OnOpen got")
		require.Equal(t, []string{"bye"}, readUntilEOF(t, c), "close_notify (a clean end) after the goodbye")
		require.NoError(t, recv(t, stopped, "Stop's end"))
		require.NoError(t, recv(t, g.closed, "OnClose"))
	})
}

// TestOnStopBehindConnLog: with the logger at debug level, the conn log is
// the innermost layer; OnStop passes through it.
func TestOnStopBehindConnLog(t *testing.T) {
	debug := slog.New(slog.NewTextHandler(discardWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGoodbye()
		e := start(t, g, "tcp://127.0.0.1:0", b, reactor.WithLogger(debug))
		c := dial(t, e)
		defer c.Close()
		echoed(t, c)
		opened := recv(t, g.opened, "OnOpen")
		stopped := stopAsync(e)
		require.Same(t, opened, recv(t, g.stopped, "OnStop behind the conn log"))
		require.Equal(t, []string{"bye"}, readUntilEOF(t, c))
		require.NoError(t, recv(t, stopped, "Stop's end"))
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestOnStopBehindProxySender: a dialed conn whose handler is behind a
// ProxySender hears OnStop when the dialing engine stops.
func TestOnStopBehindProxySender(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		g := newGoodbye()
		e, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp://127.0.0.1:0"}, b.opts...)
		require.NoError(t, err)
		stopped := false
		defer func() {
			if !stopped {
				stopNow(t, e)
			}
		}()
		src := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000}
		dst := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80}
		sender, err := reactor.NewProxySender(g, 1, func(conn.Conn) *proxyproto.Header {
			return &proxyproto.Header{Command: proxyproto.Proxy, Source: src, Destination: dst}
		})
		require.NoError(t, err)
		require.NoError(t, e.DialHandler("tcp", ln.Addr().String(), sender))
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		s, err := ln.Accept()
		require.NoError(t, err)
		defer s.Close()
		recv(t, g.opened, "OnOpen")
		done := stopAsync(e)
		stopped = true
		recv(t, g.stopped, "OnStop behind ProxySender")
		lines := readUntilEOF(t, s)
		require.NoError(t, recv(t, done, "Stop's end"))
		require.Len(t, lines, 2, "%q", lines)
		require.True(t, strings.HasPrefix(lines[0], "PROXY TCP4 192.0.2.1 192.0.2.2 4000 80"), "%q", lines[0])
		require.Equal(t, "bye", lines[1])
	})
}
