// Package serve is the examples' life cycle: the flags every example takes
// for logging, PROXY protocol trust, upgrades, bounds and metrics
// (-log-level, -pid-file, -proxy-trusted, -profile, -metrics), and Run, which starts an engine, prints its listening
// lines, and serves until a signal: SIGINT or SIGTERM stop it, SIGHUP
// upgrades it with no dropped connection (package upgrade).
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/internal/pidfile"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/upgrade"
)

// Flags are -log-level, -pid-file, -proxy-trusted, -profile and -metrics.
type Flags struct {
	LogLevel     string
	PIDFile      string
	DrainTimeout time.Duration // -drain-timeout: how long an upgraded process drains (handOver)
	ProxyTrusted string
	Profile      string // "internet" (reactor.WithInternetProfile) or "none"
	Metrics      string // host:port to serve /metrics on (Prometheus)
}

// AddFlags registers the flags on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error (debug logs each conn's open, with remote=, and its close's cause)")
	f.DrainTimeout = upgrade.DefaultDrainTimeout
	fs.Var(nonNegative{&f.DrainTimeout}, "drain-timeout", "after an upgrade, how long the old process serves its open conns on (it accepts no more) for their clients to close them; then it closes the rest (0: at once)")
	fs.StringVar(&f.PIDFile, "pid-file", "", "write the serving process's pid to this file (after an upgrade, the new process's)")
	fs.StringVar(&f.ProxyTrusted, "proxy-trusted", "", "comma-separated networks (CIDR) allowed to send a PROXY header, or \"any\" to trust every peer; needed by an -addr with ?proxy=required|optional, except a unix one")
	fs.StringVar(&f.Profile, "profile", "internet", "bounds: internet (at most 10,000 conns, 2 min idle timeout, small per-conn buffers: reactor.WithInternetProfile) or none (the library's defaults, for benchmarks)")
	fs.StringVar(&f.Metrics, "metrics", "", "serve the engine's counters for Prometheus on http://ADDR/metrics (e.g. 127.0.0.1:9100)")
	return f
}

// Logger returns a text logger to w at the -log-level.
func (f *Flags) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", f.LogLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// Options returns the engine options the flags ask for. An example's own
// options after them override the profile's.
func (f *Flags) Options() ([]reactor.Option, error) {
	var opts []reactor.Option
	switch f.Profile {
	case "internet", "":
		opts = append(opts, reactor.WithInternetProfile())
	case "none":
	default:
		return nil, fmt.Errorf("-profile %q: want internet or none", f.Profile)
	}
	if f.ProxyTrusted == "" {
		return opts, nil
	}
	if strings.TrimSpace(f.ProxyTrusted) == "any" {
		return append(opts, reactor.WithProxy(reactor.WithProxyTrustAny())), nil
	}
	var nets []netip.Prefix
	for _, s := range strings.Split(f.ProxyTrusted, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-proxy-trusted: %w", err)
		}
		nets = append(nets, p)
	}
	return append(opts, reactor.WithProxy(reactor.WithProxyTrusted(nets...))), nil
}

// Config is what Run serves.
type Config struct {
	Addrs   []string
	Backend string // the -backend flag: gnet cannot be upgraded
	Flags   *Flags
	Logger  *slog.Logger
	Stdout  io.Writer
	// Start starts the engine on addrs (Addrs, or the sockets they name).
	Start func(addrs []string) (reactor.Engine, error)
}

// upgraderTaken is set once a Run has made the process's Upgrader: there
// is one per process (tableflip), so a second Run in the same process (a
// test) serves without upgrades.
var upgraderTaken atomic.Bool

// Run serves until ctx ends (stop), the engine stops by itself
// (backend.ErrStoppedByItself), or, after SIGHUP, a new process started
// from the binary on disk serves the same sockets: then this one drains
// (see handOver) and returns nil.
//
// A stop (ctx: SIGINT, SIGTERM) does not drain: it closes the conns at
// once, gracefully (each handler's OnStop, then its output flushed, within
// reactor.DefaultDrainTimeout). Nobody serves those clients afterwards, so
// serving them on would only delay the exit, by up to -drain-timeout where
// persistent conns never end, while a supervisor's stop timeout runs and
// an operator waits on Ctrl-C. A stop signal during an upgrade's drain
// ends the drain the same way.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	up, why := newUpgrader(cfg)
	addrs := cfg.Addrs
	if up != nil {
		defer up.Stop()
		if cfg.Flags.PIDFile != "" && !up.HasParent() {
			// Ready writes it again once serving; a path that cannot be
			// written fails the start here, as without the upgrader,
			// rather than leaving Ready failed and every SIGHUP refused.
			// (After an upgrade the file names the old process until
			// Ready: its path was written already.)
			if err := pidfile.Write(cfg.Flags.PIDFile); err != nil {
				return err
			}
		}
		var err error
		if addrs, err = up.Listen(cfg.Addrs); err != nil {
			return err
		}
	} else if cfg.Flags.PIDFile != "" {
		if err := pidfile.Write(cfg.Flags.PIDFile); err != nil {
			return err
		}
		defer pidfile.Remove(cfg.Flags.PIDFile)
	}
	metrics, err := listenMetrics(cfg.Flags.Metrics, log)
	if err != nil {
		return err
	}
	defer metrics.close() // after the engine's Stop below
	eng, err := cfg.Start(addrs)
	if errors.Is(err, reactor.ErrProxyNoTrust) {
		return fmt.Errorf("%w; on the command line: -proxy-trusted CIDR,... (the balancers' networks) or -proxy-trusted any", err)
	}
	if err != nil {
		return err
	}
	metrics.serve(eng, log)
	var exit <-chan struct{}
	upgraded := make(chan error, 1)
	if up != nil {
		if up.HasParent() {
			log.Info("upgrade: serving the sockets of the old process", "pid", os.Getpid())
			// The old process drains for a while; until it exits, the
			// next SIGHUP is refused. Say when it may come.
			served := make(chan struct{})
			defer close(served)
			go func() {
				select {
				case <-up.ParentExited():
					log.Info("upgrade: the old process has exited", "pid", os.Getpid())
				case <-served:
				}
			}()
		}
		// Ready before the listening line: whoever reads it may send
		// SIGHUP at once.
		if err := up.Ready(); err != nil {
			log.Warn("upgrade: could not tell the old process (or systemd) that we serve", "err", err)
		}
		exit = up.Exit()
	}
	for i := range eng.Addrs() {
		fmt.Fprintln(cfg.Stdout, "listening", backend.Listening(cfg.Addrs, eng.Addrs(), i))
	}
	var stopped error
