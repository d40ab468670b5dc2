package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/evloop/evloop/bench/internal/pattern"
	"github.com/evloop/evloop/bench/internal/procstat"
)

// echoConfig describes one echo load run.
type echoConfig struct {
	Addr        string        // host:port of the echo server
	Conns       int           // concurrent connections
	Size        int           // message size in bytes
	InFlight    int           // messages outstanding per connection
	Warmup      time.Duration // run before measuring
	Duration    time.Duration // measured window
	Drain       time.Duration // how long outstanding echoes may take after the window
	DialTimeout time.Duration
	PID         int // server process for CPU and RSS figures; 0 for none
}

// echoResult is what one echo run measured. Counts and latencies cover the
// measured window only; BytesSent and BytesVerified cover the whole run,
// warm-up and drain included, and are equal when the run succeeded.
type echoResult struct {
	Window        time.Duration
	Msgs          uint64  // echoes completed inside the window
	MsgsPerSec    float64 // Msgs / Window
	MiBPerSec     float64 // echoed payload, one direction
	Latency       *Histogram
	BytesSent     uint64
	BytesVerified uint64
	ServerCPU     time.Duration // server utime+stime during the window; -1 if unknown
	ServerMem     procstat.Mem  // at the end of the window; zero if unknown
	ClientCPU     time.Duration // this process during the window; -1 if unknown
}

// CPUPerMsg is the server CPU time per echoed message, or -1 if unknown.
func (r *echoResult) CPUPerMsg() time.Duration {
	if r.ServerCPU < 0 || r.Msgs == 0 {
		return -1
	}
	return r.ServerCPU / time.Duration(r.Msgs)
}

