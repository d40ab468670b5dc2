//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/reactor"
)

// idleTick is the ticker delay when the handler wants no ticks: gnet's
// ticker runs anyway (see gnetOptions) and only needs to wait for the stop.
const idleTick = 24 * time.Hour

// engine is a reactor.Engine over a gnet engine started with gnet.Rotate.
type engine struct {
	h      reactor.Handler // the root handler: OnBoot, OnTick, OnShutdown
	root   *route          // h's route: Dial's conns
	routes routes          // the listeners' routes, for accepted conns
	o      *reactor.Options
	log    *slog.Logger
	glog   gnetLogger
	plan   []listenerPlan
	srv    *adapter

	// Set while gnet boots, read after booted is closed.
	geng       gnet.Engine
	addrs      []net.Addr
	localByKey map[string]localAddr // gnet's listener address string -> bound address
	bootAction reactor.Action
	bootPanic  any
	bootErr    error
	booted     chan struct{}

	serving     chan struct{} // closed by the first tick: gnet's loops run
	servingOnce sync.Once
	rotateErr   error
	rotateDone  chan struct{} // closed when gnet.Rotate has returned

	localFix sync.Map // gnet's listener net.Addr (one pointer per listener) -> localAddr

	// listenerDups are duplicates of gnet's TCP listening sockets, taken at
	// boot for stopByListeners; closed once gnet has stopped.
	dupMu        sync.Mutex
	listenerDups []int

	mu       sync.Mutex
	conns    map[*wconn]struct{} // conns the handler has seen open
	stopping bool
	drained  chan struct{} // closed once stopping and conns is empty
	stopFlag atomic.Bool   // stopping, readable without mu

	loops     sync.Map // gnet.EventLoop -> *loopStats
	loopsMu   sync.Mutex
	loopOrder []*loopStats // guarded by loopsMu
	misc      loopStats    // counters no loop owns (OnTick panics)

	stopOnce  sync.Once
	force     chan error
	drainDone chan struct{}
	done      chan struct{}
	forcedMu  sync.Mutex
	forcedErr error // why conns were closed before they drained; set once

	dialCtx    context.Context
	dialCancel context.CancelFunc
	dialWG     sync.WaitGroup
	dialMu     sync.Mutex
	client     *gnet.Client
	clientShut bool
}

// localAddr is what an accepted conn's local address is: fixed, or (for a
// listener on an unspecified IP) read from the socket per conn.
type localAddr struct {
	addr      net.Addr
	perSocket bool
}

// loopStats are one gnet loop's counters.
type loopStats struct {
	open, accepted, closed, rejected, bytesIn, bytesOut, panics atomic.Int64
}

func newEngine(h reactor.Handler, o *reactor.Options, plan []listenerPlan) *engine {
	log := o.Logger.With("backend", "gnet")
	e := &engine{
		h:          h,
		o:          o,
		log:        log,
		glog:       newGnetLogger(log),
		plan:       plan,
		booted:     make(chan struct{}),
		serving:    make(chan struct{}),
		rotateDone: make(chan struct{}),
		conns:      map[*wconn]struct{}{},
		drained:    make(chan struct{}),
		force:      make(chan error, 1),
		drainDone:  make(chan struct{}),
		done:       make(chan struct{}),
	}
	e.root = newRoute(h)
	e.routes = routes{byKey: map[string]*route{}, fallbck: e.root}
	if len(plan) == 1 {
		e.routes.only = plan[0].route
	}
	for _, p := range plan {
		if key, ok := routeKey(p); ok {
			e.routes.byKey[key] = p.route
		}
	}
	e.srv = &adapter{e: e}
	e.dialCtx, e.dialCancel = context.WithCancel(context.Background())
	return e
}

