package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/evloop/evloop/bench/internal/pattern"
	"github.com/evloop/evloop/bench/internal/procstat"
)

// slowConfig describes a slow-reader run: one connection writes Bytes as
// fast as the server takes them while the reading side first reads only
// SlowChunk bytes every SlowInterval for SlowPhase, then reads at full speed.
type slowConfig struct {
	Addr         string
	Bytes        int64
	SlowPhase    time.Duration
	SlowChunk    int
	SlowInterval time.Duration
	Timeout      time.Duration // bound on the whole run
	DialTimeout  time.Duration
	PID          int // server process for RSS figures; 0 for none
}

// slowResult says whether every byte came back in order and what holding
// them cost the server.
type slowResult struct {
	Sent, Verified int64
	Elapsed        time.Duration
	RSSBefore      int64 // server VmRSS before the run, bytes (0 if unknown)
	PeakRSS        int64 // server VmHWM after the run, bytes (0 if unknown)
	SampledPeak    int64 // highest VmRSS seen while sampling every 20ms
}

func runSlow(cfg slowConfig) (*slowResult, error) {
	if cfg.Bytes <= 0 {
		return nil, errors.New("slow: byte count must be positive")
	}
	if cfg.SlowChunk <= 0 {
		cfg.SlowChunk = 4 << 10
	}
	if cfg.SlowInterval <= 0 {
		cfg.SlowInterval = 10 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	res := &slowResult{}
	if cfg.PID > 0 {
		if m, err := procstat.ReadMem(cfg.PID); err == nil {
			res.RSSBefore = m.RSS
		}
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, cfg.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("slow: %w", err)
	}
	defer c.Close()
	begin := time.Now()
	deadline := begin.Add(cfg.Timeout)
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("slow: %w", err)
	}

	// Sample the server's RSS while the run lasts.
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	if cfg.PID > 0 {
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				if m, err := procstat.ReadMem(cfg.PID); err == nil {
					res.SampledPeak = max(res.SampledPeak, m.RSS)
				}
				select {
				case <-stopSampling:
					return
				case <-t.C:
				}
			}
		}()
	}

	var sent int64
	writeErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		var off int64
		for off < cfg.Bytes {
			n := int(min(int64(len(buf)), cfg.Bytes-off))
			pattern.Fill(buf[:n], uint64(off))
			m, err := c.Write(buf[:n])
			off += int64(m)
			if err != nil {
				sent = off
				writeErr <- err
				return
			}
		}
		sent = off
		writeErr <- nil
	}()

	readErr := func() error {
		buf := make([]byte, 256<<10)
		slowEnd := begin.Add(cfg.SlowPhase)
		for res.Verified < cfg.Bytes {
			now := time.Now()
			if now.After(deadline) {
				return fmt.Errorf("timed out after %v with %d of %d bytes verified", cfg.Timeout, res.Verified, cfg.Bytes)
			}
			want := len(buf)
			if now.Before(slowEnd) {
				time.Sleep(cfg.SlowInterval)
				want = cfg.SlowChunk
			}
			want = int(min(int64(want), cfg.Bytes-res.Verified))
			n, err := c.Read(buf[:want])
			if n > 0 {
				if ok, at := pattern.Check(buf[:n], uint64(res.Verified)); !ok {
					return fmt.Errorf("byte %d differs from what was sent", res.Verified+int64(at))
				}
				res.Verified += int64(n)
			}
			if err != nil {
				return fmt.Errorf("read after %d of %d bytes: %w", res.Verified, cfg.Bytes, err)
			}
		}
		return nil
	}()
	res.Elapsed = time.Since(begin)
	if readErr != nil {
		_ = c.Close() // unblocks the writer
	}
	werr := <-writeErr
	res.Sent = sent
	close(stopSampling)
	sampler.Wait()
	if cfg.PID > 0 {
		if m, err := procstat.ReadMem(cfg.PID); err == nil {
			res.PeakRSS = m.HWM
		}
	}
	switch {
	case readErr != nil:
		return res, fmt.Errorf("slow: %w", readErr)
	case werr != nil:
		return res, fmt.Errorf("slow: write: %w", werr)
	case res.Verified != res.Sent:
		return res, fmt.Errorf("slow: sent %d bytes, verified %d", res.Sent, res.Verified)
	}
	return res, nil
}
