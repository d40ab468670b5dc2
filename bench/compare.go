package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/evloop/evloop/bench/internal/rlimit"
)

// scenario is one column-group of the comparison: a load run against a
// freshly started server, reporting one value per metric.
type scenario struct {
	Key     string
	Group   string // a server that fails a scenario of a group skips the group's larger ones
	Size    int    // orders the scenarios of a group
	Title   string
	Metrics []metric
	Run     func(o *options, s *server) (map[string]float64, error)
}

// scenarioKeys are the scenarios "all" runs, in run order.
var scenarioKeys = []string{"echo1", "echo16", "idle", "churn", "slow"}

// optInScenarios run only when named: they need a prepared machine.
var optInScenarios = []string{"c1m"}

// selectScenarios parses -scenarios: "all" (or "") is scenarioKeys, and a
// list may also name the opt-in ones.
func selectScenarios(sel string) ([]string, error) {
	if sel == "" || sel == "all" {
		return scenarioKeys, nil
	}
	return selectKeys(sel, append(slices.Clone(scenarioKeys), optInScenarios...), "scenario")
}

func scenarios(o *options) []*scenario {
	usf := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	echo := func(key string, inflight int) *scenario {
		label := fmt.Sprintf("echo, %d in flight", inflight)
		return &scenario{
			Key:   key,
			Title: fmt.Sprintf("echo: %d conns × %d B, %d in flight per conn", o.conns, o.size, inflight),
			Metrics: []metric{
				{Key: key + ".msgs", Label: label, Unit: "msgs/s", Better: HigherBetter, Chart: true, Digits: -1},
				{Key: key + ".cpu", Label: label, Unit: "server CPU µs/msg", Better: LowerBetter, Chart: true, Digits: 2},
				{Key: key + ".p50", Label: label, Unit: "p50 latency µs", Better: LowerBetter, Digits: -1},
				{Key: key + ".p99", Label: label, Unit: "p99 latency µs", Better: LowerBetter, Digits: -1},
				{Key: key + ".p999", Label: label, Unit: "p99.9 latency µs", Better: LowerBetter, Digits: -1},
			},
			Run: func(o *options, s *server) (map[string]float64, error) {
				r, err := runEcho(echoConfig{
					Addr: s.Addr, Conns: o.conns, Size: o.size, InFlight: inflight,
					Warmup: o.warmup, Duration: o.duration, Drain: o.drain, PID: s.PID,
				})
				if err != nil {
					return nil, err
				}
				v := map[string]float64{
					key + ".msgs": r.MsgsPerSec,
					key + ".p50":  usf(r.Latency.Quantile(0.50)),
					key + ".p99":  usf(r.Latency.Quantile(0.99)),
					key + ".p999": usf(r.Latency.Quantile(0.999)),
				}
				if c := r.CPUPerMsg(); c >= 0 {
					v[key+".cpu"] = float64(r.ServerCPU) / float64(r.Msgs) / float64(time.Microsecond)
				}
				o.logf("    %s msgs/s, server CPU %v, client CPU %s, verified %d bytes",
					groupDigits(int64(r.MsgsPerSec)), r.ServerCPU, cpuShare(r.ClientCPU, r.Window), r.BytesVerified)
				return v, nil
			},
		}
	}
	return append([]*scenario{
		echo("echo1", 1),
		echo("echo16", o.inflightHigh),
		{
			Key:   "idle",
			Title: fmt.Sprintf("idle: server RSS per connection with %s idle conns", groupDigits(int64(o.idleConns))),
			Metrics: []metric{
				{Key: "idle.kib", Label: fmt.Sprintf("idle, %s conns", groupDigits(int64(o.idleConns))), Unit: "server RSS KiB/conn", Better: LowerBetter, Chart: true, Digits: 2},
			},
			Run: func(o *options, s *server) (map[string]float64, error) {
				r, err := runIdle(idleConfig{Addr: s.Addr, Conns: o.idleConns, PID: s.PID})
				if err != nil {
					return nil, err
				}
				o.logf("    RSS %.1f → %.1f MiB, opened in %v", mib(r.RSSBefore), mib(r.RSSAfter), r.Open.Round(time.Millisecond))
				return map[string]float64{"idle.kib": r.PerConn / 1024}, nil
			},
		},
		{
			Key:   "churn",
			Title: fmt.Sprintf("churn: connect, echo %d B, close; %d workers", o.size, o.churnWorkers),
			Metrics: []metric{
				{Key: "churn.cps", Label: "churn", Unit: "conns/s", Better: HigherBetter, Chart: true, Digits: -1},
			},
			Run: func(o *options, s *server) (map[string]float64, error) {
				r, err := runChurn(churnConfig{Addr: s.Addr, Workers: o.churnWorkers, Size: o.size, Warmup: o.warmup, Duration: o.duration})
				if err != nil {
					return nil, err
				}
				o.logf("    %s conns/s, %d failed cycles", groupDigits(int64(r.ConnsPerSec)), r.Failures)
				return map[string]float64{"churn.cps": r.ConnsPerSec}, nil
			},
		},
		{
			Key:   "slow",
			Title: fmt.Sprintf("slow reader: %d MiB sent, read slowly for %v first", o.slowMiB, o.slowPhase),
			Metrics: []metric{
				{Key: "slow.peak", Label: fmt.Sprintf("slow reader, %d MiB", o.slowMiB), Unit: "server peak RSS MiB", Better: LowerBetter, Chart: true, Digits: 1},
				{Key: "slow.verified", Label: fmt.Sprintf("slow reader, %d MiB", o.slowMiB), Unit: "MiB verified in order", Better: Neutral, Digits: 1},
			},
			Run: func(o *options, s *server) (map[string]float64, error) {
				r, err := runSlow(slowConfig{Addr: s.Addr, Bytes: int64(o.slowMiB) << 20, SlowPhase: o.slowPhase, PID: s.PID})
				if err != nil {
					return nil, err
				}
				o.logf("    peak RSS %.1f MiB (sampled %.1f, before %.1f), %v", mib(r.PeakRSS), mib(r.SampledPeak), mib(r.RSSBefore), r.Elapsed.Round(time.Millisecond))
				v := map[string]float64{"slow.verified": float64(r.Verified) / (1 << 20)}
				if r.PeakRSS > 0 {
					v["slow.peak"] = mib(r.PeakRSS)
				}
				return v, nil
			},
		},
	}, c1mScenarios(o)...)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// cpuShare renders CPU time over a wall-clock window as "1.2s (60% of a core)".
func cpuShare(cpu, window time.Duration) string {
	if cpu < 0 || window <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%v (%.0f%% of a core)", cpu, 100*cpu.Seconds()/window.Seconds())
}

// selectKeys parses a comma-separated selection from all; "all" or "" is
// everything. The result keeps all's order.
func selectKeys(sel string, all []string, what string) ([]string, error) {
	if sel == "" || sel == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, k := range strings.Split(sel, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if !slices.Contains(all, k) {
			return nil, fmt.Errorf("unknown %s %q (have %s)", what, k, strings.Join(all, ", "))
		}
		want[k] = true
	}
	var out []string
	for _, k := range all {
		if want[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s selected", what)
	}
	return out, nil
}

// maxErrLen bounds a failure reason in the table notes.
const maxErrLen = 200

func shortErr(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if r := []rune(s); len(r) > maxErrLen {
		s = string(r[:maxErrLen]) + "…"
	}
	return s
}

// serverSpecs are the servers -servers selects, in column order, followed
// by the -extra binaries, which take examples/echo's native command line and
// always run.
func serverSpecs(o *options) ([]*serverSpec, error) {
	specs := allServers(o.poller)
	serverKeys := make([]string, len(specs))
	for i, s := range specs {
		serverKeys[i] = s.Key
	}
	srvSel, err := selectKeys(o.servers, serverKeys, "server")
	if err != nil {
		return nil, err
	}
	specs = slices.DeleteFunc(specs, func(s *serverSpec) bool { return !slices.Contains(srvSel, s.Key) })
	for _, e := range o.extras {
		e.Args = []string{"-backend", "native", "-poller", o.poller}
		specs = append(specs, e)
	}
	return specs, nil
}

// runCompare builds the servers, runs every selected scenario against every
// selected server, round after round (A B C D A B C D …), and writes the
// table, plus Markdown and SVG when asked.
func runCompare(ctx context.Context, o *options) error {
	scenSel, err := selectScenarios(o.scenarios)
	if err != nil {
		return err
	}
	specs, err := serverSpecs(o)
	if err != nil {
		return err
	}

	var scens []*scenario
	for _, sc := range scenarios(o) {
		if slices.Contains(scenSel, sc.Key) {
			scens = append(scens, sc)
		}
	}

	// Servers started later inherit this limit; the idle scenario needs it
	// on both sides.
	if slices.Contains(scenSel, "idle") {
		if _, err := rlimit.RaiseNoFile(uint64(o.idleConns) + 1024); err != nil {
			return err
		}
	}
	if slices.Contains(scenSel, "c1m") {
		// Counts beyond the limit fail on their own, with the reason, and
		// the smaller ones still run.
		if _, err := rlimit.RaiseNoFile(uint64(o.c1mConns[len(o.c1mConns)-1]) + 256); err != nil {
			o.logf("c1m: %v; larger conn counts will fail (bench/c1m.sh raises fs.nr_open; raising the hard limit needs CAP_SYS_RESOURCE)", err)
		}
	}

	root := o.root
	if root == "" {
		if root, err = moduleRoot(); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "evloop-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	buildServers(ctx, root, dir, specs, o.logf)

	var metrics []metric
	for _, sc := range scens {
		metrics = append(metrics, sc.Metrics...)
	}
	names := make([]string, len(specs))
	baseline := -1
	for i, s := range specs {
		names[i] = s.Name
		if s.Key == o.baseline {
			baseline = i
		}
	}
	tab := newTable(metrics, names, baseline)
	notes := map[string][]string{} // per server: stop problems and the like
	startFails := make([]int, len(specs))
	firstStartErr := make([]error, len(specs))
	type failure struct {
		size  int
		title string
	}
	groupFailed := map[string]failure{} // by group + "/" + server key: the smallest scenario that failed

	began := time.Now()
	loadBefore := loadAverage()
rounds:
	for round := 1; round <= o.rounds; round++ {
		for _, sc := range scens {
			for i, spec := range specs {
				if ctx.Err() != nil {
					o.logf("interrupted: reporting the runs so far")
					break rounds
				}
				record := func(vals map[string]float64, err error) {
					for _, m := range sc.Metrics {
						cl := tab.Cells[tab.row(m.Key)][i]
						cl.Runs++
						if err != nil {
							cl.addErr(shortErr(err))
							continue
						}
						if v, ok := vals[m.Key]; ok && !math.IsNaN(v) {
							cl.Vals = append(cl.Vals, v)
						}
					}
				}
				if spec.BuildErr != nil {
					record(nil, spec.BuildErr)
					continue
				}
				if sc.Group != "" {
					if f, ok := groupFailed[sc.Group+"/"+spec.Key]; ok && sc.Size > f.size {
						record(nil, fmt.Errorf("not run: failed at a smaller size (%s)", f.title))
						continue
					}
				}
				if startFails[i] >= 2 {
					// Failed to start twice: do not spend more time on it.
					record(nil, firstStartErr[i])
					continue
				}
				o.logf("[round %d/%d] %s: %s", round, o.rounds, sc.Key, spec.Name)
				srv, err := startServer(spec, o.loops, o.startTimeout)
				if err != nil {
					startFails[i]++
					if firstStartErr[i] == nil {
						firstStartErr[i] = err
					}
					o.logf("    failed to start: %v", err)
					record(nil, err)
					continue
				}
				vals, runErr := sc.Run(o, srv)
				if ctx.Err() != nil {
					// Interrupted mid-run (the terminal's SIGINT reaches the
					// server too): the figures are not trustworthy.
					_ = srv.stop(o.stopTimeout)
					o.logf("interrupted: reporting the runs so far")
					break rounds
				}
				if stopErr := srv.stop(o.stopTimeout); stopErr != nil {
					o.logf("    %v", stopErr)
					if n := shortErr(stopErr); !slices.Contains(notes[spec.Name], n) {
						notes[spec.Name] = append(notes[spec.Name], n)
					}
				}
				if runErr != nil {
					o.logf("    failed: %v", runErr)
					if f, ok := groupFailed[sc.Group+"/"+spec.Key]; sc.Group != "" && (!ok || sc.Size < f.size) {
						groupFailed[sc.Group+"/"+spec.Key] = failure{sc.Size, sc.Title}
					}
				}
				record(vals, runErr)
				time.Sleep(o.gap)
			}
		}
	}
	o.logf("compare took %v", time.Since(began).Round(time.Second))

	machine, params := compareHeader(o, scens)
	if loadBefore != "" {
		// Other work on the machine moves every figure; say how much there was.
		params[0] += fmt.Sprintf("; load average %s at the start, %s at the end", loadBefore, loadAverage())
	}
	fmt.Println(machine)
	fmt.Println(params[0])
	for _, p := range params[1:] {
		fmt.Println("  " + p)
	}
	fmt.Println()
	if err := tab.writeText(os.Stdout); err != nil {
		return err
	}
	var noteLines []string
	for _, s := range specs {
		for _, n := range notes[s.Name] {
			noteLines = append(noteLines, fmt.Sprintf("%s: %s", s.Name, n))
		}
	}
	for _, n := range noteLines {
		fmt.Println("note:", n)
	}

	if o.md != "" {
		f, err := os.Create(o.md)
		if err != nil {
			return err
		}
		preamble := machine + "  \n" + params[0] + "\n\n- " + strings.Join(params[1:], "\n- ") + "\n"
		werr := tab.writeMarkdown(f, preamble)
		if werr == nil && len(noteLines) > 0 {
			_, werr = fmt.Fprintf(f, "\nNotes:\n\n- %s\n", strings.Join(mapSlice(noteLines, mdEscape), "\n- "))
		}
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
		o.logf("wrote %s", o.md)
	}
	if o.svg != "" {
		f, err := os.Create(o.svg)
		if err != nil {
			return err
		}
		title := "Ratio to " + tab.baselineName()
		if tab.baselineName() == "" {
			title = "No baseline selected"
		}
		title += fmt.Sprintf(" (medians of %d round%s, %d loops per server)", o.rounds, plural(o.rounds), o.loops)
		if err := errors.Join(tab.writeSVG(f, title, machineSummary()), f.Close()); err != nil {
			return err
		}
		o.logf("wrote %s", o.svg)
	}
	if o.c1mSVG != "" && slices.Contains(scenSel, "c1m") {
		f, err := os.Create(o.c1mSVG)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("C1M: conns held on one server (%g%% exchange a message a second, %d loops)", 100*o.c1mActive, o.loops)
		if err := errors.Join(writeC1MSVG(f, tab, o.c1mConns, title, machineSummary()), f.Close()); err != nil {
			return err
		}
		o.logf("wrote %s", o.c1mSVG)
	}
	return nil
}

// loadAverage is the 1-minute load average from /proc/loadavg, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// compareHeader describes the machine, then the parameters: one line of
// settings followed by one line per scenario.
func compareHeader(o *options, scens []*scenario) (machine string, params []string) {
	machine = fmt.Sprintf("evloop bench: %s; %s", machineSummary(), runtime.Version())
	params = []string{fmt.Sprintf("rounds %d, loops %d, warm-up %v, duration %v", o.rounds, o.loops, o.warmup, o.duration)}
	for _, sc := range scens {
		params = append(params, sc.Title)
	}
	return machine, params
}

// machineSummary is "linux/amd64, 2 CPUs, kernel 6.1.0, <cpu model>".
func machineSummary() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s += ", kernel " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				s += ", " + strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	return s
}