// start runs gnet and returns once its listeners are bound, OnBoot has run
// and its loops are serving.
func (e *engine) start() error {
	go e.rotate()
	select {
	case <-e.booted:
	case <-e.rotateDone:
		select {
		case <-e.booted: // booted, then returned at once: OnBoot said Shutdown
		default:
			e.dialCancel()
			if e.rotateErr == nil {
				return errors.New("gnetbackend: gnet stopped before booting")
			}
			return fmt.Errorf("gnetbackend: %w", e.rotateErr)
		}
	}
	if e.bootErr != nil || e.bootPanic != nil || e.bootAction == reactor.Shutdown {
		// OnBoot returned gnet.Shutdown: gnet closes its listeners and
		// returns without starting a loop.
		<-e.rotateDone
		e.releaseListenerDups()
		e.dialCancel()
		if e.bootPanic != nil {
			panic(e.bootPanic) // in Start's caller, as the native backend's OnBoot would
		}
		if e.bootErr != nil {
			return e.bootErr
		}
		e.stopOnce.Do(func() { e.stopFlag.Store(true) })
		e.finish()
		return nil
	}
	select {
	case <-e.serving:
	case <-e.rotateDone:
		select {
		case <-e.serving: // served, and already stopped (a first OnTick said Shutdown)
		default:
			e.releaseListenerDups()
			e.dialCancel()
			return fmt.Errorf("gnetbackend: starting gnet's loops: %w", e.rotateErr)
		}
	}
	go e.monitor()
	e.sdNotify(daemon.SdNotifyReady)
	return nil
}

func (e *engine) rotate() {
	defer close(e.rotateDone)
	e.rotateErr = gnet.Rotate(e.srv, protoAddrs(e.plan), gnetOptions(e.o, e.glog, false)...)
}

// boot runs as gnet's OnBoot: listeners are bound, no loop runs yet.
func (e *engine) boot(ge gnet.Engine) (a gnet.Action) {
	defer close(e.booted)
	e.geng = ge
	if err := e.resolveAddrs(); err != nil {
		e.bootErr = err
		return gnet.Shutdown
	}
	defer func() {
		if r := recover(); r != nil {
			e.bootPanic = r
			a = gnet.Shutdown
		}
	}()
	e.bootAction = e.h.OnBoot(e)
	if e.bootAction == reactor.Shutdown {
		return gnet.Shutdown
	}
	return gnet.None
}

// resolveAddrs reads each listener's bound address from a duplicate of its
// fd: gnet keeps only the address it was asked for, port 0 and all.
func (e *engine) resolveAddrs() error {
	e.localByKey = map[string]localAddr{}
	for _, p := range e.plan {
		fd, err := e.geng.DupListener(p.network, p.address)
		if err != nil {
			return fmt.Errorf("gnetbackend: finding listener %s: %w", p.addr, err)
		}
		sa, err := unix.Getsockname(fd)
		if err == nil && p.network == "tcp" && !e.o.ReusePort {
			e.dupMu.Lock()
			e.listenerDups = append(e.listenerDups, fd)
			e.dupMu.Unlock()
		} else {
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("gnetbackend: getsockname %s: %w", p.addr, err)
		}
		bound := sockaddrToAddr(p.network, sa)
		e.addrs = append(e.addrs, bound)
		if key, ok := gnetListenerKey(p); ok {
			e.localByKey[key] = localAddr{addr: bound, perSocket: unspecified(bound)}
		}
	}
	return nil
}

// gnetListenerKey is the string of the net.Addr gnet gives accepted conns
// as their local address: the listen address resolved, port 0 unresolved.
func gnetListenerKey(p listenerPlan) (string, bool) {
	switch p.network {
	case "tcp":
		a, err := net.ResolveTCPAddr(p.addr.Scheme, p.address)
		if err != nil {
			return "", false
		}
		return a.String(), true
	case "udp":
		a, err := net.ResolveUDPAddr(p.addr.Scheme, p.address)
		if err != nil {
			return "", false
		}
		return a.String(), true
	}
	return "", false
}

// Addrs implements reactor.Engine.
func (e *engine) Addrs() []net.Addr { return append([]net.Addr(nil), e.addrs...) }

// Conns implements reactor.Engine.
func (e *engine) Conns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

// Stats implements reactor.Engine.
func (e *engine) Stats() reactor.Stats {
	e.loopsMu.Lock()
	loops := append([]*loopStats(nil), e.loopOrder...)
	e.loopsMu.Unlock()
	var s reactor.Stats
	for _, l := range loops {
		s.Loop = append(s.Loop, l.snapshot())
	}
	if n := e.misc.panics.Load(); n > 0 {
		if len(s.Loop) == 0 {
			s.Loop = append(s.Loop, reactor.LoopStats{})
		}
		s.Loop[0].Panics += n
	}
	for _, l := range s.Loop {
		s.Add(l)
	}
	return s
}

