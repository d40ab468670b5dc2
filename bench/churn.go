package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/evloop/evloop/bench/internal/pattern"
)

// churnConfig describes a connection-churn run: each worker repeatedly
// connects, echoes one message, verifies it and closes.
type churnConfig struct {
	Addr        string
	Workers     int
	Size        int
	Warmup      time.Duration
	Duration    time.Duration
	DialTimeout time.Duration
	IOTimeout   time.Duration // per connection, connect to close
}

// churnResult counts the connections completed inside the measured window.
type churnResult struct {
	Conns         uint64 // connect + echo + close cycles completed in the window
	ConnsPerSec   float64
	Latency       *Histogram // one whole cycle, window only
	Failures      uint64     // cycles that failed (dial, I/O or timeout), whole run
	FirstFailure  error
	BytesVerified uint64 // whole run
}

// runChurn runs the churn scenario. A byte that comes back different from
// what was sent fails the run; dial or I/O errors are counted in Failures and
// fail it only if more than 1% of cycles failed.
func runChurn(cfg churnConfig) (*churnResult, error) {
	if cfg.Workers < 1 || cfg.Size < 1 || cfg.Duration <= 0 {
		return nil, errors.New("churn: need workers >= 1, size >= 1, duration > 0")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.IOTimeout <= 0 {
		cfg.IOTimeout = 2 * time.Second
	}
	start := time.Now()
	t0 := start.Add(cfg.Warmup)
	t1 := t0.Add(cfg.Duration)

	type worker struct {
		conns, fails, verified uint64
		hist                   *Histogram
		firstFail, mismatch    error
	}
	ws := make([]*worker, cfg.Workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{hist: newHistogram()}
		ws[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: cfg.DialTimeout}
			wbuf := make([]byte, cfg.Size)
			rbuf := make([]byte, cfg.Size)
			base := pattern.StreamBase(i)
			// Bounded by time: every cycle takes at most DialTimeout+IOTimeout,
			// and no cycle starts after t1.
			for seq := uint64(0); ; seq++ {
				begin := time.Now()
				if !begin.Before(t1) {
					return
				}
				off := base + seq*uint64(cfg.Size)
				n, err := churnOnce(&d, cfg.Addr, wbuf, rbuf, off, cfg.IOTimeout)
				w.verified += uint64(n)
				if err != nil {
					if errors.Is(err, errMismatch) {
						w.mismatch = err
						return
					}
					w.fails++
					if w.firstFail == nil {
						w.firstFail = err
					}
					time.Sleep(time.Millisecond) // do not spin on a refusing server
					continue
				}
				now := time.Now()
				if !now.Before(t0) && now.Before(t1) {
					w.conns++
					w.hist.Record(now.Sub(begin))
				}
			}
		}()
	}
	wg.Wait()

	res := &churnResult{Latency: newHistogram()}
	var mismatch error
	var total uint64
	for _, w := range ws {
		res.Conns += w.conns
		res.Failures += w.fails
		res.BytesVerified += w.verified
		res.Latency.Merge(w.hist)
		if res.FirstFailure == nil {
			res.FirstFailure = w.firstFail
		}
		if mismatch == nil {
			mismatch = w.mismatch
		}
		total += w.conns + w.fails
	}
	res.ConnsPerSec = float64(res.Conns) / cfg.Duration.Seconds()
	switch {
	case mismatch != nil:
		return res, fmt.Errorf("churn: %w", mismatch)
	case res.Conns == 0:
		return res, fmt.Errorf("churn: no connection completed in the window (%d failed, first: %v)", res.Failures, res.FirstFailure)
	case res.Failures*100 > total:
		return res, fmt.Errorf("churn: %d of %d cycles failed, first: %w", res.Failures, total, res.FirstFailure)
	}
	return res, nil
}

var errMismatch = errors.New("echoed bytes differ from what was sent")

// churnOnce connects, sends one message from the pattern at off, reads the
// echo back, verifies it and closes. It returns the bytes verified.
func churnOnce(d *net.Dialer, addr string, wbuf, rbuf []byte, off uint64, ioTimeout time.Duration) (int, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return 0, err
	}
	pattern.Fill(wbuf, off)
	if _, err := c.Write(wbuf); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(c, rbuf)
	if ok, at := pattern.Check(rbuf[:n], off); !ok {
		return at, fmt.Errorf("%w at byte %d of %d", errMismatch, at, len(rbuf))
	}
	return n, err
}
