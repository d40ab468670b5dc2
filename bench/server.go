package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverSpec is one server under comparison: a built binary plus the
// arguments that select its variant. Every server takes
// "-addr tcp://127.0.0.1:PORT -loops N".
type serverSpec struct {
	Key      string   // short name used by -servers and -baseline
	Name     string   // column title
	Pkg      string   // package built, relative to the module root
	Args     []string // extra arguments after -addr and -loops
	Bin      string   // built binary; empty until built
	Prebuilt bool     // Bin was given (-extra); nothing to build
	BuildErr error    // why it could not be built
}

// allServers lists the servers in the order they run and appear.
func allServers(poller string) []*serverSpec {
	return []*serverSpec{
		// -profile none: the library's defaults, no conn cap (c1m holds
		// up to a million conns) and no idle timeout (the idle scenario).
		{Key: "native", Name: "evloop native", Pkg: "./examples/echo", Args: []string{"-backend", "native", "-poller", poller, "-profile", "none"}},
		{Key: "evgnet", Name: "evloop on gnetbackend", Pkg: "./examples/echo", Args: []string{"-backend", "gnet", "-poller", poller, "-profile", "none"}},
		// No -poller: the uring backend polls with io_uring and refuses one.
		{Key: "uring", Name: "evloop on io_uring", Pkg: "./examples/echo", Args: []string{"-backend", "uring", "-profile", "none"}},
		{Key: "gnet", Name: "gnet", Pkg: "./bench/gnetecho"},
		{Key: "net", Name: "net", Pkg: "./bench/netecho"},
	}
}

// parseExtra parses -extra NAME=PATH: a prebuilt echo server run as one
// more column with examples/echo's command line (so that, for example, a
// build of an older commit can be compared with the current code in one
// run). The binary must exist and be executable.
func parseExtra(v string) (*serverSpec, error) {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return nil, fmt.Errorf("-extra %q: want NAME=PATH", v)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return nil, fmt.Errorf("-extra %q: NAME may hold letters, digits, '-', '_' and '.'", v)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("-extra %q: %w", v, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("-extra %q: %w", v, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("-extra %q: %s is not an executable file", v, abs)
	}
	return &serverSpec{Key: name, Name: name, Bin: abs, Prebuilt: true}, nil
}

// checkExtras rejects extra servers whose names repeat or clash with a
// built-in one.
func checkExtras(extras []*serverSpec) error {
	seen := map[string]bool{}
	for _, s := range allServers("auto") {
		seen[s.Key] = true
	}
	for _, s := range extras {
		if seen[s.Key] {
			return fmt.Errorf("-extra %s: the name is taken", s.Key)
		}
		seen[s.Key] = true
	}
	return nil
}

// moduleRoot finds the directory holding the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module; run from the evloop checkout or pass -root")
	}
	return filepath.Dir(gomod), nil
}

// buildServers runs "go build" once per distinct package into dir and fills
// in Bin or BuildErr. A failed build is recorded, not fatal.
func buildServers(ctx context.Context, root, dir string, specs []*serverSpec, logf func(string, ...any)) {
	built := map[string]*serverSpec{}
	for _, s := range specs {
		if s.Prebuilt {
			continue
		}
		if prev, ok := built[s.Pkg]; ok {
			s.Bin, s.BuildErr = prev.Bin, prev.BuildErr
			continue
		}
		built[s.Pkg] = s
		bin := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(s.Pkg, "./"), "/", "_"))
		logf("building %s", s.Pkg)
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		cmd := exec.CommandContext(bctx, "go", "build", "-o", bin, s.Pkg)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			s.BuildErr = fmt.Errorf("go build %s: %v: %s", s.Pkg, err, firstLines(string(out), 4))
			logf("  %v", s.BuildErr)
			continue
		}
		s.Bin = bin
	}
}

// firstLines keeps the first n lines of s, joined with " | ".
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " | ")
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// server is a running server process.
type server struct {
	spec   *serverSpec
	cmd    *exec.Cmd
	Addr   string // host:port to dial
	PID    int
	stderr *headBuffer
	exited chan struct{} // closed once the process has been waited for
	werr   error         // cmd.Wait's result, valid after exited

	terminated bool  // terminate was called; stop reports termErr
	termErr    error // what terminate found
}