func (c *echoConfig) validate() error {
	switch {
	case c.Conns < 1:
		return errors.New("echo: need at least one connection")
	case c.Size < 1:
		return errors.New("echo: message size must be positive")
	case c.InFlight < 1:
		return errors.New("echo: need at least one message in flight")
	case c.Duration <= 0:
		return errors.New("echo: duration must be positive")
	case c.Warmup < 0:
		return errors.New("echo: negative warm-up")
	}
	if c.Drain <= 0 {
		c.Drain = 3 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	return nil
}

// syncWriteLimit is the most bytes a connection may have in flight while
// one goroutine both writes and reads it. Below it the kernel socket buffers
// on both ends can always hold everything outstanding, so a blocking Write
// cannot wait on a Read of the same goroutine. Above it writes move to a
// second goroutine.
const syncWriteLimit = 64 << 10

// runEcho dials cfg.Conns connections and keeps cfg.InFlight messages
// outstanding on each: every time echoes complete, that many new messages
// go out in one write. Every echoed byte is compared with what was sent.
func runEcho(cfg echoConfig) (*echoResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	conns, err := dialAll(cfg.Addr, cfg.Conns, cfg.DialTimeout)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	t0 := start.Add(cfg.Warmup)
	t1 := t0.Add(cfg.Duration)
	workers := make([]*echoWorker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := &echoWorker{id: i, c: c, size: cfg.Size, k: cfg.InFlight, t0: t0, t1: t1, deadline: t1.Add(cfg.Drain), hist: newHistogram()}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}

	res := &echoResult{Latency: newHistogram(), ServerCPU: -1, ClientCPU: -1}
	time.Sleep(time.Until(t0))
	srv0, srvErr := cpuOf(cfg.PID)
	cli0, cliErr := procstat.ReadCPU(os.Getpid())
	time.Sleep(time.Until(t1))
	srv1, srvErr1 := cpuOf(cfg.PID)
	cli1, cliErr1 := procstat.ReadCPU(os.Getpid())
	if cfg.PID > 0 {
		if m, err := procstat.ReadMem(cfg.PID); err == nil {
			res.ServerMem = m
		}
	}
	if cfg.PID > 0 && srvErr == nil && srvErr1 == nil {
		res.ServerCPU = srv1 - srv0
	}
	if cliErr == nil && cliErr1 == nil {
		res.ClientCPU = cli1 - cli0
	}

	// Workers stop on their own by the drain deadline; this is a backstop.
	if !waitTimeout(&wg, cfg.Drain+2*time.Second) {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}
	for _, c := range conns {
		_ = c.Close()
	}

	var errs []error
	failed := 0
	for _, w := range workers {
		res.Msgs += w.msgs
		res.BytesSent += w.sent
		res.BytesVerified += w.verified
		res.Latency.Merge(w.hist)
		if w.err != nil {
			failed++
			if len(errs) < 3 {
				errs = append(errs, fmt.Errorf("conn %d: %w", w.id, w.err))
			}
		}
	}
	res.Window = cfg.Duration
	res.MsgsPerSec = float64(res.Msgs) / cfg.Duration.Seconds()
	res.MiBPerSec = float64(res.Msgs) * float64(cfg.Size) / cfg.Duration.Seconds() / (1 << 20)
	if failed > 0 {
		return res, fmt.Errorf("echo: %d of %d conns failed: %w", failed, len(workers), errors.Join(errs...))
	}
	if res.BytesVerified != res.BytesSent {
		return res, fmt.Errorf("echo: sent %d bytes but verified %d", res.BytesSent, res.BytesVerified)
	}
	if res.Msgs == 0 {
		return res, errors.New("echo: no message completed in the measured window")
	}
	return res, nil
}

func cpuOf(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	return procstat.ReadCPU(pid)
}

// dialAll opens n TCP connections to addr, one after another.
func dialAll(addr string, n int, timeout time.Duration) ([]net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, fmt.Errorf("dial %s (conn %d of %d): %w", addr, i+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// echoWorker drives one connection.
type echoWorker struct {
	id       int
	c        net.Conn
	size, k  int
	t0, t1   time.Time // measured window
	deadline time.Time // nothing may outlast this
	hist     *Histogram

	msgs     uint64 // completed in the window
	sent     uint64 // bytes written (or handed to the writer)
	verified uint64 // bytes read back and matched
	err      error
}

func (w *echoWorker) run() {
	w.err = w.loop()
}

func (w *echoWorker) loop() (err error) {
	if err := w.c.SetDeadline(w.deadline); err != nil {
		return err
	}
	size, k := w.size, w.k
	base := pattern.StreamBase(w.id)

	// Send times of the outstanding messages, oldest at head.
	ring := make([]time.Time, k)
	head, count := 0, 0

	// Writes happen inline when everything in flight fits in the socket
	// buffers, otherwise on a writer goroutine fed with message counts.
	var send func(n int) error
	var reqs chan int
	var writerDone chan error
	if k*size <= syncWriteLimit {
		wbuf := make([]byte, k*size)
		var off uint64
		send = func(n int) error {
			b := wbuf[:n*size]
			pattern.Fill(b, base+off)
			off += uint64(len(b))
			_, err := w.c.Write(b)
			return err
		}
	} else {
		reqs = make(chan int, k) // at most k requests: each is >= 1 in-flight message
		writerDone = make(chan error, 1)
		go func() {
			writerDone <- w.writer(reqs, base)
		}()
		send = func(n int) error {
			reqs <- n
			return nil
		}
		defer func() {
			close(reqs)
			if werr := <-writerDone; werr != nil && err == nil {
				err = fmt.Errorf("write: %w", werr)
			}
		}()
	}
	push := func(n int, now time.Time) error {
		for i := 0; i < n; i++ {
			ring[(head+count)%k] = now
			count++
		}
		w.sent += uint64(n * size)
		return send(n)
	}

	if err := push(k, time.Now()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	rbuf := make([]byte, min(k*size, 256<<10))
	var done uint64 // messages completed
	for count > 0 {
		n, err := w.c.Read(rbuf)
		if n > 0 {
			if ok, at := pattern.Check(rbuf[:n], base+w.verified); !ok {
				return fmt.Errorf("echoed byte %d differs from what was sent", w.verified+uint64(at))
			}
			w.verified += uint64(n)
			if w.verified > w.sent {
				return fmt.Errorf("received %d bytes, only %d sent", w.verified, w.sent)
			}
		}
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("server closed the connection with %d messages outstanding", count)
			}
			return fmt.Errorf("read with %d messages outstanding: %w", count, err)
		}
		completed := int(w.verified/uint64(size) - done)
		if completed == 0 {
			continue
		}
		done += uint64(completed)
		now := time.Now()
		inWindow := !now.Before(w.t0) && now.Before(w.t1)
		for i := 0; i < completed; i++ {
			if inWindow {
				w.hist.Record(now.Sub(ring[head]))
			}
			head = (head + 1) % k
			count--
		}
		if inWindow {
			w.msgs += uint64(completed)
		}
		if now.Before(w.t1) {
			if err := push(completed, now); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
	return nil
}

// writer writes the messages requested on reqs until reqs is closed. On a
// write error it closes the connection so that the reading side stops too.
func (w *echoWorker) writer(reqs <-chan int, base uint64) error {
	buf := make([]byte, w.k*w.size)
	var off uint64
	for n := range reqs {
		b := buf[:n*w.size]
		pattern.Fill(b, base+off)
		off += uint64(len(b))
		if _, err := w.c.Write(b); err != nil {
			_ = w.c.Close()
			for range reqs { // let the reader finish; it will fail on the closed conn
			}
			return err
		}
	}
	return nil
}
