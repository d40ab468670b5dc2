//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

func TestAddrsUnspecifiedHost(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp4://0.0.0.0:0"})
	a := e.Addrs()[0].(*net.TCPAddr)
	require.NotZero(t, a.Port)
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(a.Port)), waitLimit)
	require.NoError(t, err)
	defer c.Close()
	oc := within(t, r.opened, "OnOpen")
	require.Equal(t, c.RemoteAddr().String(), oc.LocalAddr().String(), "read from the socket")
}

func TestAddrsSeveral(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	e := start(t, newRecorder(), []string{"tcp://127.0.0.1:0", "unix://" + path, "tcp://127.0.0.1:0"})
	addrs := e.Addrs()
	require.Len(t, addrs, 3)
	require.Equal(t, path, addrs[1].String())
	for i := range addrs {
		c := dial(t, e, i)
		require.Equal(t, "several", string(roundTrip(t, c, []byte("several"))))
	}
}

func TestUnsupportedAddresses(t *testing.T) {
	for _, a := range []string{"fifo:///tmp/x", "fd://3", "systemd://"} {
		_, err := reactor.Start(newRecorder(), []string{a}, reactor.WithBackend(New()))
		require.ErrorIs(t, err, reactor.ErrUnsupported, a)
	}
	_, err := reactor.Start(newRecorder(), []string{"unix:///tmp/what?.sock"}, reactor.WithBackend(New()))
	require.ErrorIs(t, err, reactor.ErrBadAddress)
	_, err = reactor.Start(newRecorder(), []string{"nope://x"}, reactor.WithBackend(New()))
	require.ErrorIs(t, err, reactor.ErrBadAddress)
	_, err = reactor.Start(newRecorder(), nil, reactor.WithBackend(New()))
	require.ErrorIs(t, err, reactor.ErrBadAddress)
}

func TestUnixRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	e := start(t, newRecorder(), []string{"unix://rel.sock"})
	require.Equal(t, "rel.sock", e.Addrs()[0].String())
	c := dial(t, e, 0)
	roundTrip(t, c, []byte("relative"))
}

func itoa(n int) string { return strconv.Itoa(n) }
