package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// The binary serves a socket passed as echo.socket passes it: fd 3, named
// "echo", with -addr systemd://echo, as echo.service starts it.
func TestBinaryServesSystemdSocket(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	ln.Close()
	defer lf.Close()

	ctx, cancel := context.WithTimeout(context.Background(), cmdtest.WaitLimit)
	defer cancel()
	// systemd sets LISTEN_PID to the service's own pid; the shell's pid is
	// the binary's after exec.
	cmd := exec.CommandContext(ctx, "sh", "-c", `LISTEN_PID=$$ exec "$0" -addr systemd://echo -loops 1`, bin)
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=echo")
	cmd.ExtraFiles = []*os.File{lf} // fd 3
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	require.Equal(t, "listening tcp://"+addr+"\n", line)

	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	_, err = c.Write([]byte("activated"))
	require.NoError(t, err)
	got := make([]byte, len("activated"))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "activated", string(got))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	io.Copy(io.Discard, stdout)
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
}

// notifySocket is a fake systemd notification socket: it reads each
// datagram with its sender's pid, as systemd does (SCM_CREDENTIALS).
type notifySocket struct {
	t    *testing.T
	conn *net.UnixConn
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	raw, err := c.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}))
	require.NoError(t, serr)
	t.Setenv("NOTIFY_SOCKET", path)
	return &notifySocket{t: t, conn: c}
}

// next returns the next message as "<pid> <state>".
func (n *notifySocket) next() string {
	n.t.Helper()
	buf := make([]byte, 512)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n.conn.SetReadDeadline(time.Now().Add(cmdtest.WaitLimit))
	m, oobn, _, _, err := n.conn.ReadMsgUnix(buf, oob)
	require.NoError(n.t, err, "no notification")
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	require.NoError(n.t, err)
	require.Len(n.t, msgs, 1)
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	require.NoError(n.t, err)
	return fmt.Sprintf("%d %s", cred.Pid, buf[:m])
}

// TestUpgradeUnderSystemdNotify: what a Type=notify, NotifyAccess=all
// service manager hears across an upgrade (docs/evloop-echo.service). The
// successor names itself the main process (MAINPID=) before the old one
// drains, and the old one sends nothing more: its STOPPING=1 would stop
// the service, successor included. The next STOPPING=1 is the successor's
// own, on SIGTERM.
func TestUpgradeUnderSystemdNotify(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	notify := listenNotify(t)
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1")
	first := u.Line()
	oldPid := u.ServingPid(0)
	require.Equal(t, fmt.Sprintf("%d READY=1", oldPid), notify.next())

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line())
	newPid := u.ServingPid(oldPid)
	require.Equal(t, fmt.Sprintf("%d READY=1", newPid), notify.next())
	require.Equal(t, fmt.Sprintf("%d MAINPID=%d", newPid, newPid), notify.next())
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")

	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Equal(t, fmt.Sprintf("%d STOPPING=1", newPid), notify.next(), "the old process said no more")
	require.Empty(t, u.Rest())
	require.NotContains(t, u.Stderr(), "level=WARN")
}
