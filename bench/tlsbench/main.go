//go:build linux

// Command tlsbench compares TLS echo servers side by side on 127.0.0.1:
// evloop native and evloop on its gnet backend (both examples/echo serving
// tls:// with an ephemeral certificate) and a goroutine-per-conn net +
// crypto/tls server (bench/tlsbench/netls).
//
//	go run ./bench/tlsbench -md bench/tls-results.md
//
// Each round runs every scenario on every server in turn (A B C A B C ...),
// each on a fresh server process; the table holds the medians of the rounds
// with the ratio to evloop native. Every echoed byte is verified. See
// bench/README-tls.md.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/evloop/evloop/bench/internal/rlimit"
)

// server is one column: a program and its arguments before -addr.
type server struct {
	key, name string
	pkg       string // package to build
	args      []string
}

var allServers = []server{
	{"native", "evloop native", "./examples/echo", []string{"-backend", "native"}},
	{"gnet", "evloop on gnet", "./examples/echo", []string{"-backend", "gnet"}},
	{"net", "net + crypto/tls", "./bench/tlsbench/netls", nil},
}

type config struct {
	rounds                 int
	warmup, duration       time.Duration
	conns, size            int
	inflightLow, inflightH int
	idleConns, idleWorkers int
	settle                 time.Duration
	hsWorkers, hsSize      int
	loops                  int
	scenarios              map[string]bool
	quiet                  bool
}

func main() {
	var c config
	flag.IntVar(&c.rounds, "rounds", 3, "rounds (the table shows medians)")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "warm-up before each measured window")
	flag.DurationVar(&c.duration, "duration", 3*time.Second, "measured window")
	flag.IntVar(&c.conns, "conns", 100, "echo: connections")
	flag.IntVar(&c.size, "size", 1024, "echo: message size, bytes")
	flag.IntVar(&c.inflightLow, "inflight", 1, "echo1: messages in flight per conn")
	flag.IntVar(&c.inflightH, "inflight-high", 16, "echo16: messages in flight per conn")
	flag.IntVar(&c.idleConns, "idle-conns", 5000, "idle: TLS connections held open")
	flag.IntVar(&c.idleWorkers, "idle-workers", 4, "idle: concurrent dialers")
	flag.DurationVar(&c.settle, "settle", time.Second, "idle: wait before each RSS reading")
	flag.IntVar(&c.hsWorkers, "hs-workers", 4, "handshake: concurrent connect-handshake-echo-close loops")
	flag.IntVar(&c.hsSize, "hs-size", 64, "handshake: bytes echoed per conn")
	flag.IntVar(&c.loops, "loops", 2, "server -loops (event loops, or GOMAXPROCS for net)")
	scen := flag.String("scenarios", "echo1,echo16,idle,handshake", "scenarios to run")
	servers := flag.String("servers", "native,gnet,net", "servers (columns), first is the baseline of the ratios")
	md := flag.String("md", "", "also write the Markdown table to this file")
	flag.BoolVar(&c.quiet, "q", false, "no progress on stderr")
	flag.Parse()

	c.scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		c.scenarios[s] = true
	}
	var cols []server
	for _, k := range strings.Split(*servers, ",") {
		found := false
		for _, s := range allServers {
			if s.key == k {
				cols = append(cols, s)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(os.Stderr, "tlsbench: unknown server %q (native, gnet, net)\n", k)
			os.Exit(2)
		}
	}
	out, err := compare(c, cols)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsbench:", err)
		os.Exit(1)
	}
	fmt.Print(out)
	if *md != "" {
		if err := os.WriteFile(*md, []byte(out), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "tlsbench:", err)
			os.Exit(1)
		}
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func (c config) logf(format string, a ...any) {
	if !c.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

// compare builds the servers, runs the rounds and returns the Markdown report.
func compare(c config, cols []server) (string, error) {
	if c.scenarios["idle"] {
		if _, err := rlimit.RaiseNoFile(uint64(c.idleConns)*2 + 1000); err != nil {
			return "", fmt.Errorf("idle needs %d fds: %w", c.idleConns*2+1000, err)
		}
	}
	dir, err := os.MkdirTemp("", "tlsbench")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for _, s := range cols {
		if _, ok := bins[s.pkg]; ok {
			continue
		}
		bin := filepath.Join(dir, filepath.Base(s.pkg))
		c.logf("building %s", s.pkg)
		if out, err := exec.Command("go", "build", "-o", bin, s.pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", s.pkg, err, out)
		}
		bins[s.pkg] = bin
	}

	rows := []row{}
	addRows := func(scen string, r ...row) {
		if c.scenarios[scen] {
			rows = append(rows, r...)
		}
	}
	e1, e16 := fmt.Sprintf("echo %d in flight", c.inflightLow), fmt.Sprintf("echo %d in flight", c.inflightH)
	addRows("echo1", row{e1 + ": msgs/s", true, 0}, row{e1 + ": server CPU µs/msg", false, 2})
	addRows("echo16", row{e16 + ": msgs/s", true, 0}, row{e16 + ": server CPU µs/msg", false, 2})
	addRows("idle", row{fmt.Sprintf("idle %d TLS conns: server RSS KiB/conn", c.idleConns), false, 2})
	addRows("handshake", row{"handshakes/s (connect, handshake, echo, close)", true, 0},
		row{"handshake: server CPU µs/conn", false, 0})
	keys := make([]string, len(cols))
	names := map[string]string{}
	for i, s := range cols {
		keys[i], names[s.key] = s.key, s.name
	}
	t := newTable(rows, keys)
	loadStart, start := loadavg(), time.Now()

	for round := 1; round <= c.rounds; round++ {
		for _, scen := range []string{"echo1", "echo16", "idle", "handshake"} {
			if !c.scenarios[scen] {
				continue
			}
			for _, s := range cols {
				runOne(c, t, rows, scen, s, bins[s.pkg], round)
			}
		}
	}

	var b bytes.Buffer
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# TLS echo: evloop vs net + crypto/tls\n\n")
	fmt.Fprintf(&b, "`go run ./bench/tlsbench` on %s, %s, %d CPUs (%s), %s. %d rounds, servers alternating A B C in each; medians, ratio to %s in parentheses (↑ higher is better, ↓ lower is better). Load average (1/5/15 min) at start %s, at end %s; %s in all.\n\n",
		host, start.UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), cpuModel(), runtime.Version(),
		c.rounds, names[keys[0]], loadStart, loadavg(), time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "Servers with `-loops %d`; TLS 1.3, ECDSA P-256 self-signed certificate, full handshakes (no resumption). Echo: %d conns, %d B messages, %v warm-up, %v window. Idle: %d conns dialed by %d workers, one byte echoed on each, VmRSS read %v after the last. Handshakes: %d workers, %d B echoed per conn.\n\n",
		c.loops, c.conns, c.size, c.warmup, c.duration, c.idleConns, c.idleWorkers, c.settle, c.hsWorkers, c.hsSize)
	t.writeMarkdown(&b, names, keys[0], c.rounds)
	writeTargets(&b, t, c, e16, keys)
	return b.String(), nil
}

