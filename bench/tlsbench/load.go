//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/bench/internal/pattern"
	"github.com/evloop/evloop/bench/internal/procstat"
)

// clientConfig makes full handshakes: the servers' certificates are
// ephemeral (so not verified) and no session cache means no resumption.
func clientConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
}

func dialTLS(ctx context.Context, addr string) (*tls.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: clientConfig()}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

// echoParams describe one echo run.
type echoParams struct {
	addr             string
	pid              int
	conns, size, in  int
	warmup, duration time.Duration
	drain            time.Duration
}

// echoResult is what an echo run measured over its window.
type echoResult struct {
	msgsPerSec float64
	cpuPerMsg  time.Duration // server CPU per echoed message
	bytes      int64         // bytes verified in all, warm-up and drain included
}

// runEcho keeps p.in messages of p.size bytes in flight on each of p.conns
// TLS conns, verifies every echoed byte and counts the echoes completed in
// the window after the warm-up.
func runEcho(p echoParams) (echoResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns := make([]*tls.Conn, 0, p.conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range p.conns {
		c, err := dialTLS(ctx, p.addr)
		if err != nil {
			return echoResult{}, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
	}
	var count, verified atomic.Int64
	var stop atomic.Bool
	errs := make(chan error, p.conns)
	var wg sync.WaitGroup
	deadline := time.Now().Add(p.warmup + p.duration + p.drain)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoConn(c, i, p, deadline, &stop, &count, &verified)
		}()
	}
	time.Sleep(p.warmup)
	n0, cpu0 := count.Load(), cpuOf(p.pid)
	t0 := time.Now()
	time.Sleep(p.duration)
	n1, cpu1 := count.Load(), cpuOf(p.pid)
	window := time.Since(t0)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return echoResult{}, err
		}
	}
	msgs := n1 - n0
	if msgs <= 0 {
		return echoResult{}, errors.New("no echoes in the window")
	}
	r := echoResult{msgsPerSec: float64(msgs) / window.Seconds(), bytes: verified.Load()}
	if cpu0 >= 0 && cpu1 >= 0 {
		r.cpuPerMsg = (cpu1 - cpu0) / time.Duration(msgs)
	} else {
		r.cpuPerMsg = -1
	}
	return r, nil
}

// cpuOf is the server's CPU time, or -1 when it cannot be read.
func cpuOf(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	d, err := procstat.ReadCPU(pid)
	if err != nil {
		return -1
	}
	return d
}

// echoConn is one conn's loop: p.in messages out, then one more for each
// echo that comes back until stop, then drain what is still in flight.
func echoConn(c *tls.Conn, id int, p echoParams, deadline time.Time, stop *atomic.Bool, count, verified *atomic.Int64) error {
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	out := make([]byte, p.size)
	in := make([]byte, p.size)
	sendOff, recvOff := pattern.StreamBase(id), pattern.StreamBase(id)
	send := func() error {
		pattern.Fill(out, sendOff)
		sendOff += uint64(p.size)
		_, err := c.Write(out)
		return err
	}
	outstanding := 0
	for range p.in {
		if err := send(); err != nil {
			return fmt.Errorf("conn %d: write: %w", id, err)
		}
		outstanding++
	}
	for outstanding > 0 {
		if _, err := io.ReadFull(c, in); err != nil {
			return fmt.Errorf("conn %d: read at stream offset %d: %w", id, recvOff-pattern.StreamBase(id), err)
		}
		if ok, at := pattern.Check(in, recvOff); !ok {
			return fmt.Errorf("conn %d: echoed byte %d differs from the byte sent", id, recvOff-pattern.StreamBase(id)+uint64(at))
		}
		recvOff += uint64(p.size)
		outstanding--
		count.Add(1)
		verified.Add(int64(p.size))
		if !stop.Load() {
			if err := send(); err != nil {
				return fmt.Errorf("conn %d: write: %w", id, err)
			}
			outstanding++
		}
	}
	return nil
}

// oneEcho sends size pattern bytes on c and checks that they come back.
func oneEcho(c *tls.Conn, id, size int, buf []byte) error {
	out, in := buf[:size], buf[size:2*size]
	pattern.Fill(out, pattern.StreamBase(id))
	if _, err := c.Write(out); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, in); err != nil {
		return err
	}
	if ok, at := pattern.Check(in, pattern.StreamBase(id)); !ok {
		return fmt.Errorf("echoed byte %d differs from the byte sent", at)
	}
	return nil
}

// idleResult is what an idle run measured.
type idleResult struct {
	kibPerConn float64
	before     int64 // server VmRSS KiB before the first conn
	after      int64 // with every conn open and settled
}

// runIdle opens n TLS conns with a few dialing workers, echoes one byte on
// each (so every handshake has finished and the server holds the conn),
// waits settle and reports the server's VmRSS growth per conn.
func runIdle(addr string, pid, n, workers int, settle time.Duration) (idleResult, error) {
	time.Sleep(settle)
	before, err := rssKiB(pid)
	if err != nil {
		return idleResult{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conns := make([]*tls.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			buf := make([]byte, 2)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errs <- nil
					return
				}
				c, err := dialTLS(ctx, addr)
				if err != nil {
					errs <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
				conns[i] = c
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := oneEcho(c, i, 1, buf); err != nil {
					errs <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
				_ = c.SetDeadline(time.Time{})
			}
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			cancel()
			return idleResult{}, err
		}
	}
	time.Sleep(settle)
	after, err := rssKiB(pid)
	if err != nil {
		return idleResult{}, err
	}
	return idleResult{kibPerConn: float64(after-before) / float64(n), before: before, after: after}, nil
}

// hsResult is what a handshake run measured over its window.
type hsResult struct {
	perSec    float64
	cpuPerOne time.Duration // server CPU per cycle
}

// runHandshakes runs workers loops of: dial, full handshake, echo size
// bytes, close (with close_notify); it counts cycles in the window after
// the warm-up. Errors above 1% of cycles fail the run.
func runHandshakes(addr string, pid, workers, size int, warmup, duration time.Duration) (hsResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var count, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2*size)
			for i := w; ctx.Err() == nil; i += workers {
				err := handshakeCycle(ctx, addr, i, size, buf)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				count.Add(1)
			}
		}()
	}
	time.Sleep(warmup)
	n0, f0, cpu0 := count.Load(), failed.Load(), cpuOf(pid)
	t0 := time.Now()
	time.Sleep(duration)
	n1, f1, cpu1 := count.Load(), failed.Load(), cpuOf(pid)
	window := time.Since(t0)
	cancel()
	wg.Wait()
	n, f := n1-n0, f1-f0
	if n <= 0 || f*100 > n+f {
		return hsResult{}, fmt.Errorf("%d of %d cycles failed; first: %v", f, n+f, firstErr.Load())
	}
	r := hsResult{perSec: float64(n) / window.Seconds(), cpuPerOne: -1}
	if cpu0 >= 0 && cpu1 >= 0 {
		r.cpuPerOne = (cpu1 - cpu0) / time.Duration(n)
	}
	return r, nil
}

func handshakeCycle(ctx context.Context, addr string, id, size int, buf []byte) error {
	c, err := dialTLS(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return oneEcho(c, id, size, buf)
}

// rssKiB is the process's VmRSS in KiB.
func rssKiB(pid int) (int64, error) {
	m, err := procstat.ReadMem(pid)
	return m.RSS >> 10, err
}
