//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEchoUDP(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"udp://127.0.0.1:0"})
	a := e.Addrs()[0]
	require.Equal(t, "udp", a.Network())
	c, err := net.DialTimeout("udp", a.String(), waitLimit)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("datagram %d", i)
		_, err := c.Write([]byte(msg))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		require.Equal(t, msg, string(buf[:n]))
	}
	// Datagrams are never opened, so never counted as conns.
	require.Equal(t, 0, e.Conns())
	require.Empty(t, r.opened)
}