serving:
	for {
		select {
		case <-ctx.Done():
			break serving
		case <-eng.Done():
			stopped = backend.ErrStoppedByItself
			break serving
		case <-hup:
			if up == nil {
				log.Warn("upgrade: SIGHUP ignored: " + why)
				continue
			}
			log.Info("upgrade: starting the new process", "pid", os.Getpid())
			go func() { upgraded <- up.Upgrade() }()
		case err := <-upgraded:
			if err != nil {
				log.Error("upgrade failed; serving on", "err", err)
			}
		case <-exit:
			handOver(ctx, eng, cfg.Flags.DrainTimeout, log)
			break serving
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), reactor.DefaultDrainTimeout)
	defer cancel()
	if err := eng.Stop(stopCtx); err != nil {
		log.Warn("some conns were cut off before their output drained", "err", err)
	}
	return stopped
}

// handOver drains eng once a new process serves its sockets: the engine
// stops accepting at once (the new process accepts on the same sockets, so
// no client notices), tells each conn's handler (OnStop: chat says goodbye
// and closes) and serves the conns on until their clients close them, as
// nginx's old workers do. A request a client sent before the hand-over is
// thus answered: a Stop right away would close each conn once its output
// is flushed, and a request the process had not read yet would get no
// reply. The drain ends when the last conn does, after timeout (0: at
// once), or when ctx ends (a stop signal): Run's Stop then closes the conns
// left, gracefully.
func handOver(ctx context.Context, eng reactor.Engine, timeout time.Duration, log *slog.Logger) {
	log.Info("upgrade: the new process serves; draining", "pid", os.Getpid(), "conns", eng.Conns(), "drain_timeout", timeout)
	if timeout <= 0 {
		return
	}
	errTimeout := errors.New("the drain timeout passed")
	drain, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	start := time.Now()
	switch err := eng.Drain(drain); {
	case err == nil:
		log.Info("upgrade: every conn has ended", "pid", os.Getpid(), "after", time.Since(start).Round(time.Millisecond))
	case errors.Is(err, errTimeout):
		log.Info("upgrade: drain timeout; closing the conns left", "pid", os.Getpid(), "conns", eng.Conns())
	default:
		log.Info("upgrade: drain cut short; closing the conns left", "pid", os.Getpid(), "conns", eng.Conns(), "cause", err)
	}
}

// newUpgrader returns the process's Upgrader, or nil and why there is none.
func newUpgrader(cfg Config) (*upgrade.Upgrader, string) {
	if cfg.Backend == "gnet" {
		return nil, "-backend gnet cannot serve inherited sockets; upgrades need -backend native"
	}
	for _, s := range cfg.Addrs {
		a, err := reactor.ParseAddr(s)
		if err != nil {
			return nil, err.Error() // Start says so
		}
		switch a.Scheme {
		case "fd", "systemd", "fifo":
			return nil, a.Scheme + ":// addresses are not passed on by upgrades (use tcp://, unix:// or udp://)"
		}
		if _, ok := a.InheritedFD(); ok {
			// upgrade.Listen refuses it: served as is, like fd://N.
			return nil, s + ": an inherited socket (?fd=N) is not passed on by upgrades"
		}
	}
	if !upgraderTaken.CompareAndSwap(false, true) {
		return nil, "this process has served once already"
	}
	up, err := upgrade.New(upgrade.Options{PIDFile: cfg.Flags.PIDFile})
	if err != nil {
		return nil, err.Error()
	}
	return up, ""
}

// nonNegative is a flag.Value for a duration of 0 or more.
type nonNegative struct{ d *time.Duration }

func (v nonNegative) String() string {
	if v.d == nil { // flag's zero value, for -help
		return "0s"
	}
	return v.d.String()
}

func (v nonNegative) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return errors.New("want 0 or more")
	}
	*v.d = d
	return nil
}
