//go:build linux

package uringbackend_test

import (
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// dialer greets the peer it dialed and reports OnOpen and OnClose.
type dialer struct {
	reactor.BaseHandler
	opened chan conn.Conn
	closed chan error
}

func (h *dialer) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("hi"))
	h.opened <- c
	return reactor.None
}

func (h *dialer) OnClose(_ conn.Conn, err error) { h.closed <- err }

func TestDialTCPAndUnix(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "peer.sock")
			}
			ln, err := net.Listen(network, addr)
			require.NoError(t, err)
			defer ln.Close()
			h := &dialer{opened: make(chan conn.Conn, 1), closed: make(chan error, 1)}
			e := start(t, h, "tcp://127.0.0.1:0")
			require.NoError(t, e.Dial(network, ln.Addr().String()))
			peer, err := ln.Accept()
			require.NoError(t, err)
			defer peer.Close()
			peer.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 2)
			_, err = io.ReadFull(peer, buf)
			require.NoError(t, err)
			require.Equal(t, "hi", string(buf))
			select {
			case c := <-h.opened:
				require.Equal(t, ln.Addr().String(), c.RemoteAddr().String())
			case <-time.After(10 * time.Second):
				t.Fatal("no OnOpen")
			}
			peer.Close()
			select {
			case err := <-h.closed:
				require.NoError(t, err, "the peer's EOF is a clean close")
			case <-time.After(10 * time.Second):
				t.Fatal("no OnClose")
			}
		})
	}
}

func TestDialRefusedReportsOnClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	h := &dialer{opened: make(chan conn.Conn, 1), closed: make(chan error, 1)}
	e := start(t, h, "tcp://127.0.0.1:0")
	require.NoError(t, e.Dial("tcp", addr))
	select {
	case err := <-h.closed:
		var oe *net.OpError
		require.ErrorAs(t, err, &oe)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose for a refused dial")
	}
	require.Empty(t, h.opened, "a refused dial has no OnOpen")
	require.ErrorIs(t, e.Dial("udp", addr), reactor.ErrUnsupported)
}

// remoteOnClose reports the RemoteAddr a failed dial's conn has in OnClose.
type remoteOnClose struct {
	reactor.BaseHandler
	remote chan net.Addr
}

func (h *remoteOnClose) OnClose(c conn.Conn, _ error) { h.remote <- c.RemoteAddr() }

// A dial that fails before any address is resolved (a malformed address,
// one of the wrong family) still has the address it dialed as RemoteAddr,
// as on the native and gnet backends: a handler may log
// c.RemoteAddr().String() in OnClose.
func TestDialUnresolvedHasRemoteAddr(t *testing.T) {
	for _, d := range [][2]string{{"tcp", "no port"}, {"tcp4", "[::1]:1"}} {
		h := &remoteOnClose{remote: make(chan net.Addr, 1)}
		e := start(t, h, "tcp://127.0.0.1:0")
		require.NoError(t, e.Dial(d[0], d[1]))
		select {
		case a := <-h.remote:
			require.NotNil(t, a, "Dial(%q, %q): RemoteAddr in OnClose", d[0], d[1])
			require.Equal(t, d[1], a.String())
			require.Equal(t, d[0], a.Network())
		case <-time.After(10 * time.Second):
			t.Fatalf("Dial(%q, %q): no OnClose", d[0], d[1])
		}
	}
}
