//go:build linux

package uringbackend

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// engine is the uring reactor.Engine.
type engine struct {
	multishot bool            // WithMultishotReceive
	h         reactor.Handler // the root handler: OnBoot, OnTick, OnShutdown
	root      *route
	o         *reactor.Options
	log       *slog.Logger
	loops     []*loop
	addrs     []net.Addr
	next      atomic.Uint64 // round-robin cursor
	open      atomic.Int64  // conns admitted (MaxConns)

	beginOnce  sync.Once
	tellOnce   sync.Once
	stopOnce   sync.Once
	stopping   chan struct{}
	running    atomic.Int32
	finishOnce sync.Once
	done       chan struct{}
	forceOnce  sync.Once
	forcedErr  error

	dialCtx    context.Context
	dialCancel context.CancelFunc
}

func newEngine(h reactor.Handler, o *reactor.Options) *engine {
	e := &engine{h: h, root: newRoute(h), o: o, log: o.Logger.With("backend", "uring"),
		stopping: make(chan struct{}), done: make(chan struct{})}
	e.dialCtx, e.dialCancel = context.WithCancel(context.Background())
	return e
}

// callBoot runs OnBoot; a panic in it is a Shutdown.
func callBoot(e *engine) (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("OnBoot panicked", "panic", r)
			a = reactor.Shutdown
		}
	}()
	return e.h.OnBoot(e)
}

// run starts the loops (and the ticker on the first).
func (e *engine) run() {
	if e.o.Ticker {
		l := e.loops[0]
		l.after(0, l.tick)
	}
	e.running.Store(int32(len(e.loops)))
	for _, l := range e.loops {
		go l.run()
	}
}

// abort undoes a failed Start: listeners and rings are closed.
func (e *engine) abort() {
	for _, l := range e.loops {
		l.closeListeners()
		l.release()
	}
}

// Addrs implements reactor.Engine.
func (e *engine) Addrs() []net.Addr { return append([]net.Addr(nil), e.addrs...) }

// Conns implements reactor.Engine.
func (e *engine) Conns() int {
	n := int64(0)
	for _, l := range e.loops {
		n += l.open.Load()
	}
	return int(n)
}

// Stats implements reactor.Engine.
func (e *engine) Stats() reactor.Stats {
	var s reactor.Stats
	for _, l := range e.loops {
		ls := l.snapshot()
		s.Loop = append(s.Loop, ls)
		s.Add(ls)
	}
	return s
}

// Done implements reactor.Engine.
func (e *engine) Done() <-chan struct{} { return e.done }

// Stopping implements reactor.Engine.
func (e *engine) Stopping() <-chan struct{} { return e.stopping }

func (e *engine) begin() {
	e.beginOnce.Do(func() {
		close(e.stopping)
		sdnotify.Stopping(e.log)
		e.dialCancel()
	})
}

// Drain implements reactor.Engine.
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
// forcing their conns closed (as the native backend).
const stopGrace = 100 * time.Millisecond

