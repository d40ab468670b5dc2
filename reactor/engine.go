package reactor

import (
	"context"
	"net"
)

// Engine is a running set of loops, as returned by Start.
type Engine interface {
	// Addrs returns the bound listener addresses (port 0 resolved).
	Addrs() []net.Addr
	// Dial starts a nonblocking connect; OnOpen or OnClose reports the outcome.
	Dial(network, addr string) error
	// Conns is the number of open conns.
	Conns() int
	// Stats returns counters summed over loops, and per loop.
	Stats() Stats
	// Stop stops accepting, flushes and closes every conn (OnClose each),
	// calls OnShutdown and returns once every loop goroutine has exited. ctx
	// bounds the drain: conns still flushing when it ends are closed with
	// ctx's error (context.Cause: a context cancelled with a cause gives
	// that cause). Calling Stop again returns the first call's result.
	// Stop waits for the loops, so a callback must not call it (it would
	// wait for itself): return the Shutdown action instead.
	Stop(ctx context.Context) error
	// Done is closed once the engine has stopped, whether by Stop or by a
	// callback returning Shutdown.
	Done() <-chan struct{}
}

// Backend starts engines. The native backend is the default; gnetbackend.New
// returns another.
type Backend interface {
	// Start binds addrs, calls OnBoot and serves, as Start does.
	Start(h Handler, addrs []string, o *Options) (Engine, error)
	// Name is the backend's name ("native", "gnet").
	Name() string
}

// Stats are an engine's counters. Loop holds one entry per loop; the other
// fields are their sums.
type Stats struct {
	LoopStats
	Loop []LoopStats
}

// LoopStats are one loop's counters.
type LoopStats struct {
	Open             int64 // conns open now
	Accepted         int64 // conns accepted (and dialed) since start
	Closed           int64 // conns closed since start
	Rejected         int64 // conns closed at once for WithMaxConns
	BytesIn          int64
	BytesOut         int64
	WriteEAGAIN      int64 // writes the kernel did not take whole
	OutboundBuffered int64 // bytes waiting for the kernel now
	Wakeups          int64 // returns from the poller's Wait
	AcceptBackoffs   int64 // times accept paused on EMFILE/ENFILE
	Panics           int64 // callbacks that panicked
}

// Add adds o's counters to s; backends use it to sum their loops.
func (s *LoopStats) Add(o LoopStats) {
	s.Open += o.Open
	s.Accepted += o.Accepted
	s.Closed += o.Closed
	s.Rejected += o.Rejected
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.WriteEAGAIN += o.WriteEAGAIN
	s.OutboundBuffered += o.OutboundBuffered
	s.Wakeups += o.Wakeups
	s.AcceptBackoffs += o.AcceptBackoffs
	s.Panics += o.Panics
}

// Start binds addrs, calls OnBoot and serves in the background. It returns
// once every listener is bound.
func Start(h Handler, addrs []string, opts ...Option) (Engine, error) {
	o := NewOptions(opts...)
	b := o.Backend
	if b == nil {
		return nativeBackend{}.Start(h, addrs, o)
	}
	e, err := b.Start(h, addrs, o)
	if err == nil && len(o.Signals) > 0 {
		watchSignalsFor(e, o) // the native engine watches its own
	}
	return e, err
}

// Run is Start followed by a wait for ctx to end or for a callback to return
// Shutdown; it then stops the engine, allowing WithDrainTimeout for output
// to flush.
func Run(ctx context.Context, h Handler, addrs []string, opts ...Option) error {
	e, err := Start(h, addrs, opts...)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-e.Done():
	}
	o := NewOptions(opts...)
	stopCtx, cancel := o.DrainContext()
	defer cancel()
	return e.Stop(stopCtx)
}
