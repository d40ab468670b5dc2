//go:build linux

package fdconn

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/socket"
)

func accepted(network string, sa unix.Sockaddr) *FD {
	p := socket.PeerOf(network, sa)
	return NewAcceptedFD(-1, nil, &p)
}

// An idle conn is mostly this struct: a field that pushes it into the next
// size class costs every conn 16 bytes or more.
func TestFDStaysInItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(FD{}), uintptr(176))
}

func TestAcceptedPeerAddressIsBuiltOnDemand(t *testing.T) {
	v4 := accepted("tcp", &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 9}, Port: 4242})
	require.Equal(t, []byte{127, 0, 0, 9}, v4.PeerIP())
	require.Nil(t, v4.remote.Load(), "no net.Addr before it is asked for")
	a := v4.RemoteAddr()
	require.Equal(t, "127.0.0.9:4242", a.String())
	require.Equal(t, "tcp", a.Network())
	require.Same(t, a.(*net.TCPAddr), v4.RemoteAddr().(*net.TCPAddr), "built once")

	ip6 := [16]byte{0: 0xfe, 1: 0x80, 15: 1}
	v6 := accepted("tcp", &unix.SockaddrInet6{Addr: ip6, Port: 80})
	require.Equal(t, ip6[:], v6.PeerIP())
	require.Equal(t, "[fe80::1]:80", v6.RemoteAddr().String())

	// A zone is looked up by interface index; such peers keep the old eager way.
	zoned := accepted("tcp", &unix.SockaddrInet6{Addr: ip6, Port: 80, ZoneId: 1})
	require.Nil(t, zoned.PeerIP())
	require.NotNil(t, zoned.remote.Load())
	require.Equal(t, "tcp", zoned.RemoteAddr().Network())

	ux := accepted("unix", &unix.SockaddrUnix{})
	require.Nil(t, ux.PeerIP())
	require.Equal(t, "unix", ux.RemoteAddr().Network())

	dialed := NewFD(-1, -1, nil, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, nil)
	require.Nil(t, dialed.PeerIP())
	require.Equal(t, "10.0.0.1:1", dialed.RemoteAddr().String())
	require.Nil(t, NewFD(-1, -1, nil, nil, nil).RemoteAddr())
}

// RemoteAddr is called from any goroutine (a broadcast from another loop,
// say): the first calls race to build the address and must all agree.
func TestRemoteAddrFromManyGoroutines(t *testing.T) {
	c := accepted("tcp", &unix.SockaddrInet4{Addr: [4]byte{10, 1, 2, 3}, Port: 9})
	const n = 8
	got := make([]net.Addr, n)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = c.RemoteAddr()
		}()
	}
	wg.Wait()
	for _, a := range got {
		require.Same(t, got[0].(*net.TCPAddr), a.(*net.TCPAddr))
	}
}

// Flush moves unsent output to the front of its buffer before outHead, an
// int32, could overflow; here the threshold is lowered to a few bytes.
func TestFlushCompactsBeforeOutHeadOverflows(t *testing.T) {
	old := maxOutHead
	maxOutHead = 100
	t.Cleanup(func() { maxOutHead = old })
	c, peer, _ := pair(t, &Limits{})
	want := bytes.Repeat([]byte("0123456789"), 20000)
	_, err := c.Write(want)
	require.NoError(t, err)
	var got []byte
	for c.OutboundBuffered() > 0 {
		got = append(got, drain(t, peer)...)
		_, err := c.Flush()
		require.NoError(t, err)
		require.LessOrEqual(t, c.outHead, maxOutHead, "compacted")
	}
	got = append(got, drain(t, peer)...)
	require.Equal(t, want, got)
}
