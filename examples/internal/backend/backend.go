// Package backend maps the examples' shared flags (-backend, -poller,
// -loops, -busy-poll, -cert, -key) to engine options.
package backend

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// Select returns the backend named by the -backend flag: nil for "native"
// (the default), gnetbackend.New() for "gnet", uringbackend.New() for
// "uring" (Linux io_uring; where io_uring is unavailable, Start fails with
// an error wrapping reactor.ErrUnsupported that says why).
func Select(name string) (reactor.Backend, error) {
	switch name {
	case "native", "":
		return nil, nil
	case "gnet":
		return gnetbackend.New(), nil
	case "uring":
		return uringBackend()
	}
	return nil, fmt.Errorf("unknown backend %q (want native, gnet or uring)", name)
}

// Flags are the flags every example takes: -loops, -backend, -poller,
// -busy-poll, -cert and -key.
type Flags struct {
	Loops    int
	Backend  string
	Poller   string
	BusyPoll time.Duration // reactor.WithBusyPoll
	Cert     string        // PEM certificate for tls:// addresses
	Key      string        // its PEM private key
}

// AddFlags registers the shared flags on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.IntVar(&f.Loops, "loops", runtime.NumCPU(), "number of event loops")
	fs.StringVar(&f.Backend, "backend", "native", "native, gnet or uring (Linux io_uring)")
	fs.StringVar(&f.Poller, "poller", "auto", "auto, epoll, poll or kqueue (native backend)")
	fs.DurationVar(&f.BusyPoll, "busy-poll", 0, "native backend: after its last event, a loop polls without sleeping this long (e.g. 50us: fewer wakeups for a steady stream of requests, at the cost of CPU; 0: off)")
	fs.StringVar(&f.Cert, "cert", "", "PEM certificate file for tls:// addresses (none: an ephemeral self-signed one)")
	fs.StringVar(&f.Key, "key", "", "PEM private key file of -cert")
	return f
}

// Options turns the parsed flags into engine options, logging to logger.
func (f *Flags) Options(logger *slog.Logger) ([]reactor.Option, error) {
	opts, err := Options(f.Loops, f.Backend, f.Poller, logger)
	if err != nil {
		return nil, err
	}
	switch {
	case f.BusyPoll < 0:
		return nil, fmt.Errorf("-busy-poll %v: want 0 or more", f.BusyPoll)
	case f.BusyPoll > 0:
		opts = append(opts, reactor.WithBusyPoll(f.BusyPoll))
	}
	return opts, nil
}

// Options turns the examples' common flags (-loops, -backend, -poller) into
// engine options, logging to logger.
func Options(loops int, backendName, pollerName string, logger *slog.Logger) ([]reactor.Option, error) {
	if loops < 1 {
		return nil, fmt.Errorf("-loops %d: want at least 1", loops)
	}
	kind, err := poller.ParseKind(pollerName)
	if err != nil {
		return nil, err
	}
	be, err := Select(backendName)
	if err != nil {
		return nil, err
	}
	opts := []reactor.Option{reactor.WithLoops(loops), reactor.WithPoller(kind), reactor.WithLogger(logger)}
	if be != nil {
		opts = append(opts, reactor.WithBackend(be))
	}
	return opts, nil
}

// ErrStoppedByItself is what an example returns when its engine stopped
// without being asked (the log says why): a server that dies must not exit
// 0, or a supervisor set to restart it on failure would not.
var ErrStoppedByItself = errors.New("the engine stopped by itself")
