package reactor_test

import (
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

func TestParseAddrInheritedFD(t *testing.T) {
	for _, s := range []string{
		"tcp://127.0.0.1:7000?fd=7", "tcp4://127.0.0.1:0?fd=3", "tcp6://[::1]:7000?fd=3",
		"unix:///tmp/x.sock?fd=4", "udp://127.0.0.1:7000?fd=5", "udp6://[::1]:1?fd=0",
	} {
		a, err := reactor.ParseAddr(s)
		require.NoError(t, err, s)
		fd, ok := a.InheritedFD()
		require.True(t, ok, s)
		want, _ := strconv.Atoi(a.Query.Get("fd"))
		require.Equal(t, want, fd, s)
	}
	a, err := reactor.ParseAddr("tcp://127.0.0.1:7000?proxy=required&fd=7")
	require.NoError(t, err)
	require.Equal(t, "required", a.Query.Get("proxy"), "fd= goes along with proxy=")
	fd, ok := a.InheritedFD()
	require.True(t, ok)
	require.Equal(t, 7, fd)
	require.Equal(t, "tcp://127.0.0.1:7000?fd=7&proxy=required", a.String())

	a, err = reactor.ParseAddr("tcp://127.0.0.1:7000")
	require.NoError(t, err)
	_, ok = a.InheritedFD()
	require.False(t, ok, "no fd=: the address is bound")

	for _, bad := range []string{
		"tcp://127.0.0.1:7000?fd=", "tcp://127.0.0.1:7000?fd=x", "tcp://127.0.0.1:7000?fd=-1",
		"tcp://127.0.0.1:7000?fd=3&fd=4", "fifo:///tmp/p?fd=3", "fd://3?fd=4", "systemd://?fd=3",
		"udp://127.0.0.1:7000?proxy=required&fd=3",
	} {
		_, err := reactor.ParseAddr(bad)
		require.ErrorIs(t, err, reactor.ErrBadAddress, bad)
	}
}

// listenerFD binds a TCP listener and returns a fd of our own for it, the
// way package upgrade passes a socket to the engine.
func listenerFD(t *testing.T) (int, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	ln.Close()
	return dupFD(t, lf), addr
}

func TestInheritedFDQueryServes(t *testing.T) {
	fd, addr := listenerFD(t)
	h := newTPHandler()
	// The address as written says port 0: the engine does not bind it, it
	// serves the socket, whose address it reports.
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0?fd=" + strconv.Itoa(fd)}, reactor.WithLoops(2))
	require.Len(t, e.Addrs(), 1)
	require.Equal(t, addr, e.Addrs()[0].String())

	c, err := net.DialTimeout("tcp", addr, tpBound)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(tpBound))
	_, err = c.Write([]byte("inherited"))
	require.NoError(t, err)
	got := make([]byte, 9)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "inherited", string(got))
	c.Close()

	require.NoError(t, tpStop(t, e))
	requireFDClosed(t, fd) // taken over, as fd:// is
}

func TestInheritedFDQueryChecksKind(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	pf, err := pc.(*net.UDPConn).File()
	require.NoError(t, err)
	pc.Close()
	udpFD := dupFD(t, pf)
	defer func() { _ = os.NewFile(uintptr(udpFD), "udp").Close() }()
	_, err = reactor.Start(newTPHandler(), []string{"tcp://127.0.0.1:0?fd=" + strconv.Itoa(udpFD)})
	require.ErrorContains(t, err, "is not a tcp socket")

	tcpFD, _ := listenerFD(t)
	defer func() { _ = os.NewFile(uintptr(tcpFD), "tcp").Close() }()
	_, err = reactor.Start(newTPHandler(), []string{"udp://127.0.0.1:0?fd=" + strconv.Itoa(tcpFD)})
	require.ErrorContains(t, err, "is not a udp socket")

	// gnet binds its own sockets.
	_, err = reactor.Start(newTPHandler(), []string{"tcp://127.0.0.1:0?fd=" + strconv.Itoa(tcpFD)}, reactor.WithBackend(gnetbackend.New()))
	require.ErrorIs(t, err, reactor.ErrUnsupported)
}

// Two addresses naming one inherited fd are refused before the engine takes
// the fd over: it used to register it twice, fail, and close it twice.
func TestInheritedFDDuplicateRefused(t *testing.T) {
	fd, _ := listenerFD(t)
	defer func() { _ = os.NewFile(uintptr(fd), "tcp").Close() }()
	n := strconv.Itoa(fd)
	for _, b := range []struct {
		name string
		opts []reactor.Option
	}{{"native", nil}, {"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New())}}} {
		for _, addrs := range [][]string{
			{"tcp://127.0.0.1:0?fd=" + n, "tcp://127.0.0.1:0?fd=" + n},
			{"fd://" + n, "tcp://127.0.0.1:0?fd=" + n},
			{"fd://" + n, "fd://" + n},
		} {
			_, err := reactor.Start(newTPHandler(), addrs, b.opts...)
			require.ErrorIs(t, err, reactor.ErrBadAddress, "%s %v", b.name, addrs)
			require.ErrorContains(t, err, "both serve fd "+n)
			_, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err, "%s %v: the fd is left open, as for any address Start refuses", b.name, addrs)
		}
	}
}
