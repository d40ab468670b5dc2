// Package cmdtest runs an example command the way a user does: it builds the
// binary, starts it, reads its one "listening <addr>" line, and stops it with a
// signal, checking the exit status and that nothing else reached stdout.
package cmdtest

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

// WaitLimit bounds every wait on the command: start-up, exit, output.
const WaitLimit = 20 * time.Second

// Build compiles the command in the current directory (the package under
// test) into a temporary directory and returns the binary's path. It skips the
// test when no go tool is on PATH.
func Build(t testing.TB, name string) string {
	t.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gotool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// Proc is a started command.
type Proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	stderr  syncBuffer
	lines   chan string
	exited  chan struct{} // closed once waitErr is set
	waitErr error
	// Listening is the first stdout line with its "listening " prefix removed,
	// e.g. "tcp://127.0.0.1:41234".
	Listening string
}

// Start runs bin with args and waits for its "listening <addr>" line. The
// command is killed, and its exit awaited, when the test ends.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, cmd: exec.Command(bin, args...), lines: make(chan string, 16), exited: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		// Wait only after stdout is read to its end, as StdoutPipe asks.
		scan := bufio.NewScanner(stdout)
		for scan.Scan() {
			p.lines <- scan.Text()
		}
		close(p.lines)
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // a no-op once it has exited
		select {
		case <-p.exited:
		case <-time.After(WaitLimit):
			t.Errorf("%s did not exit after SIGKILL", bin)
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", bin, p.stderr.String())
		}
	})
	select {
	case first, ok := <-p.lines:
		require.True(t, ok, "no output; stderr: %s", p.stderr.String())
		var found bool
		p.Listening, found = strings.CutPrefix(first, "listening ")
		require.True(t, found, "first line %q", first)
	case <-time.After(WaitLimit):
		require.FailNow(t, "no listening line", "stderr: %s", p.stderr.String())
	}
	return p
}

// Addr returns the listening address without its scheme, e.g.
// "127.0.0.1:41234" or "/tmp/x.sock", after checking the scheme is the one
// expected.
func (p *Proc) Addr(scheme string) string {
	p.t.Helper()
	rest, ok := strings.CutPrefix(p.Listening, scheme+"://")
	require.True(p.t, ok, "listening on %q, want scheme %s", p.Listening, scheme)
	return rest
}

// Stop sends sig and requires a zero exit status within WaitLimit and no
// stdout after the listening line.
func (p *Proc) Stop(sig syscall.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case <-p.exited:
		require.NoError(p.t, p.waitErr, "exit status after %v; stderr: %s", sig, p.stderr.String())
	case <-time.After(WaitLimit):
		require.FailNow(p.t, "no exit after signal", "%v", sig)
	}
	var rest []string
	for l := range p.lines {
		rest = append(rest, l)
	}
	require.Empty(p.t, rest, "stdout after the listening line")
}

// Line reads the command's next stdout line (a second "listening" line,
// say), waiting at most WaitLimit.
func (p *Proc) Line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(p.t, ok, "stdout ended; stderr: %s", p.stderr.String())
		return l
	case <-time.After(WaitLimit):
		require.FailNow(p.t, "no line on stdout")
		return ""
	}
}

// Pid is the command's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited waits (bounded) for the command to exit by itself and returns its
// exit code.
func (p *Proc) Exited() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(WaitLimit):
		require.FailNow(p.t, "the command did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stderr returns what the command has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

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
