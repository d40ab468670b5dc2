package reactor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
)

// nativeBackend is evloop's own reactor over poller and conn.
type nativeBackend struct{}

func (nativeBackend) Name() string { return "native" }

// engine is the native Engine.
type engine struct {
	opts    *Options
	handler Handler // the root handler: OnBoot, OnTick, OnShutdown
	loops   []*loop
	addrs   []net.Addr
	next    atomic.Uint64 // round-robin cursor
	open    atomic.Int64  // conns open or being handed to a loop

	beginOnce  sync.Once     // closes stopping
	tellOnce   sync.Once     // a drain's telling, posted to the loops
	stopOnce   sync.Once     // the stop's closing, posted to the loops
	stopping   chan struct{} // closed once a stop (or drain) has begun
	running    atomic.Int32  // loops not yet exited
	finishOnce sync.Once
	done       chan struct{}
	connLimits fdconn.Limits // one copy for every conn (set before the loops are made)
	forceOnce  sync.Once
	forcedErr  error // why conns were closed before they drained; set once
}

func (nativeBackend) Start(h Handler, specs []ListenSpec, o *Options) (Engine, error) {
	if h == nil {
		return nil, errors.New("reactor: nil handler")
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no address to listen on", ErrBadAddress)
	}
	e := &engine{opts: o, handler: h, done: make(chan struct{}), stopping: make(chan struct{})}
	e.connLimits = fdconn.Limits{WriteLow: o.WriteLow, WriteHigh: o.WriteHigh, MaxInbound: o.MaxInbound, MaxOutbound: o.MaxOutbound}
	for i := 0; i < o.Loops; i++ {
		l, err := newLoop(i, e)
		if err != nil {
			e.abort()
			return nil, err
		}
		e.loops = append(e.loops, l)
	}
	for _, sp := range specs {
		if err := e.listen(sp); err != nil {
			e.abort()
			return nil, err
		}
	}
	if h.OnBoot(e) == Shutdown {
		e.abort()
		e.finish()
		return e, nil
	}
	if o.Ticker {
		l := e.loops[0]
		l.after(0, l.tick)
	}
	e.running.Store(int32(len(e.loops)))
	// READY before the loops run: one that stops at once must not have its
	// STOPPING overtaken by READY. The listeners are bound already.
	e.notifyReady()
	for _, l := range e.loops {
		go l.run()
	}
	return e, nil
}

// listen binds one address, on the first loop or, with ReusePort, on every
// loop.
func (e *engine) listen(sp ListenSpec) error {
	a := sp.Addr
	if sp.Handler == nil {
		return fmt.Errorf("reactor: %s: nil handler", a)
	}
	r := newRoute(sp.Handler)
	if fd, ok := a.InheritedFD(); ok {
		return e.adoptAs(fd, a, r)
	}
	switch a.Scheme {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return e.listenOther(a, r)
	}
	owners := e.loops[:1]
	if e.opts.ReusePort && a.Scheme != "unix" {
		owners = e.loops
	}
	target := a.Target
	for i, l := range owners {
		// TCP options go on the listener before it listens: conns inherit
		// them on Linux, and buffer sizes then also shape the window scale
		// of each handshake.
		fd, bound, err := socket.Listen(a.Scheme, target, e.opts.ReusePort && a.Scheme != "unix", e.setTCPOptions)
		if err != nil {
			return fmt.Errorf("reactor: %s: %w", a, err)
		}
		ln := &listener{fd: fd, addr: bound, network: "tcp", origin: &fdconn.Origin{Handler: r}}
		if a.Scheme == "unix" {
			ln.network, ln.unlink, ln.origin.Local = "unix", socket.BoundUnixPath(a.Target), bound
		} else {
			if ta, ok := bound.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
				ln.origin.Local = bound
			}
			ln.inherits = socket.AcceptInheritsOptions
		}
		if err := ln.watch(l); err != nil {
			ln.close()
			return err
		}
		if i == 0 {
			e.addrs = append(e.addrs, bound)
			target = bound.String() // port 0: every loop binds the port the first got
		}
	}
	return nil
}

// abort undoes a failed Start: listeners and pollers are closed.
func (e *engine) abort() {
	for _, l := range e.loops {
		l.closeEndpoints()
		l.poller.Close()
		l.tasks.close()
	}
}

// Addrs implements Engine.
func (e *engine) Addrs() []net.Addr { return append([]net.Addr(nil), e.addrs...) }

// Conns implements Engine.
func (e *engine) Conns() int {
	n := int64(0)
	for _, l := range e.loops {
		n += l.open.Load()
	}
	return int(n)
}

// Stats implements Engine.
func (e *engine) Stats() Stats {
	var s Stats
	for _, l := range e.loops {
		ls := l.snapshot()
		s.Loop = append(s.Loop, ls)
		s.Add(ls)
	}
	return s
}

// Done implements Engine.
func (e *engine) Done() <-chan struct{} { return e.done }

// Stopping implements Engine.
func (e *engine) Stopping() <-chan struct{} { return e.stopping }

// Drain implements Engine.
func (e *engine) Drain(ctx context.Context) error {
	e.begin()
	e.tellOnce.Do(func() {
		for _, l := range e.loops {
			l.Post(l.tellAll)
		}
	})
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// stopGrace is how long Stop waits past its ctx for the loops to finish
// forcing their conns closed. Closing a conn costs the kernel some 20 µs,
// so this covers a few thousand; past that Stop returns, and the loops
// finish on their own.
const stopGrace = 100 * time.Millisecond

// Stop implements Engine.
func (e *engine) Stop(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	e.beginStop(deadline)
	select {
	case <-e.done:
		return e.forcedErr
	case <-ctx.Done():
	}
	cause := context.Cause(ctx) // ctx.Err(), unless cancelled with a cause
	for _, l := range e.loops {
		l.Post(func() { l.forceCloseAll(cause) })
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-e.done:
		return e.forcedErr
	case <-grace.C:
		return cause
	}
}

// forced records that conns were closed before their output drained.
func (e *engine) forced(cause error) {
	e.forceOnce.Do(func() { e.forcedErr = cause })
}

// begin marks the engine stopping, once: by a stop or a drain.
func (e *engine) begin() {
	e.beginOnce.Do(func() {
		close(e.stopping)
		sdnotify.Stopping(e.opts.Logger)
	})
}

// beginStop asks every loop to close its conns, once.
func (e *engine) beginStop(deadline time.Time) {
	e.begin()
	e.stopOnce.Do(func() {
		for _, l := range e.loops {
			l.Post(func() { l.drain(deadline) })
		}
	})
}

// shutdownAsync is a callback's Shutdown: drain with the drain timeout.
func (e *engine) shutdownAsync() {
	e.beginStop(e.opts.DrainDeadline())
}

// loopExited runs on each loop's goroutine as it ends; the last one calls
// OnShutdown and releases the pollers.
func (e *engine) loopExited() {
	if e.running.Add(-1) == 0 {
		e.finish()
	}
}

func (e *engine) finish() {
	e.finishOnce.Do(func() {
		for _, l := range e.loops {
			l.poller.Close()
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					e.opts.Logger.Error("OnShutdown panicked", "panic", r)
				}
			}()
			e.handler.OnShutdown(e)
		}()
		close(e.done)
	})
}

// nextOwner picks the loop for a UDP socket or a FIFO. They are served on
// the loop that watches them (a datagram has no conn to hand off, and FIFO
// requests are cheap), so successive ones are spread over the loops.
func (e *engine) nextOwner() *loop { return e.loops[len(e.addrs)%len(e.loops)] }