func (l *loopStats) snapshot() reactor.LoopStats {
	return reactor.LoopStats{
		Open:     l.open.Load(),
		Accepted: l.accepted.Load(),
		Closed:   l.closed.Load(),
		Rejected: l.rejected.Load(),
		BytesIn:  l.bytesIn.Load(),
		BytesOut: l.bytesOut.Load(),
		Panics:   l.panics.Load(),
	}
}

// loopStatsOf returns the counters of gnet loop el. It runs once per conn
// (and once per UDP datagram), so the common case takes no lock.
func (e *engine) loopStatsOf(el gnet.EventLoop) *loopStats {
	if l, ok := e.loops.Load(el); ok {
		return l.(*loopStats)
	}
	e.loopsMu.Lock()
	defer e.loopsMu.Unlock()
	if l, ok := e.loops.Load(el); ok {
		return l.(*loopStats)
	}
	l := &loopStats{}
	e.loops.Store(el, l)
	e.loopOrder = append(e.loopOrder, l)
	return l
}

// Done implements reactor.Engine.
func (e *engine) Done() <-chan struct{} { return e.done }

// admit records w as open, unless the engine is stopping or full.
func (e *engine) admit(w *wconn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopping:
		return reactor.ErrEngineStopped
	case e.o.MaxConns > 0 && len(e.conns) >= e.o.MaxConns:
		return reactor.ErrTooManyConns
	}
	e.conns[w] = struct{}{}
	return nil
}

// forget drops w from the open conns.
func (e *engine) forget(w *wconn) {
	e.mu.Lock()
	delete(e.conns, w)
	if e.stopping && len(e.conns) == 0 {
		closeOnce(e.drained)
	}
	e.mu.Unlock()
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// Stop implements reactor.Engine.
func (e *engine) Stop(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	e.beginStop(deadline)
	var err error
	select {
	case <-e.done:
	case <-ctx.Done():
		err = context.Cause(ctx) // ctx.Err(), unless cancelled with a cause
		select {
		case e.force <- err:
		default:
		}
		<-e.done
	}
	// The native backend's result: nil when every conn drained, even if
	// gnet itself took longer than ctx to stop.
	e.forcedMu.Lock()
	defer e.forcedMu.Unlock()
	return e.forcedErr
}

// shutdownAsync is a callback's Shutdown: drain within the drain timeout.
func (e *engine) shutdownAsync() {
	e.beginStop(e.o.DrainDeadline())
}

// sdNotify tells systemd (Type=notify) the service's state, as the native
// backend does; without NOTIFY_SOCKET it does nothing.
func (e *engine) sdNotify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		e.log.Warn("systemd notify failed", "state", state, "err", err)
	}
}

// beginStop starts the drain, once: from then on new conns are turned away,
// and every open one is closed once flushed.
func (e *engine) beginStop(deadline time.Time) {
	e.stopOnce.Do(func() {
		e.sdNotify(daemon.SdNotifyStopping)
		e.mu.Lock()
		e.stopping = true
		e.stopFlag.Store(true)
		open := make([]*wconn, 0, len(e.conns))
		for w := range e.conns {
			open = append(open, w)
		}
		if len(open) == 0 {
			closeOnce(e.drained)
		}
		e.mu.Unlock()
		go e.drain(deadline, open)
	})
}

// drain closes every conn gracefully, forcibly once deadline passes or Stop's
// context ends, then stops gnet and the dial client.
func (e *engine) drain(deadline time.Time, open []*wconn) {
	defer close(e.drainDone)
	e.dialCancel()
	for _, w := range open {
		w.post(w.closeGracefully)
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	var cause error
	select {
	case <-e.drained:
	case <-e.rotateDone: // gnet stopped by itself and closed every conn
	case <-expired:
		cause = context.DeadlineExceeded
	case cause = <-e.force:
	}
	if cause != nil {
		e.closeAll(cause)
	}
	e.dialWG.Wait()
	e.stopGnet()
	e.stopClient()
}

// forced records that conns were closed before their output drained.
func (e *engine) forced(cause error) {
	e.forcedMu.Lock()
	defer e.forcedMu.Unlock()
	if e.forcedErr == nil {
		e.forcedErr = cause
	}
}

// closeAll closes every conn still open at once, with cause.
func (e *engine) closeAll(cause error) {
	e.mu.Lock()
	open := make([]*wconn, 0, len(e.conns))
	for w := range e.conns {
		open = append(open, w)
	}
	e.mu.Unlock()
	for _, w := range open {
		w.post(func() {
			if w.closed.Load() {
				return
			}
			if w.lingering {
				w.el.Close(w.gc) // its output is all out: a clean close
				return
			}
			e.forced(cause)
			w.closeNow(cause)
		})
	}
	select {
	case <-e.drained:
	case <-e.rotateDone:
	}
}

// stopGnet stops gnet's engine and waits for gnet.Rotate to return, which
// it does only after every loop and the ticker have exited. gnet's own Stop
// polls for that every 500ms; it is cancelled as soon as Rotate is back.
func (e *engine) stopGnet() {
	if e.stopByListeners() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		e.geng.Stop(ctx)
	}()
	<-e.rotateDone
	cancel()
	<-stopped
}

