//go:build unix

package cmdtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Upgradable is an example binary started with a pid file, driven through
// upgrades. Its stdout is a pipe every generation writes to: a process
// that upgrades passes it on, so the lines of all generations arrive here,
// and the pipe ends when the last one exits.
type Upgradable struct {
	t       *testing.T
	cmd     *exec.Cmd     // the first generation (the only one we can wait for)
	exited  chan struct{} // closed once waitErr is set
	waitErr error
	lines   chan string
	stderr  string // path of the shared stderr file
	pidFile string
}

// StartUpgradable runs bin with -pid-file and args, like Start, for tests
// that upgrade it by SIGHUP. Every generation is killed when the test ends.
func StartUpgradable(t *testing.T, bin string, args ...string) *Upgradable {
	t.Helper()
	dir := t.TempDir()
	u := &Upgradable{t: t, lines: make(chan string, 64), exited: make(chan struct{}),
		stderr: filepath.Join(dir, "stderr"), pidFile: filepath.Join(dir, "pid")}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	errf, err := os.Create(u.stderr)
	require.NoError(t, err)
	defer errf.Close()
	u.cmd = exec.Command(bin, append([]string{"-pid-file", u.pidFile}, args...)...)
	u.cmd.Stdout, u.cmd.Stderr = w, errf // files: Wait does not wait for the pipe's end
	require.NoError(t, u.cmd.Start())
	w.Close()
	go func() { u.waitErr = u.cmd.Wait(); close(u.exited) }()
	go func() {
		defer r.Close()
		scan := bufio.NewScanner(r)
		for scan.Scan() {
			u.lines <- scan.Text()
		}
		close(u.lines)
	}()
	t.Cleanup(func() {
		// Every generation: the one in the pid file and the first.
		if pid, err := u.pid(); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		u.cmd.Process.Kill()
		select {
		case <-u.exited:
		case <-time.After(WaitLimit):
			t.Errorf("the first generation did not exit after SIGKILL")
		}
		if t.Failed() {
			b, _ := os.ReadFile(u.stderr)
			t.Logf("stderr:\n%s", b)
		}
	})
	return u
}

// Line returns the next stdout line of any generation.
func (u *Upgradable) Line() string {
	u.t.Helper()
	select {
	case l, ok := <-u.lines:
		require.True(u.t, ok, "stdout ended")
		return l
	case <-time.After(WaitLimit):
		require.FailNow(u.t, "no line on stdout")
	}
	return ""
}

func (u *Upgradable) pid() (int, error) {
	b, err := os.ReadFile(u.pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ServingPid waits for the pid file to name a process other than not (0
// for the first) and returns it.
func (u *Upgradable) ServingPid(not int) int {
	u.t.Helper()
	var pid int
	require.Eventually(u.t, func() bool {
		p, err := u.pid()
		pid = p
		return err == nil && p != not
	}, WaitLimit, 5*time.Millisecond, "the pid file never named a new process")
	return pid
}

// FirstPid is the first generation's pid.
func (u *Upgradable) FirstPid() int { return u.cmd.Process.Pid }

// FirstExited waits (bounded) for the first generation to exit and returns
// its exit code.
func (u *Upgradable) FirstExited() int {
	u.t.Helper()
	select {
	case <-u.exited:
	case <-time.After(WaitLimit):
		require.FailNow(u.t, "the first generation did not exit")
	}
	return u.cmd.ProcessState.ExitCode()
}

// Rest waits (bounded) for every generation to close stdout, as they do
// when they exit, and returns the lines not read yet.
func (u *Upgradable) Rest() []string {
	u.t.Helper()
	var rest []string
	deadline := time.After(WaitLimit)
	for {
		select {
		case l, ok := <-u.lines:
			if !ok {
				return rest
			}
			rest = append(rest, l)
		case <-deadline:
			require.FailNow(u.t, "stdout still open", "lines so far: %q", rest)
		}
	}
}

// Stderr returns what every generation has written to stderr so far.
func (u *Upgradable) Stderr() string {
	b, _ := os.ReadFile(u.stderr)
	return string(b)
}

// Gone waits (bounded) for the process pid, a generation, to exit. Only the
// first generation is our child; the others are their predecessors'
// (reparented once those exit), so their end is polled: a zombie nobody
// has reaped yet counts as gone.
func (u *Upgradable) Gone(pid int) {
	u.t.Helper()
	if pid == u.FirstPid() {
		u.FirstExited()
		return
	}
	require.Eventually(u.t, func() bool {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) state ...: comm may hold spaces, the state follows its ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		return len(f) > 0 && f[0] == "Z"
	}, WaitLimit, 5*time.Millisecond, "generation %d did not exit", pid)
}

// Logged waits (bounded) for some generation to have written s to stderr.
func (u *Upgradable) Logged(s string, msgAndArgs ...any) {
	u.t.Helper()
	require.Eventually(u.t, func() bool { return strings.Contains(u.Stderr(), s) },
		WaitLimit, time.Millisecond, append([]any{"stderr never had %q", s}, msgAndArgs...)...)
}