// writeTargets states the targets against the net + crypto/tls server.
func writeTargets(w io.Writer, t *table, c config, e16 string, keys []string) {
	hasNet := false
	for _, k := range keys {
		hasNet = hasNet || k == "net"
	}
	if !hasNet {
		return
	}
	fmt.Fprintf(w, "\nTargets (issue 12), each evloop column ÷ net + crypto/tls:\n\n")
	check := func(label, r string, want float64, higher bool) {
		for _, k := range keys {
			if k == "net" {
				continue
			}
			v := t.ratio(r, k, "net")
			if math.IsNaN(v) {
				continue
			}
			ok := v >= want
			op := "≥"
			if !higher {
				ok, op = v <= want, "≤"
			}
			verdict := "met"
			if !ok {
				verdict = "**missed**"
			}
			fmt.Fprintf(w, "- %s, %s: %.2f× (target %s %.2f×): %s\n", label, allName(k), v, op, want, verdict)
		}
	}
	if c.scenarios["echo16"] {
		check("throughput at 16 in flight", e16+": msgs/s", 1.0, true)
	}
	if c.scenarios["idle"] {
		check("idle RSS per TLS conn", fmt.Sprintf("idle %d TLS conns: server RSS KiB/conn", c.idleConns), 0.25, false)
	}
}