// listenerStopGrace bounds how long stopByListeners waits for gnet to stop
// by itself before stopping it the usual way.
const listenerStopGrace = 2 * time.Second

// stopByListeners makes gnet stop by itself, in the one order that strands
// no conn. gnet.Engine.Stop tells the sub-loops to exit before the main
// reactor, which accepts on: a conn accepted in between is queued to a loop
// that has gone, and its fd is never opened nor closed. Shutting the
// listening sockets down instead makes the main reactor's accept fail, so it
// exits first, and the conns it queued reach the sub-loops ahead of their
// exit (OnOpen turns them away: the engine is stopping); pending conns in
// the backlog are reset by the kernel. It applies to TCP listeners without
// SO_REUSEPORT only: shutdown does not end a unix listener, and with
// SO_REUSEPORT each loop accepts for itself, so nothing is queued. It
// reports whether gnet stopped; if not, the caller stops it.
func (e *engine) stopByListeners() bool {
	e.dupMu.Lock()
	// resolveAddrs took a duplicate of each TCP listener, and only without
	// SO_REUSEPORT: one per address means this engine qualifies.
	if len(e.listenerDups) != len(e.plan) {
		e.dupMu.Unlock()
		return false
	}
	e.glog.quiet.Store(true) // the failed accept is how gnet stops now, not news
	shut := false
	for _, fd := range e.listenerDups {
		if unix.Shutdown(fd, unix.SHUT_RD) == nil {
			shut = true
		}
	}
	e.dupMu.Unlock()
	if !shut {
		return false
	}
	grace := time.NewTimer(listenerStopGrace)
	defer grace.Stop()
	select {
	case <-e.rotateDone:
		return true
	case <-grace.C:
		e.log.Warn("gnet did not stop when its listeners were shut down; stopping it")
		return false
	}
}

// releaseListenerDups closes the listener duplicates, once gnet has stopped
// or never started: a duplicate would keep a listening socket alive.
func (e *engine) releaseListenerDups() {
	e.dupMu.Lock()
	defer e.dupMu.Unlock()
	for _, fd := range e.listenerDups {
		unix.Close(fd)
	}
	e.listenerDups = nil
}

// monitor finishes the engine once gnet has returned, whether it was
// stopped or stopped by itself.
func (e *engine) monitor() {
	<-e.rotateDone
	e.releaseListenerDups()
	if !e.stopFlag.Load() {
		e.log.Error("gnet stopped by itself; the engine stops", "err", e.rotateErr)
	}
	e.beginStop(time.Time{})
	<-e.drainDone
	e.finish()
}

// finish calls OnShutdown and closes Done.
func (e *engine) finish() {
	func() {
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("OnShutdown panicked", "panic", r)
			}
		}()
		e.h.OnShutdown(e)
	}()
	close(e.done)
}

// tick runs as gnet's OnTick, on gnet's ticker goroutine.
func (e *engine) tick() (time.Duration, gnet.Action) {
	e.servingOnce.Do(func() { close(e.serving) })
	if !e.o.Ticker || e.stopFlag.Load() {
		return idleTick, gnet.None
	}
	d, a := e.callTick()
	if a == reactor.Shutdown {
		e.shutdownAsync()
		return idleTick, gnet.None
	}
	if d <= 0 {
		d = time.Millisecond
	}
	return d, gnet.None
}

func (e *engine) callTick() (d time.Duration, a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			e.misc.panics.Add(1)
			e.log.Error("OnTick panicked", "panic", r, "stack", stack())
			d, a = time.Second, reactor.None
		}
	}()
	return e.h.OnTick()
}
