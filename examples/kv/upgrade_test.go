//go:build unix

package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestUpgradeBySIGHUP: kv upgrades itself as echo does. A client's conn to
// the old process is answered, then closed gracefully once the new process
// serves; the new one answers on the same address.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "kv")
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1")
	first := u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	oldPid := u.ServingPid(0)

	ping := func(c net.Conn) {
		t.Helper()
		_, err := c.Write([]byte("PING\r\n"))
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "+PONG\r\n", line)
	}
	held, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer held.Close()
	held.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	ping(held)

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line(), "the new process listens on the same address")
	newPid := u.ServingPid(oldPid)
	rest, err := io.ReadAll(held)
	require.NoError(t, err, "a graceful close, not a reset")
	require.Empty(t, rest)
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")

	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	ping(c)
	c.Close()
	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
	require.Contains(t, u.Stderr(), "upgrade: the new process serves; draining")
}
