package main

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBinary builds the command and drives it as a user would: it reads the
// "listening" line, chats with two clients, and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), "chat")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gotool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	for _, backend := range []string{"native", "gnet"} {
		t.Run(backend, func(t *testing.T) {
			cmd := exec.Command(bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-backend", backend)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			var waitErr error
			exited := make(chan struct{}) // closed once waitErr is set
			lines := make(chan string, 16)
			go func() {
				// Wait only after stdout is read to its end, as StdoutPipe asks.
				scan := bufio.NewScanner(stdout)
				for scan.Scan() {
					lines <- scan.Text()
				}
				close(lines)
				waitErr = cmd.Wait()
				close(exited)
			}()
			t.Cleanup(func() {
				cmd.Process.Kill() // a no-op once it has exited
				select {
				case <-exited:
				case <-time.After(waitLimit):
					t.Error("chat did not exit after SIGKILL")
				}
				if t.Failed() {
					t.Logf("stderr:\n%s", stderr.String())
				}
			})

			var addr string
			select {
			case first, ok := <-lines:
				require.True(t, ok, "no output; stderr: %s", stderr.String())
				var found bool
				addr, found = strings.CutPrefix(first, "listening tcp://")
				require.True(t, found, "first line %q", first)
			case <-time.After(waitLimit):
				require.FailNow(t, "no listening line")
			}

			alice := join(t, addr, "alice", 0)
			bob := join(t, addr, "bob", 1)
			alice.expect("* bob joined")
			alice.send("hello bob")
			bob.expect("<alice> hello bob")
			bob.send("/me waves")
			alice.expect("* bob waves")

			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			for _, c := range []*client{alice, bob} {
				c.expect("* server shutting down")
				c.expectEOF()
			}
			select {
			case <-exited:
				require.NoError(t, waitErr, "exit status; stderr: %s", stderr.String())
			case <-time.After(waitLimit):
				require.FailNow(t, "chat did not exit after SIGTERM")
			}
			var rest []string
			for l := range lines {
				rest = append(rest, l)
			}
			require.Empty(t, rest, "stdout after the listening line")
		})
	}
}

// syncBuffer is a bytes.Buffer that the command's output copier may write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
