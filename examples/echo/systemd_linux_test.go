package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
