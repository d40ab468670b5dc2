package socket

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestRawSockaddrRoundTrip(t *testing.T) {
	var a, b RawSockaddr
	require.True(t, a.IsZero())
	require.NoError(t, RawFromUDP(&a, &net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4567}, unix.AF_INET))
	require.Equal(t, "10.1.2.3:4567", a.UDPAddr().String())
	require.NoError(t, RawFromUDP(&b, &net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4567}, unix.AF_INET))
	require.True(t, a.Equal(&b))
	require.NoError(t, RawFromUDP(&b, &net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4568}, unix.AF_INET))
	require.False(t, a.Equal(&b))

	// An IPv4 peer of a dual-stack socket is IPv4-mapped.
	require.NoError(t, RawFromUDP(&a, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, unix.AF_INET6))
	require.Equal(t, "127.0.0.1:80", a.UDPAddr().String())
	require.NoError(t, RawFromUDP(&a, &net.UDPAddr{IP: net.IPv6loopback, Port: 443}, unix.AF_INET6))
	require.Equal(t, "[::1]:443", a.UDPAddr().String())
	require.ErrorIs(t, RawFromUDP(&a, &net.UDPAddr{IP: net.IPv6loopback, Port: 443}, unix.AF_INET), ErrAddressFamily)
}

func TestRecvfromSendto(t *testing.T) {
	fd, bound, family, err := ListenPacket("udp4", "127.0.0.1:0", false)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.Equal(t, unix.AF_INET, family)

	peer, err := net.DialUDP("udp", nil, bound.(*net.UDPAddr))
	require.NoError(t, err)
	defer peer.Close()
	var from RawSockaddr
	buf := make([]byte, 64)
	_, err = Recvfrom(fd, buf, &from)
	require.ErrorIs(t, err, unix.EAGAIN)

	_, err = peer.Write([]byte("ping"))
	require.NoError(t, err)
	// The datagram is on loopback already; poll (bounded) for it.
	_, err = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000)
	require.NoError(t, err)
	n, err := Recvfrom(fd, buf, &from)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf[:n]))
	require.Equal(t, peer.LocalAddr().String(), from.UDPAddr().String())

	_, err = Sendto(fd, []byte("pong"), &from)
	require.NoError(t, err)
	n, err = peer.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "pong", string(buf[:n]))
}
