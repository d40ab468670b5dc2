package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// A server whose engine dies must not exit 0, or a supervisor set to restart
// it on failure would not. gnet's engine stops when accept runs out of fds
// (the native one backs off and serves on), so that is the way to kill it.
func TestBinaryExitsNonZeroWhenItsEngineDies(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1", "-backend", "gnet")
	addr := p.Addr("tcp")
	limit := unix.Rlimit{Cur: 32, Max: 32}
	require.NoError(t, unix.Prlimit(p.Pid(), unix.RLIMIT_NOFILE, &limit, nil))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 64; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // the server has gone
		}
		conns = append(conns, c)
	}
	require.Equal(t, 1, p.Exited(), "exit code; stderr: %s", p.Stderr())
	require.Contains(t, p.Stderr(), "stopped by itself")
}
