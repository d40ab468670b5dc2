// Command restartload measures a zero-downtime upgrade under load: it runs
// an example server (examples/echo by default), keeps -conns conns echoing
// and -dialers goroutines dialing new conns, and meanwhile upgrades the
// server -upgrades times with SIGHUP. It reports what clients saw: connects
// refused, resets, bytes lost, and how long each upgrade took.
//
//	go build -o /tmp/echo ./examples/echo
//	go run ./bench/restartload -bin /tmp/echo -conns 200 -upgrades 5
//
// The old server drains: it accepts no more but echoes on its open conns
// until their clients close them, for up to the server's -drain-timeout
// (this program's -drain-timeout). With -rotate (the default) each kept
// conn is closed by its client after its next few answers once an upgrade
// has happened, and dialed again (to the new server), as a protocol's
// goodbye would have a client do (HTTP's "Connection: close"): no request
// should then go unanswered. Without -rotate the kept conns stay with the
// old server until its drain timeout, which closes them.
//
// A conn the server closes gracefully (EOF) is reopened; a request it left
// unanswered at that close (the client knows: no reply came before the
// EOF) is sent again on the new conn, as a client retries a request on a
// closed keep-alive conn. Those are counted apart ("unanswered, resent"),
// and fail the run with -rotate; "bytes lost" counts bytes that never came
// back, or came back wrong, after that.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evloop/evloop/bench/internal/rlimit"
)

type counters struct {
	// gen counts the upgrades whose new server serves: a kept conn dialed
	// before the last one is rotated (-rotate).
	gen                        atomic.Int64
	rotate                     bool
	rotated                    atomic.Int64
	refused, resets, otherErrs atomic.Int64
	lostBytes, echoedBytes     atomic.Int64
	reconnects, unanswered     atomic.Int64
	dials, dialsClosedEarly    atomic.Int64
	requests                   atomic.Int64
	firstErrMu                 sync.Mutex
	firstErr                   error
}

func (c *counters) fail(err error) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		c.refused.Add(1)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		c.resets.Add(1)
	default:
		c.otherErrs.Add(1)
	}
	c.firstErrMu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.firstErrMu.Unlock()
}

func main() {
	bin := flag.String("bin", "", "example server binary (built from examples/echo)")
	conns := flag.Int("conns", 200, "conns kept echoing")
	dialers := flag.Int("dialers", 4, "goroutines dialing a new conn per request, continuously")
	upgrades := flag.Int("upgrades", 5, "upgrades by SIGHUP")
	every := flag.Duration("every", time.Second, "load time before the first upgrade, between upgrades and after the last")
	size := flag.Int("size", 64, "bytes per request")
	loops := flag.Int("loops", 2, "the server's -loops")
	addr := flag.String("addr", "", "load a running server at host:port for -every instead (no -bin, no upgrade): e.g. through a load balancer")
	sources := flag.String("sources", "", "comma-separated local IPs to dial from, in turn (e.g. 127.0.0.2,127.0.0.3)")
	drain := flag.Duration("drain-timeout", 10*time.Second, "the server's -drain-timeout: how long an old server echoes on its open conns")
	rotate := flag.Bool("rotate", true, "after an upgrade, close each kept conn after its next answers and dial again (the new server), as a client told goodbye does")
	flag.Parse()
	if *sources != "" {
		sourceDialers = nil
		for _, s := range strings.Split(*sources, ",") {
			ip := net.ParseIP(strings.TrimSpace(s))
			if ip == nil {
				fmt.Fprintf(os.Stderr, "restartload: -sources: bad IP %q\n", s)
				os.Exit(2)
			}
			sourceDialers = append(sourceDialers, &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}})
		}
	}
	var err error
	switch {
	case *addr != "":
		err = load(*addr, *conns, *dialers, *every, *size)
	case *bin != "":
		err = run(*bin, *conns, *dialers, *upgrades, *every, *size, *loops, *drain, *rotate)
	default:
		fmt.Fprintln(os.Stderr, "restartload: -bin or -addr is required")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "restartload:", err)
		os.Exit(1)
	}
}

// sourceDialers are the dialers conns use in turn (-sources).
var sourceDialers = []*net.Dialer{{Timeout: 10 * time.Second}}

func dial(addr string, i int) (net.Conn, error) {
	return sourceDialers[i%len(sourceDialers)].Dial("tcp", addr)
}

