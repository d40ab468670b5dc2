package main

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// A server killed with SIGKILL leaves its unix socket file; the next one
// replaces it and serves, with upgrades (native: the socket is bound through
// package upgrade) or without (gnet). The pid file names the server while it
// runs and is gone once it has exited.
func TestRestartAfterKill(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"native", nil},
		{"gnet", []string{"-backend", "gnet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sock, pidFile := filepath.Join(dir, "echo.sock"), filepath.Join(dir, "echo.pid")
			args := append([]string{"-addr", "unix://" + sock, "-pid-file", pidFile}, tc.args...)

			p := cmdtest.Start(t, bin, args...)
			requirePIDFile(t, pidFile, p.Pid())
			require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGKILL))
			p.Exited()
			fi, err := os.Lstat(sock)
			require.NoError(t, err, "SIGKILL leaves the socket file")
			require.NotZero(t, fi.Mode()&fs.ModeSocket)

			p = cmdtest.Start(t, bin, args...)
			requirePIDFile(t, pidFile, p.Pid())
			c, err := net.DialTimeout("unix", p.Addr("unix"), cmdtest.WaitLimit)
			require.NoError(t, err)
			echoStream(t, c)
			p.Stop(syscall.SIGTERM)
			for _, f := range []string{sock, pidFile} {
				_, err := os.Lstat(f)
				require.ErrorIs(t, err, fs.ErrNotExist, "%s left behind after exit", f)
			}
		})
	}
}

func requirePIDFile(t *testing.T, path string, pid int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(pid), strings.TrimSpace(string(b)))
}
