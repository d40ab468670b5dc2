//go:build linux

package reactor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// sockopts records the socket options of each conn as OnOpen sees them.
type sockopts struct {
	reactor.BaseHandler
	got chan [4]int // TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, SO_RCVBUF
}

func (h *sockopts) OnOpen(c conn.Conn) reactor.Action {
	fd := c.(interface{ Fd() int }).Fd()
	var v [4]int
	v[0], _ = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	v[1], _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	v[2], _ = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
	v[3], _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	h.got <- v
	return reactor.None
}

func (h *sockopts) next(t *testing.T) [4]int {
	t.Helper()
	select {
	case v := <-h.got:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no OnOpen")
	}
	return [4]int{}
}

// The TCP options reach every accepted conn, whether the kernel copies
// them from the listener (Linux) or the loop sets them per conn.
func TestAcceptedConnsCarryTheTCPOptions(t *testing.T) {
	h := &sockopts{got: make(chan [4]int, 8)}
	_, dial := startLimits(t, h, reactor.WithKeepAlive(42*time.Second), reactor.WithSocketBuffers(256<<10, 0))
	for i := 0; i < 4; i++ { // both loops
		dial()
		v := h.next(t)
		require.Equal(t, 1, v[0], "TCP_NODELAY on by default")
		require.Equal(t, 1, v[1], "SO_KEEPALIVE")
		require.Equal(t, 42, v[2], "TCP_KEEPIDLE")
		require.GreaterOrEqual(t, v[3], 256<<10, "SO_RCVBUF")
	}

	h = &sockopts{got: make(chan [4]int, 8)}
	_, dial = startLimits(t, h, reactor.WithTCPNoDelay(false))
	dial()
	v := h.next(t)
	require.Equal(t, 0, v[0], "TCP_NODELAY off when asked")
	require.Equal(t, 0, v[1], "no keep-alive by default")
}
