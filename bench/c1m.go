package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evloop/evloop/bench/internal/procstat"
)

// The c1m scenario opens N conns to one server, holds them, and has a small
// fraction of them exchange a message every second; see bench/README.md.

// parseCounts parses a comma-separated list of conn counts such as
// "10000,100000" or "10k,250k,1M" (k = 1,000, M = 1,000,000) and returns
// them ascending without duplicates.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(f, "k") || strings.HasSuffix(f, "K"):
			mult, f = 1000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"):
			mult, f = 1000000, f[:len(f)-1]
		}
		v, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || v < 1 || v > math.MaxInt32/mult {
			return nil, fmt.Errorf("conn count %q: want a positive number such as 10000, 10k or 1M", f)
		}
		out = append(out, v*mult)
	}
	if len(out) == 0 {
		return nil, errors.New("no conn counts given")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// shortCount writes a conn count compactly: 1000000 -> "1M", 250000 -> "250k".
func shortCount(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// c1mConfig describes one c1m run.
type c1mConfig struct {
	holdConfig
	PID    int           // server process; required for RSS and CPU
	Hold   time.Duration // how long the active fraction exchanges messages
	Drain  time.Duration // how long its last echoes may take after that
	Settle time.Duration // wait before each memory reading
	// Stop sends the server SIGTERM and waits for it to exit, with all conns
	// still open, and returns how long that took and the CPU time the server
	// used over its whole life (-1 if unknown); nil leaves the server
	// running.
	Stop func() (took, lifetimeCPU time.Duration, err error)
	// PeerHolds keeps the client's ends open while the server stops, as
	// clients that never read would; by default each end closes once the
	// server has closed its own, as most clients do.
	PeerHolds bool
}

// c1mResult is what one c1m run measured. Memory readings are in bytes.
type c1mResult struct {
	Conns      int
	Accept     time.Duration // first connect until every conn had echoed a byte
	AcceptCPU  time.Duration // server CPU while accepting; -1 if unknown
	ClientCPU  time.Duration // this process's CPU while opening; -1 if unknown
	RSSBefore  int64         // server VmRSS before the first conn
	RSSHeld    int64         // with every conn open, before the exchange
	RSSEnd     int64         // after the exchange
	SysBefore  sysMem
	SysHeld    sysMem
	SysOK      bool          // the /proc readings worked
	ServerCPU  time.Duration // during the exchange; -1 if unknown
	Window     time.Duration // the exchange, drain included
	Exchange   *exchangeResult
	StopTime   time.Duration // SIGTERM until exit; -1 if not measured
	StopCPU    time.Duration // server CPU from SIGTERM to exit; -1 if not measured
	StopErr    error
	PeerEOF    int64   // conns that ended with the server's FIN while it stopped
	PeerReset  int64   // conns that ended with an error (a reset) while it stopped
	ClientConn float64 // this process's VmRSS growth per conn, bytes
}

// RSSPerConn is the server's RSS growth per held conn, in bytes.
func (r *c1mResult) RSSPerConn() float64 {
	return float64(r.RSSHeld-r.RSSBefore) / float64(r.Conns)
}

// kernelPerConn is growth of a machine-wide figure per conn (both ends).
func (r *c1mResult) kernelPerConn(f func(sysMem) int64) float64 {
	if !r.SysOK {
		return math.NaN()
	}
	return float64(f(r.SysHeld)-f(r.SysBefore)) / float64(r.Conns)
}

// runC1M opens and holds cfg.Conns conns, measures the server while they are
// open and while the active ones exchange messages, then (with cfg.Stop)
// stops the server while every conn is still open.
func runC1M(cfg c1mConfig) (*c1mResult, error) {
	if cfg.PID <= 0 {
		return nil, errors.New("c1m: need the server's pid")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = time.Second
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 10 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 3 * time.Second
	}
	r := &c1mResult{Conns: cfg.Conns, ServerCPU: -1, StopTime: -1, StopCPU: -1, AcceptCPU: -1, ClientCPU: -1}
	time.Sleep(cfg.Settle)
	before, err := procstat.ReadMem(cfg.PID)
	if err != nil {
		return nil, fmt.Errorf("c1m: %w", err)
	}
	self0, _ := procstat.ReadMem(os.Getpid())
	r.RSSBefore = before.RSS
	sys0, sysErr0 := readSysMem()

	srv0, srvErr0 := cpuOf(cfg.PID)
	cli0, cliErr0 := procstat.ReadCPU(os.Getpid())
	h, err := openHolder(cfg.holdConfig)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r.Accept = h.Opened
	srv1, srvErr1 := cpuOf(cfg.PID)
	cli1, cliErr1 := procstat.ReadCPU(os.Getpid())
	if srvErr0 == nil && srvErr1 == nil {
		r.AcceptCPU = srv1 - srv0
	}
	if cliErr0 == nil && cliErr1 == nil {
		r.ClientCPU = cli1 - cli0
	}

	time.Sleep(cfg.Settle)
	held, err := procstat.ReadMem(cfg.PID)
	if err != nil {
		return nil, fmt.Errorf("c1m: %w", err)
	}
	r.RSSHeld = held.RSS
	sys1, sysErr1 := readSysMem()
	r.SysBefore, r.SysHeld, r.SysOK = sys0, sys1, sysErr0 == nil && sysErr1 == nil
	if self1, err := procstat.ReadMem(os.Getpid()); err == nil && self0.RSS > 0 {
		r.ClientConn = float64(self1.RSS-self0.RSS) / float64(cfg.Conns)
	}

	cpu0, cpuErr0 := cpuOf(cfg.PID)
	begin := time.Now()
	ex, err := h.exchange(cfg.Hold, cfg.Drain)
	r.Window = time.Since(begin)
	cpu1, cpuErr1 := cpuOf(cfg.PID)
	if err != nil {
		return nil, err
	}
	r.Exchange = ex
	if cpuErr0 == nil && cpuErr1 == nil {
		r.ServerCPU = cpu1 - cpu0
	}
	if end, err := procstat.ReadMem(cfg.PID); err == nil {
		r.RSSEnd = end.RSS
	}
	if cfg.Stop != nil {
		var pc *peerCloser
		if !cfg.PeerHolds {
			pc = h.closeOnEOF()
		}
		before, cpuErr := cpuOf(cfg.PID)
		var total time.Duration
		r.StopTime, total, r.StopErr = cfg.Stop()
		if cpuErr == nil && total >= 0 {
			r.StopCPU = max(total-before, 0)
		}
		if pc != nil {
			// The server is gone: the rest arrive at once or never.
			var err error
			r.PeerEOF, r.PeerReset, err = pc.wait(h, 2*time.Second)
			if err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// c1mMetrics are the rows of the table for N conns, keyed "c1m-<N>.<name>".
func c1mMetrics(n int) []metric {
	key := "c1m-" + shortCount(n)
	label := fmt.Sprintf("c1m, %s conns", groupDigits(int64(n)))
	return []metric{
		{Key: key + ".rss", Label: label, Unit: "server RSS KiB/conn", Better: LowerBetter, Digits: 3},
		{Key: key + ".rssmib", Label: label, Unit: "server RSS MiB, all held", Better: LowerBetter, Digits: 1},
		{Key: key + ".tcpmem", Label: label, Unit: "kernel TCP buffers KiB/conn (sockstat mem, both ends)", Better: Neutral, Digits: 3},
		{Key: key + ".slab", Label: label, Unit: "kernel slab KiB/conn (both ends, machine-wide)", Better: LowerBetter, Digits: 2},
		{Key: key + ".accept", Label: label, Unit: "time to accept all s", Better: LowerBetter, Digits: 2},
		{Key: key + ".acceptcpu", Label: label, Unit: "server CPU µs per accepted conn", Better: LowerBetter, Digits: 1},
		{Key: key + ".overflows", Label: label, Unit: "accept-queue overflows (machine-wide)", Better: Neutral, Digits: -1},
		{Key: key + ".p50", Label: label, Unit: "active p50 latency ms", Better: LowerBetter, Digits: 3},
		{Key: key + ".p99", Label: label, Unit: "active p99 latency ms", Better: LowerBetter, Digits: 3},
		{Key: key + ".cpu", Label: label, Unit: "server CPU % of a core, holding", Better: LowerBetter, Digits: 1},
		{Key: key + ".stop", Label: label, Unit: "server exit after SIGTERM s", Better: LowerBetter, Digits: 2},
		{Key: key + ".stopcpu", Label: label, Unit: "server CPU µs per conn, SIGTERM to exit", Better: LowerBetter, Digits: 1},
	}
}

// c1mValues turns a result into the table's values.
func c1mValues(r *c1mResult) map[string]float64 {
	key := "c1m-" + shortCount(r.Conns)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	v := map[string]float64{
		key + ".rss":    r.RSSPerConn() / 1024,
		key + ".rssmib": mib(r.RSSHeld),
		key + ".tcpmem": r.kernelPerConn(func(m sysMem) int64 { return m.TCPMem }) / 1024,
		key + ".slab":   r.kernelPerConn(func(m sysMem) int64 { return m.Slab }) / 1024,
		key + ".accept": r.Accept.Seconds(),
	}
	if r.SysOK {
		v[key+".overflows"] = float64(r.SysHeld.ListenOverflows - r.SysBefore.ListenOverflows)
	}
	if r.Exchange != nil && r.Exchange.Latency.Count() > 0 {
		v[key+".p50"] = ms(r.Exchange.Latency.Quantile(0.50))
		v[key+".p99"] = ms(r.Exchange.Latency.Quantile(0.99))
	}
	if r.AcceptCPU >= 0 {
		v[key+".acceptcpu"] = float64(r.AcceptCPU) / float64(time.Microsecond) / float64(r.Conns)
	}
	if r.ServerCPU >= 0 && r.Window > 0 {
		v[key+".cpu"] = 100 * r.ServerCPU.Seconds() / r.Window.Seconds()
	}
	if r.StopTime >= 0 && r.StopErr == nil {
		v[key+".stop"] = r.StopTime.Seconds()
	}
	if r.StopCPU >= 0 && r.StopErr == nil {
		v[key+".stopcpu"] = float64(r.StopCPU) / float64(time.Microsecond) / float64(r.Conns)
	}
	return v
}

// c1mSummary is the progress line for one run.
func c1mSummary(r *c1mResult) string {
	s := fmt.Sprintf("%s conns accepted in %v (server CPU %v, client CPU %v); server RSS %.1f → %.1f MiB (%.3f KiB/conn), %.1f MiB after the exchange",
		groupDigits(int64(r.Conns)), r.Accept.Round(time.Millisecond), r.AcceptCPU, r.ClientCPU, mib(r.RSSBefore), mib(r.RSSHeld), r.RSSPerConn()/1024, mib(r.RSSEnd))
	if r.SysOK {
		s += fmt.Sprintf("; kernel: TCP sockets %d → %d, TCP mem %.1f → %.1f MiB, slab %.1f → %.1f MiB, accept-queue overflows %d",
			r.SysBefore.TCPInUse, r.SysHeld.TCPInUse, mib(r.SysBefore.TCPMem), mib(r.SysHeld.TCPMem), mib(r.SysBefore.Slab), mib(r.SysHeld.Slab),
			r.SysHeld.ListenOverflows-r.SysBefore.ListenOverflows)
	}
	if r.ClientConn > 0 {
		s += fmt.Sprintf("; client %.0f B/conn", r.ClientConn)
	}
	if ex := r.Exchange; ex != nil {
		s += fmt.Sprintf("; %d messages, %d sends skipped (echo late), p50 %v p99 %v max %v",
			ex.Sent, ex.Missed, us(ex.Latency.Quantile(0.5)), us(ex.Latency.Quantile(0.99)), us(ex.Latency.Quantile(1)))
		if ex.Lag != nil {
			s += fmt.Sprintf(" (the client's own send lag p99 %v)", us(ex.Lag.Quantile(0.99)))
		}
	}
	s += "; server CPU " + cpuShare(r.ServerCPU, r.Window)
	if r.StopTime >= 0 {
		s += fmt.Sprintf("; exit %v after SIGTERM (server CPU %v)", r.StopTime.Round(time.Millisecond), r.StopCPU)
	}
	if r.StopErr != nil {
		s += fmt.Sprintf(" (%v)", r.StopErr)
	}
	if r.PeerEOF+r.PeerReset > 0 {
		s += fmt.Sprintf(", conns ended by FIN %d, by reset %d", r.PeerEOF, r.PeerReset)
	}
	return s
}

// c1mScenarios is one scenario per conn count, ascending, all in group
// "c1m": a server that fails at one count is not tried at larger ones.
func c1mScenarios(o *options) []*scenario {
	var out []*scenario
	for _, n := range o.c1mConns {
		out = append(out, &scenario{
			Key:     "c1m",
			Group:   "c1m",
			Size:    n,
			Title:   fmt.Sprintf("c1m: %s conns held, %g%% exchange %d B once a second for %v", groupDigits(int64(n)), 100*o.c1mActive, o.size, o.c1mHold),
			Metrics: c1mMetrics(n),
			Run: func(o *options, s *server) (map[string]float64, error) {
				r, err := runC1M(c1mConfig{
					holdConfig: o.holdConfig(s.Addr, n),
					PID:        s.PID,
					Hold:       o.c1mHold,
					Drain:      o.drain,
					Stop: func() (time.Duration, time.Duration, error) {
						took, err := s.terminate(o.c1mStopTimeout)
						return took, s.lifetimeCPU(), err
					},
					PeerHolds: o.c1mPeerHolds,
				})
				if err != nil {
					return nil, err
				}
				o.logf("    %s", c1mSummary(r))
				return c1mValues(r), nil
			},
		})
	}
	return out
}

// holdConfig is the holder's configuration from the flags.
func (o *options) holdConfig(addr string, n int) holdConfig {
	return holdConfig{Addr: addr, Conns: n, Active: o.c1mActive, Size: o.size, Workers: o.c1mWorkers,
		PerIP: o.c1mPerIP, Window: o.c1mWindow, Timeout: o.c1mOpenTimeout}
}
