// Command bench is evloop's load generator and side-by-side comparison.
//
// Compare evloop (native and on gnetbackend) with plain gnet/v2 and a
// goroutine-per-connection net server, each started as its own process on
// 127.0.0.1:
//
//	go run ./bench -compare [-rounds 3] [-duration 3s] [-warmup 1s] [-md bench.md] [-svg bench.svg]
//
// Drive one running echo server:
//
//	go run ./bench -addr 127.0.0.1:7000 -pid PID -mode echo -conns 100 -size 64 -inflight 1
//	go run ./bench -addr 127.0.0.1:7000 -pid PID -mode idle -idle-conns 9000
//	go run ./bench -addr 127.0.0.1:7000 -mode churn
//	go run ./bench -addr 127.0.0.1:7000 -pid PID -mode slow -slow-mib 64
//
// Every echoed byte is checked against what was sent. See bench/README.md
// for what each figure means.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/evloop/evloop/bench/internal/rlimit"
)

// options are the command-line flags.
type options struct {
	compare      bool
	rounds       int
	warmup       time.Duration
	duration     time.Duration
	drain        time.Duration
	loops        int
	conns        int
	size         int
	inflight     int
	inflightHigh int
	idleConns    int
	churnWorkers int
	slowMiB      int
	slowPhase    time.Duration
	scenarios    string
	servers      string
	baseline     string
	md           string
	svg          string
	poller       string
	startTimeout time.Duration
	stopTimeout  time.Duration
	gap          time.Duration
	root         string
	quiet        bool

	c1mConns       []int
	c1mActive      float64
	c1mHold        time.Duration
	c1mWorkers     int
	c1mPerIP       int
	c1mWindow      int
	c1mOpenTimeout time.Duration
	c1mStopTimeout time.Duration
	c1mSVG         string
	c1mPeerHolds   bool
	extras         []*serverSpec

	addr string
	pid  int
	mode string
}

