//go:build unix

package upgrade_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/upgrade"
)

type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// TestListen is the one test that makes this process's Upgrader (tableflip
// allows one per process); the upgrade itself is tested through the
// example binaries (examples/echo).
func TestListen(t *testing.T) {
	up, err := upgrade.New(upgrade.Options{})
	require.NoError(t, err)
	require.False(t, up.HasParent())
	_, err = upgrade.New(upgrade.Options{})
	require.Error(t, err, "one Upgrader per process")

	sock := filepath.Join(t.TempDir(), "s.sock")
	in := []string{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0?proxy=optional", "unix://" + sock, "udp://127.0.0.1:0"}
	addrs, err := up.Listen(in)
	require.NoError(t, err)
	require.Len(t, addrs, len(in))
	for i, a := range addrs {
		require.True(t, strings.HasPrefix(a, in[i]), "%q keeps %q", a, in[i])
		pa, err := reactor.ParseAddr(a)
		require.NoError(t, err, a)
		_, ok := pa.InheritedFD()
		require.True(t, ok, "%q names its socket", a)
	}
	require.Contains(t, addrs[1], "proxy=optional&fd=")

	// tls:// is bound as tcp, tls+unix:// as unix; the address keeps its
	// scheme for reactor's TLS layer.
	tlsAddrs, err := up.Listen([]string{"tls://127.0.0.1:0", "tls+unix://" + sock + ".tls"})
	require.NoError(t, err)
	for _, a := range tlsAddrs {
		pa, err := reactor.ParseAddr(a)
		require.NoError(t, err, a)
		require.True(t, strings.HasPrefix(pa.Scheme, "tls"), a)
		fd, ok := pa.InheritedFD()
		require.True(t, ok, a)
		require.NoError(t, os.NewFile(uintptr(fd), a).Close())
	}

	for _, bad := range []string{"fd://3", "fifo:///tmp/x", "systemd://", "tcp://127.0.0.1:0?fd=3"} {
		_, err := up.Listen([]string{bad})
		require.ErrorIs(t, err, upgrade.ErrUnsupported, bad)
	}

	e, err := reactor.Start(echo{}, addrs, reactor.WithLoops(1), reactor.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	require.NoError(t, up.Ready())
	for _, a := range e.Addrs()[:1] {
		c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte("inherited"))
		require.NoError(t, err)
		got := make([]byte, 9)
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		require.Equal(t, "inherited", string(got))
		c.Close()
	}
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	require.NoError(t, err)
	c.Close()

	stop := make(chan error, 1)
	go func() { stop <- e.Stop(t.Context()) }()
	select {
	case err := <-stop:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("no stop")
	}
	_, err = os.Lstat(sock)
	require.NoError(t, err, "the engine leaves the path: the next process may serve it")
	up.Stop()
	select {
	case <-up.Exit():
	default:
		t.Fatal("Exit is closed once Stop returns")
	}
	_, err = os.Lstat(sock)
	require.True(t, errors.Is(err, os.ErrNotExist), "a plain shutdown removes the socket file: %v", err)
	require.Error(t, up.Upgrade(), "no upgrade after Stop")
}