func allName(k string) string {
	for _, s := range allServers {
		if s.key == k {
			return s.name
		}
	}
	return k
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

// runOne starts a fresh server, runs one scenario on it and records the
// figures (or the failure) in t.
func runOne(c config, t *table, rows []row, scen string, s server, bin string, round int) {
	rowsOf := []string{}
	for _, r := range rows {
		if strings.HasPrefix(r.name, scenPrefix(c, scen)) {
			rowsOf = append(rowsOf, r.name)
		}
	}
	failAll := func(err error) {
		c.logf("  round %d %-9s %-16s FAILED: %v", round, scen, s.name, err)
		for _, r := range rowsOf {
			t.fail(r, s.key, fmt.Sprintf("round %d: %v", round, err))
		}
	}
	p, err := startServer(bin, s.args, c.loops)
	if err != nil {
		failAll(err)
		return
	}
	defer func() {
		if err := p.stop(); err != nil {
			c.logf("  round %d %-9s %-16s stop: %v", round, scen, s.name, err)
		}
	}()
	switch scen {
	case "echo1", "echo16":
		in := c.inflightLow
		if scen == "echo16" {
			in = c.inflightH
		}
		r, err := runEcho(echoParams{addr: p.addr, pid: p.pid(), conns: c.conns, size: c.size, in: in,
			warmup: c.warmup, duration: c.duration, drain: 3 * time.Second})
		if err != nil {
			failAll(err)
			return
		}
		t.add(rowsOf[0], s.key, r.msgsPerSec)
		if r.cpuPerMsg >= 0 {
			t.add(rowsOf[1], s.key, float64(r.cpuPerMsg)/float64(time.Microsecond))
		}
		c.logf("  round %d %-9s %-16s %9.0f msgs/s %7.2f µs/msg  %d MiB verified", round, scen, s.name,
			r.msgsPerSec, float64(r.cpuPerMsg)/1e3, r.bytes>>20)
	case "idle":
		r, err := runIdle(p.addr, p.pid(), c.idleConns, c.idleWorkers, c.settle)
		if err != nil {
			failAll(err)
			return
		}
		t.add(rowsOf[0], s.key, r.kibPerConn)
		c.logf("  round %d %-9s %-16s %7.2f KiB/conn (VmRSS %d -> %d KiB)", round, scen, s.name, r.kibPerConn, r.before, r.after)
	case "handshake":
		r, err := runHandshakes(p.addr, p.pid(), c.hsWorkers, c.hsSize, c.warmup, c.duration)
		if err != nil {
			failAll(err)
			return
		}
		t.add(rowsOf[0], s.key, r.perSec)
		if r.cpuPerOne >= 0 {
			t.add(rowsOf[1], s.key, float64(r.cpuPerOne)/float64(time.Microsecond))
		}
		c.logf("  round %d %-9s %-16s %7.0f handshakes/s %6.0f µs/conn", round, scen, s.name, r.perSec, float64(r.cpuPerOne)/1e3)
	}
}

func scenPrefix(c config, scen string) string {
	switch scen {
	case "echo1":
		return fmt.Sprintf("echo %d in flight", c.inflightLow)
	case "echo16":
		return fmt.Sprintf("echo %d in flight", c.inflightH)
	case "idle":
		return "idle "
	}
	return "handshake"
}

// proc is a running server.
type proc struct {
	cmd    *exec.Cmd
	addr   string // host:port
	stderr *bytes.Buffer
	exited chan error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// startServer starts bin on a free loopback port and waits for its
// "listening tls://host:port" line.
func startServer(bin string, args []string, loops int) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args = append(append([]string{}, args...), "-addr", "tls://"+addr, "-loops", fmt.Sprint(loops))
	cmd := exec.Command(bin, args...)
	p := &proc{cmd: cmd, addr: addr, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && strings.HasPrefix(sc.Text(), "listening ") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if ok {
			return p, nil
		}
		<-p.exited
		return nil, fmt.Errorf("%s exited before listening: %s", filepath.Base(bin), strings.TrimSpace(p.stderr.String()))
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-p.exited
		return nil, fmt.Errorf("%s did not print its listening line within 10s", filepath.Base(bin))
	}
}

// stop sends SIGTERM and waits 5 s for a clean exit, then kills.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			return fmt.Errorf("exit: %v: %s", err, strings.TrimSpace(p.stderr.String()))
		}
		return nil
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("no exit within 5s of SIGTERM; killed")
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
