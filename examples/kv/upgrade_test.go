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
	"github.com/evloop/evloop/proxyproto"
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
