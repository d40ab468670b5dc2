//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// upgradable is an example binary started with a pid file, driven through
// upgrades. Its stdout is a pipe every generation writes to: a process
// that upgrades passes it on, so the lines of all generations arrive here,
// and the pipe ends when the last one exits.
type upgradable struct {
	t       *testing.T
	cmd     *exec.Cmd     // the first generation (the only one we can wait for)
	exited  chan struct{} // closed once waitErr is set
	waitErr error
	lines   chan string
	stderr  string // path of the shared stderr file
	pidFile string
}

func startUpgradable(t *testing.T, bin string, args ...string) *upgradable {
	t.Helper()
	dir := t.TempDir()
	u := &upgradable{t: t, lines: make(chan string, 64), exited: make(chan struct{}),
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
		case <-time.After(cmdtest.WaitLimit):
			t.Errorf("the first generation did not exit after SIGKILL")
		}
		if t.Failed() {
			b, _ := os.ReadFile(u.stderr)
			t.Logf("stderr:\n%s", b)
		}
	})
	return u
}

// line returns the next stdout line of any generation.
func (u *upgradable) line() string {
	u.t.Helper()
	select {
	case l, ok := <-u.lines:
		require.True(u.t, ok, "stdout ended")
		return l
	case <-time.After(cmdtest.WaitLimit):
		require.FailNow(u.t, "no line on stdout")
	}
	return ""
}

func (u *upgradable) pid() (int, error) {
	b, err := os.ReadFile(u.pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// servingPid waits for the pid file to name a process other than not.
func (u *upgradable) servingPid(not int) int {
	u.t.Helper()
	var pid int
	require.Eventually(u.t, func() bool {
		p, err := u.pid()
		pid = p
		return err == nil && p != not
	}, cmdtest.WaitLimit, 5*time.Millisecond, "the pid file never named a new process")
	return pid
}

// echoOnce dials addr, sends one message and reads it back. A conn the
// draining old process accepted may be closed before its reply (EOF: the
// graceful close of a conn it will not serve); that is reported apart from
// failures, which are refusals, resets and wrong bytes.
func echoOnce(addr string, i int) (closedEarly bool, err error) {
	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	msg := fmt.Sprintf("message %d\n", i)
	if _, err := c.Write([]byte(msg)); err != nil {
		return false, err
	}
	got := make([]byte, len(msg))
	n, err := io.ReadFull(c, got)
	if errors.Is(err, io.EOF) && n == 0 {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if string(got) != msg {
		return false, fmt.Errorf("echoed %q, want %q", got, msg)
	}
	return false, nil
}

// TestUpgradeBySIGHUP upgrades echo while a client holds a conn and others
// keep dialing: the new process prints the same listening line and takes
// over; the old one closes its conn gracefully (EOF after every byte came
// back, no reset) and exits 0; no dial fails.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	u := startUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-log-level", "debug")
	first := u.line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	oldPid := u.servingPid(0)
	require.Equal(t, u.cmd.Process.Pid, oldPid)

	held, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer held.Close()
	held.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	sent := []byte(strings.Repeat("held conn ", 1000))
	_, err = held.Write(sent)
	require.NoError(t, err)
	back := make([]byte, len(sent))
	_, err = io.ReadFull(held, back)
	require.NoError(t, err)
	require.Equal(t, sent, back)

	// Dial continuously through the upgrade.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dials, early int
	var failures []error
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				closedEarly, err := echoOnce(addr, i)
				mu.Lock()
				dials++
				if closedEarly {
					early++
				}
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.line(), "the new process listens on the same address")
	newPid := u.servingPid(oldPid)

	// The old process drains: the held conn ends with a clean EOF.
	rest, err := io.ReadAll(held)
	require.NoError(t, err, "a graceful close, not a reset")
	require.Empty(t, rest)
	select {
	case <-u.exited:
		require.NoError(t, u.waitErr, "the old process exits 0")
	case <-time.After(cmdtest.WaitLimit):
		t.Fatal("the old process did not exit")
	}

	// Dials go on to the new process alone for a while.
	mu.Lock()
	before := dials
	mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return dials >= before+50
	}, cmdtest.WaitLimit, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	require.Empty(t, failures, "refused, reset or wrong bytes during the upgrade")
	t.Logf("%d dials through the upgrade, %d closed by the old process before their reply", dials, early)
	require.NoError(t, func() error { _, err := echoOnce(addr, -1); return err }())

	// The new process debug-logs conns with the client's address and stops
	// on SIGTERM; its end closes the shared stdout.
	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	for l := range u.lines {
		t.Errorf("unexpected stdout line %q", l)
	}
	logs, err := os.ReadFile(u.stderr)
	require.NoError(t, err)
	require.Contains(t, string(logs), `msg="conn opened" remote=127.0.0.1:`)
	require.Contains(t, string(logs), fmt.Sprintf(`msg="upgrade: serving the sockets of the old process" pid=%d`, newPid))
}

// TestGnetIgnoresSIGHUP: the gnet backend cannot serve inherited sockets,
// so SIGHUP is ignored with a message and the process serves on.
func TestGnetIgnoresSIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1", "-backend", "gnet")
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Contains(p.Stderr(), "SIGHUP ignored: -backend gnet cannot serve inherited sockets")
	}, cmdtest.WaitLimit, 5*time.Millisecond, "stderr: %s", p.Stderr())
	_, err := echoOnce(p.Addr("tcp"), 0)
	require.NoError(t, err)
	p.Stop(syscall.SIGTERM)
}

// TestBinaryBehindAProxy: with ?proxy=required, -proxy-trusted and
// -log-level debug, a header from a trusted balancer gives the handler the
// client's address, which the debug log shows; an untrusted source is
// refused.
func TestBinaryBehindAProxy(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	for _, tc := range []struct {
		trusted string
		served  bool
	}{{"127.0.0.0/8", true}, {"10.0.0.0/8,192.168.0.0/16", false}} {
		p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0?proxy=required", "-proxy-trusted", tc.trusted, "-loops", "1", "-log-level", "debug")
		c, err := net.DialTimeout("tcp", p.Addr("tcp"), cmdtest.WaitLimit)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
		_, err = c.Write([]byte("PROXY TCP4 198.51.100.9 127.0.0.1 40000 7000\r\nbehind"))
		require.NoError(t, err)
		got, _ := io.ReadAll(c)
		c.Close()
		if tc.served {
			require.Equal(t, "behind", string(got), "the data after the header, echoed")
			require.Eventually(t, func() bool {
				return strings.Contains(p.Stderr(), `msg="conn closed" remote=198.51.100.9:40000 cause=clean`)
			}, cmdtest.WaitLimit, 5*time.Millisecond, "stderr: %s", p.Stderr())
			require.Contains(t, p.Stderr(), `msg="conn opened" remote=198.51.100.9:40000`)
		} else {
			require.Empty(t, got, "a header from an untrusted source is refused")
			require.NotContains(t, p.Stderr(), "198.51.100.9")
		}
		p.Stop(syscall.SIGTERM)
	}
}
