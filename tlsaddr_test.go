package evloop_test

// tls:// listen addresses and Dial("tls", ...) put the TLS layer between the
// loop and the handler on every backend: the handler sees plaintext through
// the same conn.Conn, Stats counts the handshakes, an EOF without
// close_notify is truncation, and a conn the engine closes as it stops is not.

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// tlsCauses echoes and reports each OnClose cause and the server name seen.
type tlsCauses struct {
	reactor.BaseHandler
	closed chan error
	names  chan string
}

func (h *tlsCauses) OnOpen(c conn.Conn) reactor.Action {
	if tc, ok := c.(reactor.TLSConn); ok {
		h.names <- tc.ConnectionState().ServerName
	} else {
		h.names <- "<not a TLSConn>"
	}
	return reactor.None
}

func (h *tlsCauses) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (h *tlsCauses) OnClose(_ conn.Conn, err error) { h.closed <- err }

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func TestTLSAddress(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}

	forEachBackend(t, func(t *testing.T, b backend) {
		h := &tlsCauses{closed: make(chan error, 8), names: make(chan string, 8)}
		opts := append([]reactor.Option{reactor.WithLogger(discardLogger()), reactor.WithTLS(srvCfg)}, b.opts...)
		e, err := reactor.Start(h, []string{"tls://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		addr := e.Addrs()[0].String()

		// A crypto/tls client: echo, then close_notify → clean close.
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cliCfg)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Write([]byte("hello"))
		require.NoError(t, err)
		buf := make([]byte, 5)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		require.Equal(t, "hello", string(buf))
		require.Equal(t, "localhost", recv(t, h.names, "OnOpen"))
		require.NoError(t, c.Close()) // sends close_notify
		require.NoError(t, recv(t, h.closed, "OnClose after close_notify"))

		// A TCP EOF without close_notify: truncation.
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cliCfg)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("x"))
		io.ReadFull(c, buf[:1])
		recv(t, h.names, "OnOpen")
		c.NetConn().Close()
		require.ErrorIs(t, recv(t, h.closed, "OnClose after a bare EOF"), reactor.ErrTLSTruncated)

		// Garbage instead of a ClientHello: no OnOpen, no OnClose, counted.
		g, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		g.SetDeadline(time.Now().Add(10 * time.Second))
		g.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		io.ReadAll(g)
		g.Close()
		require.Eventually(t, func() bool {
			s := e.Stats().TLS
			return s.Handshakes == 2 && s.HandshakeFailures == 1
		}, 10*time.Second, 5*time.Millisecond, "%+v", e.Stats().TLS)

		// A conn the engine closes as it stops is no truncation.
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cliCfg)
		require.NoError(t, err)
		defer c.Close()
		recv(t, h.names, "OnOpen")
		stop(t, e)
		require.NoError(t, recv(t, h.closed, "OnClose at Stop"))
		select {
		case err := <-h.closed:
			t.Fatalf("an OnClose too many: %v", err)
		default:
		}
	})
}

// dialer is a client engine's handler: it sends a greeting once open and
// reports the echo and the close cause.
type dialer struct {
	reactor.BaseHandler
	got    chan string
	closed chan error
}

func (d *dialer) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("ping"))
	return reactor.None
}

func (d *dialer) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	d.got <- string(b)
	return reactor.Close
}

func (d *dialer) OnClose(_ conn.Conn, err error) { d.closed <- err }

func TestDialTLS(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	srv := &tlsCauses{closed: make(chan error, 8), names: make(chan string, 8)}
	se, err := reactor.Start(srv, []string{"tls://127.0.0.1:0"}, reactor.WithLogger(discardLogger()),
		reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, se) })
	addr := se.Addrs()[0].String()

	forEachBackend(t, func(t *testing.T, b backend) {
		d := &dialer{got: make(chan string, 4), closed: make(chan error, 4)}
		opts := append([]reactor.Option{reactor.WithLogger(discardLogger()),
			reactor.WithDialTLS(&tls.Config{RootCAs: selfsigned.Pool(cert)})}, b.opts...)
		e, err := reactor.Start(d, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e) })

		// The certificate names 127.0.0.1: verified, echoed.
		require.NoError(t, e.Dial("tls", addr))
		require.Equal(t, "ping", recv(t, d.got, "the echo"))
		require.NoError(t, recv(t, d.closed, "the client's OnClose"))

		// A client that expects another name: a certificate error.
		d2 := &dialer{got: make(chan string, 4), closed: make(chan error, 4)}
		opts = append([]reactor.Option{reactor.WithLogger(discardLogger()),
			reactor.WithDialTLS(&tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "elsewhere.example"})}, b.opts...)
		e2, err := reactor.Start(d2, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e2) })
		require.NoError(t, e2.Dial("tls", addr))
		err = recv(t, d2.closed, "the failed dial's OnClose")
		require.Empty(t, d2.got)
		var certErr *tls.CertificateVerificationError
		require.True(t, errors.As(err, &certErr), "cause %v", err)
	})
}