// logf reports progress on stderr unless -q.
func (o *options) logf(format string, args ...any) {
	if !o.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.compare, "compare", false, "build and compare the servers side by side")
	fs.IntVar(&o.rounds, "rounds", 3, "compare: rounds; every scenario runs once per server per round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "echo and churn: load before the measured window")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "echo and churn: measured window")
	fs.DurationVar(&o.drain, "drain", 3*time.Second, "echo: time allowed for outstanding echoes after the window")
	fs.IntVar(&o.loops, "loops", 2, "compare: -loops passed to every server")
	fs.IntVar(&o.conns, "conns", 100, "echo: connections")
	fs.IntVar(&o.size, "size", 64, "echo and churn: message size in bytes")
	fs.IntVar(&o.inflight, "inflight", 1, "-mode echo: messages in flight per connection")
	fs.IntVar(&o.inflightHigh, "inflight-high", 16, "compare: messages in flight per connection in the echo16 scenario")
	fs.IntVar(&o.idleConns, "idle-conns", 9000, "idle: connections held open")
	fs.IntVar(&o.churnWorkers, "churn-workers", 4, "churn: concurrent connect-echo-close loops")
	fs.IntVar(&o.slowMiB, "slow-mib", 64, "slow: MiB sent through one connection")
	fs.DurationVar(&o.slowPhase, "slow-phase", time.Second, "slow: how long the reader reads 4 KiB per 10 ms before reading at full speed")
	fs.StringVar(&o.scenarios, "scenarios", "all", "compare: comma-separated subset of echo1,echo16,idle,churn,slow, or c1m (not part of all)")
	fs.StringVar(&o.servers, "servers", "all", "compare: comma-separated subset of native,evgnet,uring,gnet,net")
	fs.StringVar(&o.baseline, "baseline", "native", "compare: server the ratios are relative to")
	fs.StringVar(&o.md, "md", "", "compare: also write the table as Markdown to this file")
	fs.StringVar(&o.svg, "svg", "", "compare: also write a bar chart of the ratios as SVG to this file")
	fs.StringVar(&o.poller, "poller", "auto", "compare: -poller passed to examples/echo (auto, epoll, poll)")
	fs.DurationVar(&o.startTimeout, "start-timeout", 10*time.Second, "compare: wait this long for a server's \"listening\" line")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 5*time.Second, "compare: wait this long for a server to exit after SIGTERM")
	fs.DurationVar(&o.gap, "gap", 200*time.Millisecond, "compare: pause between runs")
	fs.StringVar(&o.root, "root", "", "compare: module root to build in (default: from go env GOMOD)")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	c1mConns := fs.String("c1m-conns", "10k", "c1m: conns held, a comma-separated list such as 10000,100000 or 10k,250k,1M")
	fs.Float64Var(&o.c1mActive, "c1m-active", 0.01, "c1m: fraction of the conns that exchange a message every second")
	fs.DurationVar(&o.c1mHold, "c1m-hold", 10*time.Second, "c1m: how long the active conns exchange messages")
	fs.IntVar(&o.c1mWorkers, "c1m-workers", 2, "c1m: client goroutines, each with its own epoll instance")
	fs.IntVar(&o.c1mPerIP, "c1m-per-ip", 0, "c1m: conns per source address in 127.0.0.0/8 (0: half of ip_local_port_range)")
	fs.IntVar(&o.c1mWindow, "c1m-window", 2048, "c1m: conns opened but not yet echoed, at most (keeps the accept queue short)")
	fs.DurationVar(&o.c1mOpenTimeout, "c1m-open-timeout", 5*time.Minute, "c1m: bound on opening all conns")
	fs.DurationVar(&o.c1mStopTimeout, "c1m-stop-timeout", time.Minute, "c1m: wait this long for the server to exit after SIGTERM with all conns open")
	fs.BoolVar(&o.c1mPeerHolds, "c1m-peer-holds", false, "c1m: keep the client ends open while the server stops (default: close each once the server has closed it)")
	fs.StringVar(&o.c1mSVG, "c1m-svg", "", "compare: write a chart of c1m RSS per conn and p99 latency against N to this file")
	fs.Func("extra", "compare: `NAME=PATH` of another echo server binary taking examples/echo's command line, as an extra column (repeatable)", func(v string) error {
		s, err := parseExtra(v)
		if err != nil {
			return err
		}
		o.extras = append(o.extras, s)
		return nil
	})
	fs.StringVar(&o.addr, "addr", "", "drive the echo server at this host:port (or tcp://host:port) on loopback")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, for its CPU time and RSS")
	fs.StringVar(&o.mode, "mode", "echo", "with -addr: echo, idle, churn, slow or c1m")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case o.compare && o.addr != "":
		return nil, errors.New("-compare starts its own servers; do not give -addr")
	case !o.compare && o.addr == "":
		return nil, errors.New("give -compare, or -addr of a running echo server")
	case o.rounds < 1:
		return nil, errors.New("-rounds must be at least 1")
	case o.loops < 1:
		return nil, errors.New("-loops must be at least 1")
	case o.duration <= 0 || o.warmup < 0:
		return nil, errors.New("-duration must be positive and -warmup not negative")
	case o.conns < 1 || o.size < 1 || o.inflight < 1 || o.inflightHigh < 1 || o.idleConns < 1 || o.churnWorkers < 1 || o.slowMiB < 1:
		return nil, errors.New("counts and sizes must be positive")
	case o.c1mActive < 0 || o.c1mActive > 1:
		return nil, errors.New("-c1m-active must be within [0, 1]")
	case o.c1mHold <= 0 || o.c1mWorkers < 1 || o.c1mPerIP < 0 || o.c1mWindow < 1 || o.c1mOpenTimeout <= 0 || o.c1mStopTimeout <= 0:
		return nil, errors.New("-c1m-hold, -c1m-workers, -c1m-window and the c1m timeouts must be positive, -c1m-per-ip not negative")
	}
	var err error
	if o.c1mConns, err = parseCounts(*c1mConns); err != nil {
		return nil, fmt.Errorf("-c1m-conns: %w", err)
	}
	if err := checkExtras(o.extras); err != nil {
		return nil, err
	}
	if o.addr != "" {
		a, err := loopbackAddr(o.addr)
		if err != nil {
			return nil, err
		}
		o.addr = a
	}
	return o, nil
}