// startServer starts spec on a free port of 127.0.0.1 with -loops loops and
// waits up to timeout for its "listening <addr>" line on stdout.
func startServer(spec *serverSpec, loops int, timeout time.Duration) (*server, error) {
	if spec.BuildErr != nil {
		return nil, spec.BuildErr
	}
	var lastErr error
	// A second try if the server exited early: the free port may have been
	// taken between freePort and the server's bind. A server that hangs is
	// not retried.
	for attempt := 0; attempt < 2; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, early, err := startServerOn(spec, fmt.Sprintf("127.0.0.1:%d", port), loops, timeout)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !early {
			break
		}
	}
	return nil, lastErr
}

// startServerOn starts spec listening on hostport. early reports that the
// process exited by itself before announcing it was listening.
func startServerOn(spec *serverSpec, hostport string, loops int, timeout time.Duration) (s *server, early bool, err error) {
	args := append([]string{"-addr", "tcp://" + hostport, "-loops", fmt.Sprint(loops)}, spec.Args...)
	cmd := exec.Command(spec.Bin, args...)
	// Stdout goes through a pipe we read to the end, so the server never
	// blocks on a full pipe. Should something the server spawned keep the
	// pipe open after the server exits, WaitDelay bounds the wait.
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.WaitDelay = 2 * time.Second
	s = &server{spec: spec, cmd: cmd, stderr: &headBuffer{max: 4 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	s.PID = cmd.Process.Pid

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok && !sent {
				ready <- strings.TrimSpace(addr)
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr) // after an over-long line
	}()
	go func() {
		s.werr = cmd.Wait()
		_ = pw.Close()
		close(s.exited)
	}()

	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr := <-ready:
		s.Addr = dialAddr(addr, hostport)
		return s, false, nil
	case <-s.exited:
		return nil, true, fmt.Errorf("%s exited before listening (%v): %s", spec.Name, s.werr, firstLines(s.stderr.String(), 4))
	case <-t.C:
		_ = cmd.Process.Kill()
		<-s.exited
		return nil, false, fmt.Errorf("%s printed no \"listening\" line within %v: %s", spec.Name, timeout, firstLines(s.stderr.String(), 4))
	}
}

// dialAddr turns the address a server announced ("tcp://127.0.0.1:7000" or
// "127.0.0.1:7000") into host:port, falling back to the one it was given.
// Only loopback addresses are accepted.
func dialAddr(announced, fallback string) string {
	a := announced
	if _, rest, ok := strings.Cut(a, "://"); ok {
		a = rest
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || port == "0" {
		return fallback
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fallback
	}
	return a
}

// stop sends SIGTERM and waits up to timeout for a clean exit; then it
// kills the process. It reports a non-zero exit or a needed kill. After
// terminate it only reports what terminate found.
func (s *server) stop(timeout time.Duration) error {
	_, err := s.terminate(timeout)
	return err
}

// terminate is stop that also reports how long the server took to exit
// after SIGTERM. Only the first call acts.
func (s *server) terminate(timeout time.Duration) (time.Duration, error) {
	if s.terminated {
		return -1, s.termErr
	}
	s.terminated = true
	select {
	case <-s.exited:
		s.termErr = fmt.Errorf("%s had exited during the run (%v): %s", s.spec.Name, s.werr, firstLines(s.stderr.String(), 4))
		return -1, s.termErr
	default:
	}
	begin := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.exited:
		took := time.Since(begin)
		if s.werr != nil {
			s.termErr = fmt.Errorf("%s exited with %v %v after SIGTERM: %s", s.spec.Name, s.werr, took.Round(time.Millisecond), firstLines(s.stderr.String(), 4))
		}
		return took, s.termErr
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.termErr = fmt.Errorf("%s did not exit within %v of SIGTERM; killed", s.spec.Name, timeout)
		return -1, s.termErr
	}
}

// lifetimeCPU is the CPU time (user + system) the server used over its
// whole life, known once it has exited; -1 before.
func (s *server) lifetimeCPU() time.Duration {
	select {
	case <-s.exited:
	default:
		return -1
	}
	if ps := s.cmd.ProcessState; ps != nil {
		return ps.UserTime() + ps.SystemTime()
	}
	return -1
}

// headBuffer keeps the first max bytes written to it (a server's first
// complaints are the useful ones).
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - t.b.Len(); room > 0 {
		t.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