// load runs the load against a running server for d and reports.
func load(addr string, nconns, ndialers int, d time.Duration, size int) error {
	_, _ = rlimit.RaiseNoFile(uint64(nconns+ndialers) * 2) // short of it, dials fail and are counted
	var c counters
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < nconns; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); keepEchoing(addr, i, size, &c, stop) }()
	}
	for i := 0; i < ndialers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); keepDialing(addr, size, &c, stop) }()
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	return report(&c)
}

func run(bin string, nconns, ndialers, nupgrades int, every time.Duration, size, loops int, drain time.Duration, rotate bool) error {
	_, _ = rlimit.RaiseNoFile(uint64(nconns+ndialers) * 2) // short of it, dials fail and are counted
	dir, err := os.MkdirTemp("", "restartload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pidFile := filepath.Join(dir, "pid")
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return err
	}
	defer errf.Close()
	cmd := exec.Command(bin, "-addr", "tcp://127.0.0.1:0", "-loops", strconv.Itoa(loops), "-pid-file", pidFile, "-drain-timeout", drain.String())
	cmd.Stdout, cmd.Stderr = w, errf
	if err := cmd.Start(); err != nil {
		return err
	}
	w.Close()
	go cmd.Wait() // reap the first generation
	lines := make(chan string, 16)
	go func() {
		scan := bufio.NewScanner(r)
		for scan.Scan() {
			lines <- scan.Text()
		}
		close(lines)
	}()
	serving := cmd.Process.Pid
	defer func() {
		if pid, err := readPid(pidFile); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		cmd.Process.Kill()
	}()
	next := func() (string, error) {
		select {
		case l, ok := <-lines:
			if !ok {
				return "", errors.New("the server's stdout ended")
			}
			return l, nil
		case <-time.After(20 * time.Second):
			return "", errors.New("no line from the server")
		}
	}
	first, err := next()
	if err != nil {
		return err
	}
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	if !ok {
		return fmt.Errorf("first line %q", first)
	}
	if _, err := waitPid(pidFile, 0); err != nil {
		return err
	}

	c := counters{rotate: rotate}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < nconns; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); keepEchoing(addr, i, size, &c, stop) }()
	}
	for i := 0; i < ndialers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); keepDialing(addr, size, &c, stop) }()
	}

	fmt.Printf("server %s, %d conns echoing %d-byte requests, %d dialers\n", addr, nconns, size, ndialers)
	time.Sleep(every)
	for u := 1; u <= nupgrades; u++ {
		t0 := time.Now()
		if err := syscall.Kill(serving, syscall.SIGHUP); err != nil {
			return err
		}
		l, err := next()
		if err != nil {
			return err
		}
		if l != first {
			return fmt.Errorf("upgrade %d: the new process printed %q, want %q", u, l, first)
		}
		newPid, err := waitPid(pidFile, serving)
		if err != nil {
			return err
		}
		ready := time.Since(t0)
		c.gen.Add(1)
		if err := waitExit(serving, drain+30*time.Second); err != nil {
			return err
		}
		fmt.Printf("upgrade %d: pid %d -> %d: new process ready in %v, old one drained and exited %v later\n",
			u, serving, newPid, ready.Round(time.Millisecond), (time.Since(t0) - ready).Round(time.Millisecond))
		serving = newPid
		time.Sleep(every)
	}
	close(stop)
	wg.Wait()
	syscall.Kill(serving, syscall.SIGTERM)
	for range lines { // the last generation's end closes stdout
	}
	return report(&c)
}

// report prints what the clients saw, and fails on refusals, resets, lost
// bytes or other errors.
func report(c *counters) error {
	fmt.Printf("requests echoed: %d (%d bytes) on the kept conns, %d dials\n", c.requests.Load(), c.echoedBytes.Load(), c.dials.Load())
	fmt.Printf("kept conns closed by their client after an upgrade and reopened (-rotate): %d\n", c.rotated.Load())
	fmt.Printf("kept conns closed gracefully by the server and reopened: %d; requests unanswered at that close, resent: %d\n", c.reconnects.Load(), c.unanswered.Load())
	fmt.Printf("dialed conns closed gracefully by the server before their reply (by a draining old process): %d\n", c.dialsClosedEarly.Load())
	fmt.Printf("connects refused: %d, resets: %d, bytes lost: %d, other errors: %d\n", c.refused.Load(), c.resets.Load(), c.lostBytes.Load(), c.otherErrs.Load())
	if c.firstErr != nil {
		fmt.Printf("first error: %v\n", c.firstErr)
	}
	if c.refused.Load()+c.resets.Load()+c.lostBytes.Load()+c.otherErrs.Load() > 0 {
		return errors.New("clients saw failures")
	}
	if c.rotate && c.unanswered.Load()+c.dialsClosedEarly.Load() > 0 {
		return errors.New("requests went unanswered: a server closed conns with requests in flight")
	}
	return nil
}

