// Command wspeers compares evloop's WebSocket server with gws, nbio and
// gorilla/websocket (on net/http), each in a process of its own, driven by
// one load generator, servers alternated round by round, medians
// reported with evloop's ratio to each:
//
//   - echo: 1 KiB text messages over -conns conns (1,000), one in flight
//     per conn, for -duration; messages/s and the server's CPU per message
//     (from /proc/PID/stat);
//
//   - idle: the server's RSS per conn with -bconns (10,000) WebSocket
//     conns open and idle (RSS after minus RSS before, over conns);
//
//   - broadcast: one 1 KiB message to all -bconns conns, -bmsgs times
//     (the next once every conn has the last); deliveries/s and the
//     server's CPU per delivery.
//
//     cd bench/wspeers && go run . -rounds 3
//
// It is a module of its own so that the peers stay out of evloop's
// go.mod.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evloop/evloop/websocket"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		impl := fs.String("impl", "evloop", "evloop, gws, nbio or gorilla")
		addr := fs.String("addr", "127.0.0.1:7300", "listen address")
		fs.Parse(os.Args[2:])
		if err := serve(*impl, *addr); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		return
	}
	servers := flag.String("servers", "evloop,gws,nbio,gorilla", "servers to compare, comma-separated")
	rounds := flag.Int("rounds", 3, "rounds (servers alternate within each)")
	conns := flag.Int("conns", 1000, "echo conns")
	duration := flag.Duration("duration", 3*time.Second, "echo time per round")
	bconns := flag.Int("bconns", 10000, "idle and broadcast conns")
	bmsgs := flag.Int("bmsgs", 20, "broadcast messages per round")
	gen := flag.String("gen", "loop", "echo's load generator: loop (an evloop engine) or net (a goroutine per conn)")
	flag.Parse()
	loopGenerator = *gen == "loop"
	if err := run(strings.Split(*servers, ","), *rounds, *conns, *duration, *bconns, *bmsgs); err != nil {
		fmt.Fprintln(os.Stderr, "wspeers:", err)
		os.Exit(1)
	}
}

// loopGenerator: echo's load comes from an evloop engine (echoLoop), not
// from a goroutine per conn (echo).
var loopGenerator = true

// result is one server's figures in one round.
type result struct {
	echoRate, echoCPU   float64 // messages/s, CPU µs per message
	idleRSS             float64 // bytes per conn
	bcastRate, bcastCPU float64 // deliveries/s, CPU µs per delivery
}

func run(servers []string, rounds, conns int, duration time.Duration, bconns, bmsgs int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	all := map[string][]result{}
	for r := 0; r < rounds; r++ {
		order := append(servers[r%len(servers):], servers[:r%len(servers)]...)
		for _, impl := range order {
			res, err := round(self, impl, conns, duration, bconns, bmsgs)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", impl, r+1, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s echo %9.0f msg/s %6.2f µs CPU/msg | idle %7.0f B/conn | bcast %9.0f deliveries/s %6.3f µs CPU/delivery\n",
				r+1, impl, res.echoRate, res.echoCPU, res.idleRSS, res.bcastRate, res.bcastCPU)
			all[impl] = append(all[impl], res)
		}
	}
	med := func(rs []result, f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	fields := []struct {
		name string
		f    func(result) float64
	}{
		{"echo msg/s", func(r result) float64 { return r.echoRate }},
		{"echo CPU µs/msg", func(r result) float64 { return r.echoCPU }},
		{"idle RSS B/conn", func(r result) float64 { return r.idleRSS }},
		{"bcast deliveries/s", func(r result) float64 { return r.bcastRate }},
		{"bcast CPU µs/delivery", func(r result) float64 { return r.bcastCPU }},
	}
	fmt.Printf("medians of %d rounds (%d echo conns, %s; %d idle/broadcast conns, %d broadcasts)\n\n", rounds, conns, duration, bconns, bmsgs)
	fmt.Printf("| server |")
	for _, f := range fields {
		fmt.Printf(" %s |", f.name)
	}
	fmt.Printf("\n|---|%s\n", strings.Repeat("---|", len(fields)))
	base := all[servers[0]]
	for _, impl := range servers {
		fmt.Printf("| %s |", impl)
		for _, f := range fields {
			v := med(all[impl], f.f)
			if impl == servers[0] {
				fmt.Printf(" %.4g |", v)
			} else {
				fmt.Printf(" %.4g (%s %.2fx) |", v, servers[0], med(base, f.f)/v)
			}
		}
		fmt.Println()
	}
	return nil
}

// round starts impl, measures it, and stops it.
func round(self, impl string, conns int, duration time.Duration, bconns, bmsgs int) (res result, err error) {
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	cmd := exec.Command(self, "serve", "-impl", impl, "-addr", addr)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	// nbio logs to stdout before: skip to the listening line, then let
	// the rest drain.
	br := bufio.NewReader(out)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return res, fmt.Errorf("no listening line: %v", err)
		}
		if strings.HasPrefix(line, "listening") {
			break
		}
	}
	go io.Copy(io.Discard, br)
	pid := cmd.Process.Pid
	// Idle memory first, on a fresh process: what the echo load leaves in
	// the heap would hide it.
	if res.idleRSS, res.bcastRate, res.bcastCPU, err = broadcast(addr, pid, bconns, bmsgs); err != nil {
		return res, err
	}
	if loopGenerator {
		res.echoRate, res.echoCPU, err = echoLoop(addr, pid, conns, duration)
	} else {
		res.echoRate, res.echoCPU, err = echo(addr, pid, conns, duration)
	}
	return res, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// wsConn is the load generator's side of one conn: raw frames over a
