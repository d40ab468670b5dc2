//go:build unix

package main

import (
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestUpgradeBySIGHUP: chat upgrades itself as echo does; the old process
// says goodbye to its clients and closes their conns gracefully.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "chat")
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-http", "", "-loops", "1")
	first := u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	oldPid := u.ServingPid(0)

	held, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer held.Close()
	held.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	_, err = held.Write([]byte("alice\n"))
	require.NoError(t, err)

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line(), "the new process listens on the same address")
	newPid := u.ServingPid(oldPid)
	all, err := io.ReadAll(held)
	require.NoError(t, err, "a graceful close, not a reset")
	require.Contains(t, string(all), "server shutting down")
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")

	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
}