// payload is request n of conn id: distinct bytes, so that a misplaced or
// stale echo is seen.
func payload(buf []byte, id, n int) {
	s := fmt.Sprintf("%d:%d:", id, n)
	for i := range buf {
		buf[i] = s[i%len(s)]
	}
	buf[len(buf)-1] = '\n'
}

// keepEchoing sends requests one at a time on a conn and checks each echo.
// A graceful close by the server (EOF) before the echo is complete reopens
// the conn and resends the request. With -rotate, a conn dialed before the
// last upgrade is closed after rotateAfter more answers, and reopened.
func keepEchoing(addr string, id, size int, c *counters, stop <-chan struct{}) {
	req, got := make([]byte, size), make([]byte, size)
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var dialGen int64
	after := 0
	for n := 0; ; {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			var err error
			if conn, err = dial(addr, id); err != nil {
				c.fail(err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			dialGen, after = c.gen.Load(), 0
		}
		payload(req, id, n)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := conn.Write(req)
		var k int
		if err == nil {
			k, err = io.ReadFull(conn, got)
		}
		switch {
		case err == nil:
			if !bytes.Equal(got, req) {
				c.lostBytes.Add(int64(size))
				c.fail(fmt.Errorf("conn %d request %d: echoed %q, want %q", id, n, got, req))
			} else {
				c.echoedBytes.Add(int64(size))
				c.requests.Add(1)
			}
			n++
			if c.rotate && c.gen.Load() != dialGen {
				if after++; after == rotateAfter {
					c.rotated.Add(1)
					conn.Close()
					conn = nil
				}
			}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			// Closed gracefully: what came back must be a prefix of the
			// request; the request goes again on a new conn.
			if !bytes.Equal(got[:k], req[:k]) {
				c.lostBytes.Add(int64(size))
				c.fail(fmt.Errorf("conn %d request %d: echoed %q before EOF, want a prefix of %q", id, n, got[:k], req))
			}
			c.reconnects.Add(1)
			c.unanswered.Add(1)
			conn.Close()
			conn = nil
		default:
			c.lostBytes.Add(int64(size - k))
			c.fail(err)
			conn.Close()
			conn = nil
			n++
		}
	}
}

// rotateAfter is how many answers a kept conn waits for, once an upgrade
// has happened, before its client closes it (-rotate): the old server
// answers them while it drains.
const rotateAfter = 3

// keepDialing dials a conn per request.
func keepDialing(addr string, size int, c *counters, stop <-chan struct{}) {
	req, got := make([]byte, size), make([]byte, size)
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := dial(addr, n)
		if err != nil {
			c.fail(err)
			continue
		}
		c.dials.Add(1)
		payload(req, -1, n)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Write(req)
		var k int
		if err == nil {
			k, err = io.ReadFull(conn, got)
		}
		conn.Close()
		switch {
		case err == nil:
			if !bytes.Equal(got, req) {
				c.lostBytes.Add(int64(size))
				c.fail(fmt.Errorf("dial %d: echoed %q, want %q", n, got, req))
			}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			if !bytes.Equal(got[:k], req[:k]) {
				c.lostBytes.Add(int64(size))
				c.fail(fmt.Errorf("dial %d: echoed %q before EOF", n, got[:k]))
			}
			c.dialsClosedEarly.Add(1)
		default:
			c.lostBytes.Add(int64(size - k))
			c.fail(err)
		}
	}
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// waitPid waits for the pid file to name a process other than not.
func waitPid(path string, not int) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pid, err := readPid(path); err == nil && pid != not {
			return pid, nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("the pid file %s never named a process other than %d", path, not)
}

// waitExit waits for pid to be gone: it may not be our child (after an
// upgrade the old process is its predecessor's child, reparented), so it is
// polled; a zombie nobody has reaped yet counts as gone.
func waitExit(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("pid %d still runs after %v", pid, limit)
}
