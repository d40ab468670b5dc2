//go:build unix

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestUpgradeBySIGHUP: chat upgrades itself as echo does; as the old
// process drains, it says goodbye to its clients and closes their conns
// gracefully, and so exits at once, without waiting for its
// -drain-timeout; the new one serves both addresses. They are fixed
// ports: with two port-0 addresses the new process could not tell which
// inherited socket is which.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "chat")
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://"+freeAddr(t), "-http", "tcp://"+freeAddr(t), "-loops", "1")
	first, second := u.Line(), u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	httpAddr, ok := strings.CutPrefix(second, "listening tcp://")
	require.True(t, ok, "second line %q", second)
	oldPid := u.ServingPid(0)

	held, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer held.Close()
	held.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	_, err = held.Write([]byte("alice\n"))
	require.NoError(t, err)

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line(), "the new process listens on the same address")
	require.Equal(t, second, u.Line(), "and serves the page on the same address")
	newPid := u.ServingPid(oldPid)
	all, err := io.ReadAll(held)
	require.NoError(t, err, "a graceful close, not a reset")
	require.Contains(t, string(all), "server shutting down")
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")
	require.Contains(t, u.Stderr(), fmt.Sprintf(`msg="upgrade: every conn has ended" pid=%d`, oldPid))

	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	c.Close()
	resp, err := (&http.Client{Timeout: cmdtest.WaitLimit}).Get("http://" + httpAddr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "the new process serves the page")
	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
