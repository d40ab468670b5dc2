//go:build linux

package socket

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// acceptOne listens on network/address, dials it (from a client bound to
// clientAddr when set), and accepts the conn with Accept.
func acceptOne(t *testing.T, network, address string, dial func(a net.Addr) net.Conn) (Peer, net.Conn) {
	t.Helper()
	lfd, bound, err := Listen(network, address, false, nil)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(lfd) })
	c := dial(bound)
	t.Cleanup(func() { c.Close() })
	var buf AcceptBuf
	var fd int
	var peer Peer
	deadline := time.Now().Add(5 * time.Second)
	for {
		fd, peer, err = Accept(lfd, network, &buf)
		if err != unix.EAGAIN || time.Now().After(deadline) {
			break
		}
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		unix.Poll(pfd, 100)
	}
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	require.NotZero(t, flags&unix.O_NONBLOCK, "accepted fd is nonblocking")
	fdflags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	require.NotZero(t, fdflags&unix.FD_CLOEXEC, "accepted fd is close-on-exec")
	return peer, c
}

func dialTo(t *testing.T) func(a net.Addr) net.Conn {
	return func(a net.Addr) net.Conn {
		c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
		require.NoError(t, err)
		return c
	}
}

func TestAcceptDecodesIPv4Inline(t *testing.T) {
	peer, c := acceptOne(t, "tcp4", "127.0.0.1:0", dialTo(t))
	require.Nil(t, peer.Addr)
	require.True(t, peer.IsInet())
	require.Equal(t, c.LocalAddr().String(), peer.Inet.TCPAddr().String())
	require.Equal(t, []byte{127, 0, 0, 1}, peer.Inet.IPBytes())
}

func TestAcceptDecodesIPv6Inline(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here:", err)
	} else {
		ln.Close()
	}
	peer, c := acceptOne(t, "tcp6", "[::1]:0", dialTo(t))
	require.Nil(t, peer.Addr)
	require.EqualValues(t, 6, peer.Inet.Family)
	require.Equal(t, c.LocalAddr().String(), peer.Inet.TCPAddr().String())
}

func TestAcceptDecodesUnixPeers(t *testing.T) {
	dir := t.TempDir()
	peer, _ := acceptOne(t, "unix", filepath.Join(dir, "srv.sock"), dialTo(t))
	require.False(t, peer.IsInet())
	require.Equal(t, &net.UnixAddr{Net: "unix"}, peer.Addr, "an unbound client is unnamed")

	named := filepath.Join(dir, "cli.sock")
	peer, _ = acceptOne(t, "unix", filepath.Join(dir, "srv2.sock"), func(a net.Addr) net.Conn {
		c, err := net.DialUnix("unix", &net.UnixAddr{Name: named, Net: "unix"}, a.(*net.UnixAddr))
		require.NoError(t, err)
		return c
	})
	require.Equal(t, &net.UnixAddr{Name: named, Net: "unix"}, peer.Addr)

	peer, _ = acceptOne(t, "unix", filepath.Join(dir, "srv3.sock"), func(a net.Addr) net.Conn {
		c, err := net.DialUnix("unix", &net.UnixAddr{Name: "@evloop-accept-test", Net: "unix"}, a.(*net.UnixAddr))
		require.NoError(t, err)
		return c
	})
	require.Equal(t, &net.UnixAddr{Name: "@evloop-accept-test", Net: "unix"}, peer.Addr, "abstract names as x/sys spells them")
}

// Accept runs once per conn on the loop: for IP peers it allocates nothing.
func TestAcceptAllocatesNothingForIPPeers(t *testing.T) {
	lfd, bound, err := Listen("tcp4", "127.0.0.1:0", false, nil)
	require.NoError(t, err)
	defer unix.Close(lfd)
	const n = 20
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n+1; i++ {
		c, err := net.DialTimeout("tcp4", bound.String(), 5*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	var buf AcceptBuf
	fds := make([]int, 0, n+1)
	allocs := testing.AllocsPerRun(n, func() {
		fd, _, err := Accept(lfd, "tcp4", &buf)
		if err == nil {
			fds = append(fds, fd)
		}
	})
	for _, fd := range fds {
		unix.Close(fd)
	}
	require.Len(t, fds, n+1, "every pending conn accepted")
	require.Zero(t, allocs)
}
