package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/evloop/evloop/bench/internal/procstat"
	"github.com/evloop/evloop/bench/internal/rlimit"
)

// idleConfig describes an idle-connections run.
type idleConfig struct {
	Addr        string
	Conns       int
	PID         int           // server process; required
	Settle      time.Duration // wait before each RSS reading
	DialTimeout time.Duration
	Timeout     time.Duration // bound on the whole run
	NoPing      bool          // skip the one-byte echo on each conn
}

// idleResult is the server's memory cost of holding idle connections.
type idleResult struct {
	Conns     int
	RSSBefore int64   // bytes, before any connection
	RSSAfter  int64   // bytes, with Conns connections open and idle
	PerConn   float64 // (RSSAfter - RSSBefore) / Conns, bytes
	Open      time.Duration
}

// runIdle reads the server's RSS, opens cfg.Conns connections and holds them
// with no goroutine per connection, echoes one byte on each (so that every
// connection is known to have been accepted and served), waits cfg.Settle,
// reads RSS again, and closes them all.
func runIdle(cfg idleConfig) (*idleResult, error) {
	if cfg.Conns < 1 {
		return nil, errors.New("idle: need at least one connection")
	}
	if cfg.PID <= 0 {
		return nil, errors.New("idle: need the server's pid to read its RSS")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 300 * time.Millisecond
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if lim, err := rlimit.RaiseNoFile(uint64(cfg.Conns) + 256); err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	} else if lim < uint64(cfg.Conns)+64 {
		return nil, fmt.Errorf("idle: open-file limit %d is too low for %d conns", lim, cfg.Conns)
	}
	deadline := time.Now().Add(cfg.Timeout)

	time.Sleep(cfg.Settle)
	before, err := procstat.ReadMem(cfg.PID)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}

	begin := time.Now()
	d := net.Dialer{Timeout: cfg.DialTimeout, Deadline: deadline}
	conns := make([]net.Conn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := 0; i < cfg.Conns; i++ {
		c, err := d.Dial("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("idle: dial conn %d of %d: %w", i+1, cfg.Conns, err)
		}
		conns = append(conns, c)
	}
	if !cfg.NoPing {
		// Write to all first, then read from all: one round trip of latency
		// in total rather than one per connection.
		ping := []byte{0}
		for i, c := range conns {
			ping[0] = byte(i)
			_ = c.SetDeadline(deadline)
			if _, err := c.Write(ping); err != nil {
				return nil, fmt.Errorf("idle: ping conn %d: %w", i, err)
			}
		}
		pong := make([]byte, 1)
		for i, c := range conns {
			if _, err := io.ReadFull(c, pong); err != nil {
				return nil, fmt.Errorf("idle: pong conn %d: %w", i, err)
			}
			if pong[0] != byte(i) {
				return nil, fmt.Errorf("idle: conn %d echoed %#x, sent %#x", i, pong[0], byte(i))
			}
		}
	}
	open := time.Since(begin)

	time.Sleep(cfg.Settle)
	after, err := procstat.ReadMem(cfg.PID)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	return &idleResult{
		Conns:     cfg.Conns,
		RSSBefore: before.RSS,
		RSSAfter:  after.RSS,
		PerConn:   float64(after.RSS-before.RSS) / float64(cfg.Conns),
		Open:      open,
	}, nil
}