// net.Conn, masked as a client's must be.
type wsConn struct {
	nc  net.Conn
	br  *bufio.Reader
	p   websocket.Parser
	buf []byte
	out []byte
}

func dialWS(addr, path string) (*wsConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	key := websocket.NewClientKey()
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, key)
	c := &wsConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("handshake: %w", err)
		}
		if line == "\r\n" {
			break
		}
	}
	nc.SetReadDeadline(time.Time{})
	return c, nil
}

func (c *wsConn) send(payload []byte) error {
	c.out = websocket.AppendFrame(c.out[:0], websocket.ClientHeader(websocket.OpText, true), payload)
	_, err := c.nc.Write(c.out)
	return err
}

// recv reads one whole frame's payload length.
func (c *wsConn) recv() (int, error) {
	n := 0
	for {
		if len(c.buf) > 0 {
			ch, m, err := c.p.Parse(c.buf)
			if err != nil {
				return 0, err
			}
			if m > 0 {
				n += len(ch.Payload)
				c.buf = c.buf[m:]
				if ch.Last {
					return n, nil
				}
				continue
			}
		}
		var tmp [8192]byte
		k, err := c.br.Read(tmp[:])
		if k == 0 && err != nil {
			return 0, err
		}
		c.buf = append(c.buf, tmp[:k]...)
	}
}

// cpu returns the process's user+system CPU time.
func cpu(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// rss returns the process's resident set in bytes.
func rss(pid int) float64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

func dialAll(addr, path string, n int) ([]*wsConn, error) {
	conns := make([]*wsConn, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialWS(addr, path)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []*wsConn) {
	for _, c := range conns {
		if c != nil {
			c.nc.Close()
		}
	}
}

// echo runs the echo load and returns messages/s and CPU µs per message.
func echo(addr string, pid, n int, d time.Duration) (float64, float64, error) {
	conns, err := dialAll(addr, "/echo", n)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(conns)
	msg := []byte(strings.Repeat("x", 1024))
	var count atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for !stop.Load() {
				if err := c.send(msg); err != nil {
					errs <- err
					return
				}
				if _, err := c.recv(); err != nil {
					errs <- err
					return
				}
				count.Add(1)
			}
		}()
	}
	close(start)
	time.Sleep(d / 5) // warm up
	c0, n0, t0 := cpu(pid), count.Load(), time.Now()
	time.Sleep(d)
	c1, n1, t1 := cpu(pid), count.Load(), time.Now()
	stop.Store(true)
	closeAll(conns) // unblocks the readers
	wg.Wait()
	msgs := float64(n1 - n0)
	if msgs == 0 {
		select {
		case err := <-errs:
			return 0, 0, err
		default:
			return 0, 0, fmt.Errorf("no echo")
		}
	}
	return msgs / t1.Sub(t0).Seconds(), float64(c1-c0) / float64(time.Microsecond) / msgs, nil
}

// broadcast opens n idle conns (RSS per conn), then sends m broadcasts
// through the first, each once all have the last.
func broadcast(addr string, pid, n, m int) (idle, rate, cpuPer float64, err error) {
	before := rss(pid)
	conns, err := dialAll(addr, "/bcast", n)
	if err != nil {
		return 0, 0, 0, err
	}
	defer closeAll(conns)
	time.Sleep(500 * time.Millisecond) // let the server settle its buffers
	idle = (rss(pid) - before) / float64(n)

	var wg sync.WaitGroup
	got := make(chan error, n)
	msg := []byte(strings.Repeat("b", 1024))
	next := make([]chan struct{}, m)
	for i := range next {
		next[i] = make(chan struct{})
	}
	var received sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range m {
				if _, err := c.recv(); err != nil {
					got <- err
					return
				}
				received.Done()
			}
		}()
	}
	c0, t0 := cpu(pid), time.Now()
	for i := 0; i < m; i++ {
		received.Add(n)
		if err := conns[0].send(msg); err != nil {
			return 0, 0, 0, err
		}
		done := make(chan struct{})
		go func() { received.Wait(); close(done) }()
		select {
		case <-done:
		case err := <-got:
			return 0, 0, 0, err
		case <-time.After(60 * time.Second):
			return 0, 0, 0, fmt.Errorf("broadcast %d not delivered to every conn", i)
		}
	}
	c1, t1 := cpu(pid), time.Now()
	closeAll(conns)
	wg.Wait()
	deliveries := float64(n * m)
	return idle, deliveries / t1.Sub(t0).Seconds(), float64(c1-c0) / float64(time.Microsecond) / deliveries, nil
}
