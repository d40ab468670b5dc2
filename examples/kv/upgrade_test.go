//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
	"github.com/evloop/evloop/proxyproto"
)

// TestUpgradeBySIGHUP: kv upgrades itself as echo does. Once the new
// process serves, the old one stops accepting at once (it no longer holds
// the listening socket) but answers its open conn on, a pipelined burst
// included, while new conns reach the new process (INFO's process_id
// tells them apart); the old process exits 0 as soon as its client closes
// that conn, long before its -drain-timeout.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "kv")
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1", "-drain-timeout", "15s")
	first := u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	_, portText, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	oldPid := u.ServingPid(0)

	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
		return c, bufio.NewReader(c)
	}
	// pid asks the process serving c for its pid (INFO's process_id).
	pid := func(c net.Conn, r *bufio.Reader) int {
		t.Helper()
		_, err := c.Write([]byte("INFO server\r\n"))
		require.NoError(t, err)
		head, err := r.ReadString('\n')
		require.NoError(t, err)
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
		require.NoError(t, err, "INFO reply %q", head)
		body := make([]byte, n+2)
		_, err = io.ReadFull(r, body)
		require.NoError(t, err)
		_, rest, ok := strings.Cut(string(body), "process_id:")
		require.True(t, ok, "INFO: %q", body)
		p, err := strconv.Atoi(rest[:strings.IndexByte(rest, '\r')])
		require.NoError(t, err)
		return p
	}
	held, heldR := dial()
	require.Equal(t, oldPid, pid(held, heldR))
	if runtime.GOOS == "linux" {
		holds, err := cmdtest.HoldsListener(oldPid, port)
		require.NoError(t, err)
		require.True(t, holds, "the serving process holds its listening socket")
	}

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line(), "the new process listens on the same address")
	newPid := u.ServingPid(oldPid)
	u.Logged(fmt.Sprintf(`msg="upgrade: the new process serves; draining" pid=%d conns=1`, oldPid))
	if runtime.GOOS == "linux" {
		require.Eventually(t, func() bool {
			holds, err := cmdtest.HoldsListener(oldPid, port)
			require.NoError(t, err)
			return !holds
		}, cmdtest.WaitLimit, time.Millisecond, "the draining old process still holds the listening socket")
		c, r := dial()
		require.Equal(t, newPid, pid(c, r), "a new conn reaches the new process")
	} else {
		require.Eventually(t, func() bool { c, r := dial(); defer c.Close(); return pid(c, r) == newPid },
			cmdtest.WaitLimit, time.Millisecond, "a new conn reaches the new process")
	}

	// The old process answers on: a request, then a pipelined burst.
	require.Equal(t, oldPid, pid(held, heldR), "the held conn is served by the old process")
	const burst = 100
	_, err = held.Write([]byte(strings.Repeat("INCR n\r\n", burst)))
	require.NoError(t, err)
	for i := 1; i <= burst; i++ {
		line, err := heldR.ReadString('\n')
		require.NoError(t, err, "reply %d of the burst", i)
		require.Equal(t, fmt.Sprintf(":%d\r\n", i), line)
	}
	held.Close()
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")
	require.Contains(t, u.Stderr(), fmt.Sprintf(`msg="upgrade: every conn has ended" pid=%d`, oldPid))
	u.Logged(fmt.Sprintf(`msg="upgrade: the old process has exited" pid=%d`, newPid))

	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
}

// TestBinaryBehindAProxy: kv with ?proxy=required and -proxy-trusted, as
// bench/haproxy.sh runs it behind HAProxy's send-proxy-v2. A v2 header from
// a trusted balancer is consumed before the first command, and the debug log
// shows the client's address from it; an untrusted peer, or one that sends
// no header, gets no reply.
func TestBinaryBehindAProxy(t *testing.T) {
	bin := cmdtest.Build(t, "kv")
	hdr := &proxyproto.Header{Command: proxyproto.Proxy,
		Source: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 9), Port: 40000}, Destination: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6380}}
	wire, err := hdr.AppendV2(nil)
	require.NoError(t, err)
	send := func(addr string, b []byte) string {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
		_, err = c.Write(b)
		require.NoError(t, err)
		got, _ := io.ReadAll(c)
		return string(got)
	}
	for _, tc := range []struct {
		trusted string
		served  bool
	}{{"127.0.0.0/8", true}, {"10.0.0.0/8", false}} {
		p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0?proxy=required", "-proxy-trusted", tc.trusted, "-loops", "1", "-log-level", "debug")
		got := send(p.Addr("tcp"), append(append([]byte(nil), wire...), "*1\r\n$4\r\nPING\r\nQUIT\r\n"...))
		if tc.served {
			require.Equal(t, "+PONG\r\n+OK\r\n", got)
			require.Eventually(t, func() bool {
				return strings.Contains(p.Stderr(), `msg="conn closed" remote=198.51.100.9:40000 cause=clean`)
			}, cmdtest.WaitLimit, 5*time.Millisecond, "stderr: %s", p.Stderr())
			require.Contains(t, p.Stderr(), `msg="conn opened" remote=198.51.100.9:40000 local=127.0.0.1:6380`)
			require.Empty(t, send(p.Addr("tcp"), []byte("PING\r\n")), "no header: no reply")
		} else {
			require.Empty(t, got, "a header from an untrusted source is refused")
			require.NotContains(t, p.Stderr(), "198.51.100.9")
		}
		p.Stop(syscall.SIGTERM)
	}
}
