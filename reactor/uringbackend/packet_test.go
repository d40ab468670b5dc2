//go:build linux

package uringbackend_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// udpEcho answers each datagram to its sender, and a "to:" datagram also
// with WriteTo the address the handler recorded first.
type udpEcho struct {
	reactor.BaseHandler
	first net.Addr
}

func (h *udpEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if b == nil {
		return reactor.None
	}
	if h.first == nil {
		h.first = c.RemoteAddr()
	}
	c.Write(b)
	if string(b) == "to:first" {
		c.(reactor.PacketConn).WriteTo([]byte("relayed"), h.first)
	}
	return reactor.None
}

func TestUDPEchoAndWriteTo(t *testing.T) {
	for _, loops := range []int{1, 4} {
		e := start(t, &udpEcho{}, "udp://127.0.0.1:0", reactor.WithLoops(loops))
		a, b := udpClient(t, e), udpClient(t, e)
		for i := 0; i < 50; i++ {
			_, err := a.Write([]byte("ping"))
			require.NoError(t, err)
			require.Equal(t, "ping", readDatagram(t, a))
		}
		_, err := b.Write([]byte("to:first"))
		require.NoError(t, err)
		require.Equal(t, "to:first", readDatagram(t, b), "the echo goes to the sender")
		require.Equal(t, "relayed", readDatagram(t, a), "WriteTo reaches the address given")
		require.Greater(t, e.Stats().BytesOut, int64(0))
	}
}

func udpClient(t *testing.T, e reactor.Engine) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, e.Addrs()[0].(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func readDatagram(t *testing.T, c *net.UDPConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}