// Stop implements reactor.Engine.
func (e *engine) Stop(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	e.beginStop(deadline)
	select {
	case <-e.done:
		return e.forcedErr
	case <-ctx.Done():
	}
	cause := context.Cause(ctx)
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

func (e *engine) beginStop(deadline time.Time) {
	e.begin()
	e.stopOnce.Do(func() {
		for _, l := range e.loops {
			l.Post(func() { l.drain(deadline) })
		}
	})
}

// shutdownAsync is a callback's Shutdown: a stop with the drain timeout.
func (e *engine) shutdownAsync() { e.beginStop(e.o.DrainDeadline()) }

func (e *engine) forced(cause error) { e.forceOnce.Do(func() { e.forcedErr = cause }) }

// loopExited runs as each loop ends; the last one finishes the engine.
func (e *engine) loopExited() {
	if e.running.Add(-1) == 0 {
		e.finish()
	}
}

func (e *engine) finish() {
	e.finishOnce.Do(func() {
		e.begin()
		func() {
			defer func() {
				if r := recover(); r != nil {
					e.log.Error("OnShutdown panicked", "panic", r)
				}
			}()
			e.h.OnShutdown(e)
		}()
		close(e.done)
	})
}

// admit counts a new conn against MaxConns.
func (e *engine) admit() bool {
	n := e.open.Add(1)
	if max := e.o.MaxConns; max > 0 && n > int64(max) {
		e.open.Add(-1)
		return false
	}
	return true
}

func (e *engine) unadmit() { e.open.Add(-1) }

// pick chooses the loop for a new conn.
func (e *engine) pick(peer net.Addr) *loop {
	if len(e.loops) == 1 {
		return e.loops[0]
	}
	switch e.o.LoadBalancing {
	case reactor.LeastConns:
		l := e.loops[0]
		for _, cand := range e.loops[1:] {
			if cand.open.Load() < l.open.Load() {
				l = cand
			}
		}
		return l
	case reactor.SourceHash:
		if peer != nil {
			h := fnv.New32a()
			s := peer.String()
			if ta, ok := peer.(*net.TCPAddr); ok {
				s = ta.IP.String()
			}
			h.Write([]byte(s))
			return e.loops[int(h.Sum32())%len(e.loops)]
		}
	}
	return e.loops[int(e.next.Add(1)-1)%len(e.loops)]
}

// Dial implements reactor.Engine.
func (e *engine) Dial(network, addr string) error { return e.DialHandler(network, addr, nil) }

// DialHandler implements reactor.Engine. The connect runs on a goroutine of
// its own (net.Dialer, bounded by WithDialTimeout and by the engine's
// stop): name resolution needs one anyway. The connected socket is then
// handed to a loop, which serves it as an accepted one. A failure is
// reported by OnClose (no OnOpen) with a *net.OpError whose Err is the
// cause, on the loop the conn was bound for.
func (e *engine) DialHandler(network, addr string, h reactor.Handler) error {
	r := e.root
	if h != nil && h != e.h {
		r = newRoute(h)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return fmt.Errorf("%w: Dial(%q): the uring backend dials tcp, tcp4, tcp6, unix, tls and tls+unix", reactor.ErrUnsupported, network)
	}
	select {
	case <-e.stopping:
		return reactor.ErrEngineStopped
	default:
	}
	if !e.admit() {
		return fmt.Errorf("dial %s %s: %w", network, addr, reactor.ErrTooManyConns)
	}
	l := e.pick(nil)
	l.dialing.Add(1)
	go e.dial(l, network, addr, r)
	return nil
}

func (e *engine) dial(l *loop, network, addr string, r *route) {
	ctx, cancel := context.WithCancel(e.dialCtx)
	if deadline := e.o.DialDeadline(); !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(e.dialCtx, deadline)
	}
	defer cancel()
	d := net.Dialer{KeepAlive: -1}
	nc, err := d.DialContext(ctx, network, addr)
	fd := -1
	var local, remote net.Addr
	if err == nil {
		local, remote = nc.LocalAddr(), nc.RemoteAddr()
		fd, err = dupFd(nc)
		nc.Close()
	}
	if err != nil {
		switch {
		case e.dialCtx.Err() != nil:
			err = reactor.ErrEngineStopped
		case ctx.Err() == context.DeadlineExceeded:
			err = reactor.ErrDialTimeout
		default:
			if oe, ok := err.(*net.OpError); ok {
				err = oe.Err
			}
		}
		err = &net.OpError{Op: "dial", Net: network, Addr: dialAddr(network, addr), Err: err}
	}
	if remote == nil {
		remote = dialAddr(network, addr)
	}
	c := &uconn{l: l, fd: fd, route: r}
	if local != nil {
		c.local = &addrBox{local}
	}
	c.setRemote(remote)
	if fd >= 0 && network != "unix" {
		e.setTCPOptions(fd)
	}
	posted := l.Post(func() {
		l.dialing.Add(-1)
		if err != nil || l.closing {
			if err == nil {
				err = &net.OpError{Op: "dial", Net: network, Addr: remote, Err: reactor.ErrEngineStopped}
			}
			l.failDial(c, err)
			return
		}
		l.register(c)
	})
	if posted != nil {
		// The loop has exited: it cannot have, with a dial counted, so
		// this is only a safeguard.
		l.dialing.Add(-1)
		if fd >= 0 {
			unix.Close(fd)
		}
		e.unadmit()
	}
}

// dialAddr is the address a dial failure names: the address as dialed
// when it does not resolve (as on the native and gnet backends), never
// nil, so that OnClose may print c.RemoteAddr().
func dialAddr(network, addr string) net.Addr {
	if network == "unix" {
		return &net.UnixAddr{Name: addr, Net: "unix"}
	}
	if ta, err := net.ResolveTCPAddr(network, addr); err == nil {
		return ta
	}
	return socket.UnresolvedAddr{Net: network, Address: addr}
}

// dupFd takes a nonblocking close-on-exec duplicate of nc's socket, which
// then outlives nc.
func dupFd(nc net.Conn) (int, error) {
	sc, ok := nc.(syscallConner)
	if !ok {
		return -1, fmt.Errorf("uringbackend: %T has no fd", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	cerr := raw.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return -1, cerr
	}
	if derr != nil {
		return -1, derr
	}
	return fd, nil
}

type syscallConner interface {
	SyscallConn() (syscall.RawConn, error)
}