// loopbackAddr accepts "host:port" or "tcp://host:port" where host is a
// loopback address or "localhost", and returns host:port.
func loopbackAddr(s string) (string, error) {
	a := s
	if scheme, rest, ok := strings.Cut(a, "://"); ok {
		if scheme != "tcp" && scheme != "tcp4" && scheme != "tcp6" {
			return "", fmt.Errorf("-addr %q: only tcp is supported", s)
		}
		a = rest
	}
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return "", fmt.Errorf("-addr %q: %w", s, err)
	}
	if host == "localhost" {
		return a, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("-addr %q: the load generator only targets loopback addresses", s)
	}
	return a, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.compare {
		err = runCompare(ctx, o)
	} else {
		err = runSingle(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// runSingle drives the server at -addr with one scenario and prints every
// figure it measured.
func runSingle(o *options) error {
	w := os.Stdout
	switch o.mode {
	case "echo":
		r, err := runEcho(echoConfig{Addr: o.addr, Conns: o.conns, Size: o.size, InFlight: o.inflight,
			Warmup: o.warmup, Duration: o.duration, Drain: o.drain, PID: o.pid})
		if r != nil {
			fmt.Fprintf(w, "echo %s: %d conns × %d B, %d in flight per conn; %v measured after %v warm-up\n",
				o.addr, o.conns, o.size, o.inflight, o.duration, o.warmup)
			fmt.Fprintf(w, "  msgs/s       %s\n", groupDigits(int64(r.MsgsPerSec)))
			fmt.Fprintf(w, "  MiB/s        %.2f (echoed payload, one direction)\n", r.MiBPerSec)
			fmt.Fprintf(w, "  latency      p50 %v  p99 %v  p99.9 %v  mean %v  (%d samples)\n",
				us(r.Latency.Quantile(0.5)), us(r.Latency.Quantile(0.99)), us(r.Latency.Quantile(0.999)), us(r.Latency.Mean()), r.Latency.Count())
			if c := r.CPUPerMsg(); c >= 0 {
				fmt.Fprintf(w, "  server CPU   %v = %.3f µs/msg\n", r.ServerCPU, float64(r.ServerCPU)/float64(r.Msgs)/1e3)
			} else {
				fmt.Fprintf(w, "  server CPU   n/a (give -pid on Linux)\n")
			}
			if r.ServerMem.RSS > 0 {
				fmt.Fprintf(w, "  server RSS   %.1f MiB (peak %.1f MiB)\n", mib(r.ServerMem.RSS), mib(r.ServerMem.HWM))
			}
			fmt.Fprintf(w, "  client CPU   %s\n", cpuShare(r.ClientCPU, r.Window))
			fmt.Fprintf(w, "  verified     %s of %s bytes sent\n", groupDigits(int64(r.BytesVerified)), groupDigits(int64(r.BytesSent)))
		}
		return err
	case "idle":
		r, err := runIdle(idleConfig{Addr: o.addr, Conns: o.idleConns, PID: o.pid})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "idle %s: %s conns opened and pinged in %v\n", o.addr, groupDigits(int64(r.Conns)), r.Open.Round(time.Millisecond))
		fmt.Fprintf(w, "  server RSS   %.1f MiB before, %.1f MiB after\n", mib(r.RSSBefore), mib(r.RSSAfter))
		fmt.Fprintf(w, "  per conn     %.2f KiB\n", r.PerConn/1024)
		return nil
	case "churn":
		r, err := runChurn(churnConfig{Addr: o.addr, Workers: o.churnWorkers, Size: o.size, Warmup: o.warmup, Duration: o.duration})
		if r != nil {
			fmt.Fprintf(w, "churn %s: %d workers, connect + %d B echo + close; %v measured after %v warm-up\n",
				o.addr, o.churnWorkers, o.size, o.duration, o.warmup)
			fmt.Fprintf(w, "  conns/s      %s\n", groupDigits(int64(r.ConnsPerSec)))
			fmt.Fprintf(w, "  cycle        p50 %v  p99 %v\n", us(r.Latency.Quantile(0.5)), us(r.Latency.Quantile(0.99)))
			fmt.Fprintf(w, "  failed       %d cycles (first: %v)\n", r.Failures, r.FirstFailure)
			fmt.Fprintf(w, "  verified     %s bytes\n", groupDigits(int64(r.BytesVerified)))
		}
		return err
	case "slow":
		r, err := runSlow(slowConfig{Addr: o.addr, Bytes: int64(o.slowMiB) << 20, SlowPhase: o.slowPhase, PID: o.pid})
		if r != nil {
			fmt.Fprintf(w, "slow reader %s: %d MiB, 4 KiB per 10 ms for %v, then full speed\n", o.addr, o.slowMiB, o.slowPhase)
			fmt.Fprintf(w, "  verified     %s of %s bytes sent, in order, in %v\n", groupDigits(r.Verified), groupDigits(r.Sent), r.Elapsed.Round(time.Millisecond))
			if r.PeakRSS > 0 {
				fmt.Fprintf(w, "  server RSS   %.1f MiB before, peak %.1f MiB (VmHWM; highest sampled VmRSS %.1f MiB)\n",
					mib(r.RSSBefore), mib(r.PeakRSS), mib(r.SampledPeak))
			}
		}
		return err
	case "c1m":
		n := o.c1mConns[len(o.c1mConns)-1]
		if _, err := rlimit.RaiseNoFile(uint64(n) + 256); err != nil {
			o.logf("%v", err) // the holder says whether it is enough
		}
		r, err := runC1M(c1mConfig{holdConfig: o.holdConfig(o.addr, n), PID: o.pid, Hold: o.c1mHold, Drain: o.drain})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "c1m %s: %s\n", o.addr, c1mSummary(r))
		return nil
	}
	return fmt.Errorf("unknown -mode %q (echo, idle, churn, slow, c1m)", o.mode)
}

// us rounds a duration to the microsecond for printing.
func us(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
