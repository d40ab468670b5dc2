//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

func TestDial(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "peer.sock")
			}
			ln, err := net.Listen(network, addr)
			require.NoError(t, err)
			defer ln.Close()
			r := newRecorder()
			r.onOpen = func(c conn.Conn) reactor.Action {
				c.Write([]byte("hello peer"))
				return reactor.None
			}
			e := start(t, r, []string{"tcp://127.0.0.1:0"})
			require.NoError(t, e.Dial(network, ln.Addr().String()))
			peer, err := ln.Accept()
			require.NoError(t, err)
			defer peer.Close()
			peer.SetDeadline(time.Now().Add(waitLimit))
			buf := make([]byte, len("hello peer"))
			_, err = io.ReadFull(peer, buf)
			require.NoError(t, err)
			require.Equal(t, "hello peer", string(buf))
			oc := within(t, r.opened, "OnOpen of the dialed conn")
			require.Equal(t, ln.Addr().String(), oc.RemoteAddr().String())
			require.Equal(t, 1, e.Conns())
			// The handler echoes on dialed conns too.
			_, err = peer.Write([]byte("echo"))
			require.NoError(t, err)
			buf = buf[:4]
			_, err = io.ReadFull(peer, buf)
			require.NoError(t, err)
			require.Equal(t, "echo", string(buf))
			require.NoError(t, peer.Close())
			require.NoError(t, within(t, r.closed, "OnClose").err)
			r.requireLifecycles(t)
		})
	}
}

func TestDialFailureReportedByOnClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	require.NoError(t, e.Dial("tcp", addr))
	ev := within(t, r.closed, "OnClose of the failed dial")
	require.Error(t, ev.err)
	require.Equal(t, addr, ev.c.RemoteAddr().String())
	require.Empty(t, r.opened, "a failed dial never opens")
	require.ErrorIs(t, ev.c.Close(), conn.ErrClosed)
}

func TestDialUnsupportedNetwork(t *testing.T) {
	e := start(t, newRecorder(), []string{"tcp://127.0.0.1:0"})
	require.ErrorIs(t, e.Dial("udp", "127.0.0.1:9"), reactor.ErrUnsupported)
}

func TestDialedConnClosedByStop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	r := newRecorder()
	e, err := reactor.Start(r, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(New()), reactor.WithLogger(discardLogger()))
	require.NoError(t, err)
	require.NoError(t, e.Dial("tcp", ln.Addr().String()))
	peer, err := ln.Accept()
	require.NoError(t, err)
	defer peer.Close()
	within(t, r.opened, "OnOpen")
	stop(t, e)
	require.NoError(t, within(t, r.closed, "OnClose").err)
	peer.SetDeadline(time.Now().Add(waitLimit))
	_, err = peer.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
}

func TestDialErrorsAreOpErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithDialTimeout(time.Nanosecond))
	require.NoError(t, e.Dial("tcp", addr))
	ev := within(t, r.closed, "OnClose of the failed dial")
	var oe *net.OpError
	require.ErrorAs(t, ev.err, &oe)
	require.Equal(t, "dial", oe.Op)
	require.ErrorIs(t, ev.err, reactor.ErrDialTimeout)
}

func TestDialOverMaxConns(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithMaxConns(1))
	dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	require.ErrorIs(t, e.Dial("tcp", e.Addrs()[0].String()), reactor.ErrTooManyConns)
}
