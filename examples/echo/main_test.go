package main

import (
	"bytes"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/evloop/evloop/examples/internal/cmdtest"
	"github.com/evloop/evloop/fifo"
	"github.com/stretchr/testify/require"
)

// TestBinary builds the command and drives it as a user would, for every
// address form it serves and both backends: one "listening <addr>" line on
// stdout, bytes echoed back unchanged, exit status 0 on SIGINT and SIGTERM.
func TestBinary(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	cases := []struct {
		name   string
		addr   func(dir string) string
		scheme string
		args   []string
		sig    syscall.Signal
	}{
		{"tcp/native/epoll", tcpAddr, "tcp", []string{"-loops", "2", "-poller", "epoll"}, syscall.SIGINT},
		{"tcp/native/poll", tcpAddr, "tcp", []string{"-loops", "1", "-poller", "poll"}, syscall.SIGTERM},
		{"tcp/native/busy-poll", tcpAddr, "tcp", []string{"-loops", "1", "-busy-poll", "50us"}, syscall.SIGINT},
		{"tcp/gnet", tcpAddr, "tcp", []string{"-loops", "2", "-backend", "gnet"}, syscall.SIGTERM},
		{"tcp/uring", tcpAddr, "tcp", []string{"-loops", "2", "-backend", "uring"}, syscall.SIGTERM},
		{"tcp6/native", func(string) string { return "tcp6://[::1]:0" }, "tcp", nil, syscall.SIGINT},
		{"unix/native", unixAddr, "unix", nil, syscall.SIGTERM},
		{"unix/gnet", unixAddr, "unix", []string{"-backend", "gnet"}, syscall.SIGINT},
		{"unix/uring", unixAddr, "unix", []string{"-backend", "uring"}, syscall.SIGINT},
		{"udp/native", udpAddr, "udp", []string{"-loops", "2"}, syscall.SIGTERM},
		{"udp/gnet", udpAddr, "udp", []string{"-backend", "gnet"}, syscall.SIGINT},
		{"udp/uring", udpAddr, "udp", []string{"-loops", "2", "-backend", "uring"}, syscall.SIGTERM},
		{"fifo/native", fifoAddr, "fifo", nil, syscall.SIGTERM},
		{"fifo/uring", fifoAddr, "fifo", []string{"-backend", "uring"}, syscall.SIGTERM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.addr(t.TempDir())
			if tc.name == "tcp6/native" {
				l, err := net.Listen("tcp6", "[::1]:0")
				if err != nil {
					t.Skip("no IPv6 loopback:", err)
				}
				l.Close()
			}
			p := cmdtest.Start(t, bin, append([]string{"-addr", addr}, tc.args...)...)
			where := p.Addr(tc.scheme)
			switch tc.scheme {
			case "udp":
				echoDatagrams(t, where)
			case "fifo":
				c, err := fifo.Dial(where)
				require.NoError(t, err)
				echoStream(t, c)
			default:
				c, err := net.DialTimeout(tc.scheme, where, cmdtest.WaitLimit)
				require.NoError(t, err)
				echoStream(t, c)
			}
			p.Stop(tc.sig)
			if tc.scheme == "unix" || tc.scheme == "fifo" {
				_, err := os.Lstat(where)
				require.ErrorIs(t, err, fs.ErrNotExist, "%s left behind after exit", where)
			}
		})
	}
}

// TestBinaryRefusesBadInput checks that what the command cannot serve ends it
// at once with status 1 and a message that names the problem.
func TestBinaryRefusesBadInput(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "fifo://" + filepath.Join(t.TempDir(), "e.fifo"), "-backend", "gnet"}, "fifo"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-backend", "nope"}, "nope"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-poller", "epoll", "-backend", "uring"}, "WithPoller"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-poller", "nope"}, "nope"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-busy-poll", "-1ms"}, "-busy-poll"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-busy-poll", "50us", "-backend", "gnet"}, "WithBusyPoll"},
		{[]string{"-addr", "bogus://x"}, "bogus"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-log-level", "loud"}, "-log-level"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-proxy-trusted", "nope"}, "-proxy-trusted"},
		{[]string{"-addr", "tcp://127.0.0.1:0?proxy=sometimes"}, "sometimes"},
		{[]string{"-addr", "tcp://127.0.0.1:0?proxy=optional"}, "-proxy-trusted CIDR"},
		// A pid file that cannot be written fails the start, with the
		// upgrader (native) as without it (gnet).
		{[]string{"-addr", "tcp://127.0.0.1:0", "-pid-file", filepath.Join(t.TempDir(), "missing", "echo.pid")}, "pid file"},
		{[]string{"-addr", "tcp://127.0.0.1:0", "-backend", "gnet", "-pid-file", filepath.Join(t.TempDir(), "missing", "echo.pid")}, "pid file"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		require.NoError(t, cmd.Start())
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%v: want a failed exit", tc.args)
			require.Equal(t, 1, exit.ExitCode(), "%v", tc.args)
		case <-time.After(cmdtest.WaitLimit):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: still running", tc.args)
		}
		require.Empty(t, stdout.String(), "%v: nothing on stdout", tc.args)
		require.Contains(t, stderr.String(), tc.want, "%v", tc.args)
	}
}

func tcpAddr(string) string      { return "tcp://127.0.0.1:0" }
func udpAddr(string) string      { return "udp://127.0.0.1:0" }
func unixAddr(dir string) string { return "unix://" + filepath.Join(dir, "echo.sock") }
func fifoAddr(dir string) string { return "fifo://" + filepath.Join(dir, "echo.fifo") }

// echoStream writes 256 KiB of random bytes, reads them all back, compares,
// and closes c.
func echoStream(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(cmdtest.WaitLimit)))
	want := make([]byte, 256<<10)
	for i := range want {
		want[i] = byte(rand.Uint32())
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		wrote <- err
	}()
	got := make([]byte, len(want))
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.NoError(t, <-wrote)
	require.True(t, bytes.Equal(want, got), "echoed bytes differ")
}

// echoDatagrams sends a few datagrams and expects each back unchanged. A
// datagram lost on loopback is sent again, a bounded number of times.
func echoDatagrams(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 2048)
	for i := range 5 {
		msg := []byte{'d', 'g', byte('0' + i)}
		var got []byte
		for try := 0; try < 5 && got == nil; try++ {
			_, err := c.Write(msg)
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
			if n, err := c.Read(buf); err == nil {
				got = buf[:n]
			}
		}
		require.Equal(t, msg, got)
	}
}
