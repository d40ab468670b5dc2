package reactor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// maxReadsPerWakeup bounds how many reads one conn gets per poller wakeup,
// so that one busy conn cannot starve the others on its loop. Level-triggered
// readiness brings the loop back for the rest.
const maxReadsPerWakeup = 8

// stopSlice is how many conns a stopping loop closes per iteration (see
// stopWalk): enough to amortise the iteration, few enough (a few
// milliseconds of closes) that its timers, tasks and the peers' EOFs are
// not kept waiting by a walk over a million conns.
const stopSlice = 256

// yieldEvery is how often, at most, the loop yields to the scheduler. It
// must stay below the runtime's 10ms forcePreemptNS (see waitAndDispatch).
const yieldEvery = 5 * time.Millisecond

// loop is one event loop: a goroutine, a poller, and the conns and
// listeners it owns. Only its goroutine touches its fields, except tasks,
// stats and the atomics.
type loop struct {
	id       int
	engine   *engine
	poller   poller.Poller
	handler  Handler
	root     *route // the root handler's: conns with no route of their own
	log      *slog.Logger
	tasks    taskQueue
	timers   timerHeap
	watchers fdTable // every fd the poller watches; both fds of a FIFO pair
	shared   fdconn.Shared
	onReady  func(fd int, ev poller.Event)

	open       atomic.Int64
	resolving  atomic.Int32 // dials to host names bound for this loop, still resolving
	stats      loopCounters
	draining   bool     // stopping or draining: endpoints closed, it ends with its last conn
	closing    bool     // stopping: it closes its conns (else a drain only tells them)
	told       bool     // a drain told every conn (OnStop) before the stop began
	walk       stopWalk // while draining: the walk telling or closing its conns
	exited     bool
	acceptBuf  socket.AcceptBuf
	moveTo     *loop // set by MoveBySource during a callback (rehome.go)
	busy       bool  // the last Wait returned events
	clockFresh bool  // shared.Now was read since the last Wait began
	fresh      []int // fds registered since the current Wait returned
	yieldAt    int64 // monotime of the next runtime.Gosched
	spinUntil  int64 // monotime until which the loop polls without blocking (WithBusyPoll)
}

type loopCounters struct {
	accepted, closed, rejected, wakeups, backoffs, panics atomic.Int64
}

// newPoller makes a loop's poller; the internal tests count its calls.
var newPoller = poller.New

func newLoop(id int, e *engine) (*loop, error) {
	p, err := newPoller(e.opts.Poller)
	if err != nil {
		return nil, err
	}
	l := &loop{
		id:      id,
		engine:  e,
		poller:  p,
		handler: e.handler,
		root:    newRoute(e.handler),
		log:     e.opts.Logger.With("loop", id),
	}
	l.shared.Owner = l
	l.shared.Limits = &e.connLimits
	l.shared.ReadBuf = make([]byte, e.opts.ReadBufferSize)
	l.shared.Now = monotime()
	l.onReady = l.dispatch
	return l, nil
}

// run is the loop body, one iteration per wakeup, in phases: wait for
// readiness and dispatch each ready fd to its watcher, run queued tasks, run
// due timers, and while stopping close the next slice of conns; for as long
// as the loop is alive.
func (l *loop) run() {
	defer l.exit()
	for l.alive() {
		if err := l.waitAndDispatch(); err != nil {
			l.failed(err)
			return
		}
		l.tasks.run()
		l.runTimers()
		l.walk.step(l)
	}
}

// alive tells whether the loop has work: it serves until the engine stops,
// then until its last conn is gone and no dial bound for it is resolving.
func (l *loop) alive() bool {
	return !l.draining || l.open.Load() > 0 || l.resolving.Load() > 0
}

// waitAndDispatch waits for readiness, at most pollTimeout, and hands each
// ready fd to its watcher (dispatch) as the poller reports it.
func (l *loop) waitAndDispatch() error {
	l.clockFresh = false
	l.fresh = l.fresh[:0]
	timeout := l.pollTimeout()
	n, err := l.poller.Wait(timeout, l.onReady)
	if err != nil {
		return err
	}
	if timeout == 0 && n == 0 && runtime.GOMAXPROCS(0) == 1 {
		// Polling without blocking keeps the one P: let the goroutines
		// we readied run before we block. With more Ps the runtime has
		// woken an idle one for them already; a Gosched there would
		// only wake one more thread to find nothing (a futex wake and
		// a spin per quiet moment, a fifth of kv's CPU at -P 1).
		runtime.Gosched()
	}
	l.busy = n > 0
	l.stats.wakeups.Add(1)
	l.refreshClock()
	if n > 0 {
		l.spinUntil = l.shared.Now + int64(l.engine.opts.BusyPoll)
	}
	if l.shared.Now >= l.yieldAt {
		// The loop never passes through the scheduler by itself: its
		// syscalls get their P back on the fast path. After 10ms of
		// that, the runtime's sysmon treats it as a long-running
		// goroutine and, finding it in epoll_wait, takes its P and
		// hands it off; each such retake also sets sysmon back to
		// waking every 20us for about a millisecond. That was 6-7% of
		// kv's CPU at redis-benchmark -P 1 and a third more context
		// switches. A yield every few milliseconds moves the P's
		// schedtick on, and sysmon leaves the loop alone.
		l.yieldAt = l.shared.Now + int64(yieldEvery)
		runtime.Gosched()
	}
	return nil
}

// failed stops the loop after its poller failed: listeners and pending
// dials are closed, not leaked, and every conn is torn down with err.
func (l *loop) failed(err error) {
	l.log.Error("poller wait failed; loop stops", "err", err)
	l.drain(time.Time{})
	l.forceCloseAll(err)
	for l.walk.active {
		l.walk.step(l)
	}
}

// pollTimeout is how long Wait may block: not at all while busy, with
// tasks queued or conns left to close, else until the next timer, or
// forever.
func (l *loop) pollTimeout() time.Duration {
	if l.busy || l.tasks.pending.Load() || l.walk.active || l.shared.Now < l.spinUntil {
		// Busy: events came last time, so look again without blocking
		// first. A loop under load then never parks its thread in the
		// kernel, which costs a scheduler handoff per wakeup. With
		// WithBusyPoll it keeps looking for a while after the last
		// event.
		return 0
	}
	next := l.timers.next()
	if next < 0 {
		return -1
	}
	d := time.Duration(next - monotime())
	if d < 0 {
		return 0
	}
	return d
}

func (l *loop) exit() {
	l.exited = true
	l.tasks.close()
	l.engine.loopExited()
}

// refreshClock updates the loop clock once per wakeup: conns stamp their
// activity with it, so it must not be older than the wakeup's events.
func (l *loop) refreshClock() {
	if !l.clockFresh {
		l.shared.Now = monotime()
		l.clockFresh = true
	}
}

// read delivers what the kernel has for c, a bounded number of reads.
func (l *loop) read(c *fdconn.FD) {
	for i := 0; i < maxReadsPerWakeup; i++ {
		n, err := c.FillFrom()
		if c.Lingering() {
			c.Discard(-1)
			if n > 0 {
				continue
			}
			if err != unix.EAGAIN {
				l.teardown(c, nil) // the peer's EOF (or its reset): done
			}
			return
		}
		if n > 0 {
			if !l.traffic(c) {
				return
			}
			if n < len(l.shared.ReadBuf) {
				return // a short read: the socket is drained, EAGAIN would follow
			}
			continue
		}
		switch {
		case err == unix.EAGAIN:
		case err == io.EOF:
			l.closeConn(c, nil)
		default:
			l.teardown(c, fmt.Errorf("read: %w", err))
		}
		return
	}
}

// traffic calls OnTraffic and acts on the result. It reports whether c can
// read on.
func (l *loop) traffic(c *fdconn.FD) bool {
	a := l.callTraffic(c)
	if l.finishMove(c) {
		return false
	}
	if c.IsClosed() {
		return false
	}
	if err := c.Retain(); err != nil {
		l.teardown(c, err)
		return false
	}
	l.act(c, a)
	return !c.IsClosed() && c.WantsRead()
}

// act carries out a callback's Action for c.
func (l *loop) act(c *fdconn.FD, a Action) {
	switch a {
	case Close:
		l.closeConn(c, nil)
	case Shutdown:
		l.engine.shutdownAsync()
	}
}

// flush writes c's buffered output; a conn closing gracefully is torn down
// once it is all out.
func (l *loop) flush(c *fdconn.FD) {
	paused := c.ReadPaused()
	done, err := c.Flush()
	switch {
	case err != nil:
		l.teardown(c, err)
	case done:
		l.finishClose(c)
	case paused && !c.ReadPaused():
		if d := l.routeOf(c).drainer; d != nil {
			l.act(c, l.callDrained(d, c))
		}
	}
}

// closeConn closes c: at once with an error, or after flushing without one.
func (l *loop) closeConn(c *fdconn.FD, err error) {
	if c.IsClosed() {
		return
	}
	if err != nil {
		l.teardown(c, err)
	} else if c.BeginClose() {
		l.finishClose(c)
	}
}

// finishClose releases a conn whose output is flushed, lingering first when
// the peer may still be sending (see fdconn.FD.Linger).
func (l *loop) finishClose(c *fdconn.FD) {
	if !c.Linger() {
		l.teardown(c, nil)
		return
	}
	l.timers.add(timer{when: monotime() + int64(socket.LingerTimeout), conn: c, linger: true})
}

// teardown removes c from the poller, closes its fds and calls OnClose,
// exactly once.
func (l *loop) teardown(c *fdconn.FD, cause error) {
	if c.IsClosed() {
		return
	}
	rfd, wfd := c.ReadFd(), c.WriteFd()
	l.unwatch(rfd)
	if wfd >= 0 && wfd != rfd {
		l.unwatch(wfd)
	}
	if !c.Release() {
		return
	}
	l.open.Add(-1)
	l.stats.closed.Add(1)
	l.callClose(c, cause)
	c.ReleaseInbound()
	l.engine.release() // after OnClose: the handler never sees more than the cap
}

// register adopts a new conn: into the poller, then OnOpen. If it cannot, it
// releases c (closing its fds) and says why; such a conn was never opened.
func (l *loop) register(c *fdconn.FD) error {
	if l.exited {
		// Handed to a loop that has ended: never opened, so no OnClose.
		l.engine.unadmit(c)
		return ErrEngineStopped
	}
	rfd, wfd := c.ReadFd(), c.WriteFd()
	w := watcherOf(c)
	if err := l.watch(rfd, w, poller.Readable); err != nil {
		l.log.Warn("register conn", "fd", rfd, "err", err)
		l.engine.unadmit(c)
		return err
	}
	if wfd != rfd {
		if err := l.watch(wfd, w, 0); err != nil {
			l.log.Warn("register conn", "fd", wfd, "err", err)
			l.unwatch(rfd)
			l.engine.unadmit(c)
			return err
		}
	}
	l.open.Add(1)
	l.stats.accepted.Add(1)
	c.Registered()
	if d := l.engine.opts.IdleTimeout; d > 0 {
		c.SetIdleTimeout(d)
	}
	a := l.callOpen(c)
	if l.finishMove(c) {
		return nil
	}
	if !c.IsClosed() {
		l.act(c, a)
	}
	if l.draining {
		// Accepted as the engine stops, and handed to a loop that drains
		// already: told, and closed as gracefully as the conns it had
		// (closing the bare fd would reset a client that has sent its
		// request, which an upgrade must not do).
		l.drainConn(c)
	}
	return nil
}

// ---- fdconn.Owner ----

// Post implements fdconn.Owner.
func (l *loop) Post(task func()) error {
	if !l.tasks.push(task) {
		return conn.ErrClosed
	}
	// Once queued the task runs, even if the loop is exiting (its queue's
	// close runs what is left), so a Wake that finds the poller closed is
	// no failure of the Post.
	if err := l.poller.Wake(); err != nil && err != poller.ErrClosed {
		return err
	}
	return nil
}

// CloseConn implements fdconn.Owner.
func (l *loop) CloseConn(c *fdconn.FD, err error) { l.closeConn(c, err) }

// TrafficConn implements fdconn.Owner.
func (l *loop) TrafficConn(c *fdconn.FD) {
	if l.traffic(c) && c.OutboundBuffered() == 0 && c.Closing() {
		l.finishClose(c)
	}
}

// ArmIdle implements fdconn.Owner.
func (l *loop) ArmIdle(c *fdconn.FD, when int64, gen uint8) {
	l.timers.add(timer{when: when, conn: c, gen: gen})
}

// ---- timers ----

func (l *loop) runTimers() {
	now := l.shared.Now
	for {
		t, ok := l.timers.popDue(now)
		if !ok {
			return
		}
		switch {
		case t.fn != nil:
			t.fn()
		case loopOf(t.conn) != l:
			// The conn moved to another loop: the entry is not its own now.
		case t.linger:
			l.teardown(t.conn, nil) // no EOF from the peer in time: close anyway
		case t.conn.IdleDue(t.gen, now):
			l.teardown(t.conn, ErrIdleTimeout)
		}
	}
}

// after runs fn on the loop once d has passed.
func (l *loop) after(d time.Duration, fn func()) {
	l.timers.add(timer{when: monotime() + int64(d), fn: fn})
}

// ---- stopping ----

// tellAll starts a drain of this loop (Engine.Drain): listeners close,
// every conn is told by OnStop and serves on, and the loop exits when the
// last one is gone.
func (l *loop) tellAll() {
	if l.draining {
		return
	}
	l.draining = true
	l.closeEndpoints()
	l.walk.start()
}

// drain starts the graceful stop of this loop: listeners close, every conn
// closes once flushed, and the loop exits when the last one is gone. At
// deadline (none if zero) the conns still open are forced closed.
func (l *loop) drain(deadline time.Time) {
	if l.closing {
		return
	}
	if l.draining && l.walk.forced == nil {
		// A drain came first: each conn has heard OnStop (the walk ends
		// first if it has not reached them all) and hears nothing more.
		for l.walk.active {
			l.walk.step(l)
		}
		l.told = true
	}
	if !l.draining {
		l.closeEndpoints()
	}
	l.draining, l.closing = true, true
	if !deadline.IsZero() {
		// Before the walk: the deadline holds however long the walk takes.
		l.after(time.Until(deadline), func() { l.forceCloseAll(context.DeadlineExceeded) })
	}
	l.walk.start()
}

// forceCloseAll tears down every conn still open, with cause, a slice per
// iteration like drain. The first cause is the one conns get.
func (l *loop) forceCloseAll(cause error) {
	if l.walk.forced != nil {
		return
	}
	l.walk.forced = cause
	l.drain(time.Time{}) // the listeners go first, if they have not
	l.walk.start()       // from the first fd again: the conns passed may still flush or linger
}

// drainConn is the stop's treatment of a conn that opens (or moves here)
// while the loop drains: told, and closed too if the loop stops.
func (l *loop) drainConn(c *fdconn.FD) {
	if !l.closing {
		l.tellConn(c)
		return
	}
	if l.told {
		l.tellConn(c) // the stop tells only conns the drain did not
	}
	l.stopConn(c)
}

// tellConn tells c by OnStop that the engine drains; c serves on.
func (l *loop) tellConn(c *fdconn.FD) {
	if c.Closing() || c.IsClosed() {
		return
	}
	if s := l.routeOf(c).stopper; s != nil {
		l.callStop(s, c)
	}
}

// stopConn closes c as the loop's stop has it: gracefully, or at once once
// forced.
func (l *loop) stopConn(c *fdconn.FD) {
	if l.walk.forced == nil && !l.told && !c.Closing() && !c.IsClosed() {
		// A protocol layer's last word (TLS's close_notify) goes out
		// before the graceful close, and makes the conn not quiet.
		if s := l.routeOf(c).stopper; s != nil {
			l.callStop(s, c)
		}
	}
	switch {
	case c.IsClosed():
	case l.walk.forced != nil && (c.Lingering() || c.OutboundBuffered() == 0):
		l.teardown(c, nil) // its output is all out: nothing is cut
	case l.walk.forced != nil:
		l.engine.forced(l.walk.forced)
		l.teardown(c, l.walk.forced)
	case c.Closing():
		// On its way already: flushing, or lingering for the peer's EOF.
	case l.quiet(c):
		// Nothing to flush and nothing unread: close sends the peer a
		// FIN after all we wrote, which is what flushing and lingering
		// would achieve, at half the system calls and no timer.
		l.teardown(c, nil)
	default:
		l.closeConn(c, nil)
	}
}

// quietAfter is how long a conn must have been idle to be closed at stop
// without lingering.
const quietAfter = time.Second

// quiet tells whether c can be closed at once at stop (fdconn.FD.Quiet) and
// has been idle for quietAfter. A peer that has just connected or just been
// answered may be sending right now, and what reaches a closed socket is
// answered with an RST, which can cost the peer output it has not read yet:
// such conns close gracefully and linger.
func (l *loop) quiet(c *fdconn.FD) bool {
	return l.shared.Now-c.LastActive() >= int64(quietAfter) && c.Quiet()
}

// stopWalk is a stopping loop's walk over its conns, telling (a drain) or
// closing them a slice per iteration (step) rather than all in one go:
// between slices the loop serves what it has to, the drain deadline,
// tasks, the peers' EOFs, which a walk over a million conns in one go would
// keep waiting for seconds.
type stopWalk struct {
	active bool
	next   int   // the fd to resume from
	forced error // nil while graceful; else the cause conns are closed with
}

// start begins a walk from the first fd.
func (w *stopWalk) start() { w.active, w.next = true, 0 }

// step tells or closes the next stopSlice conns of l.
func (w *stopWalk) step(l *loop) {
	if !w.active {
		return
	}
	budget := stopSlice
	next, more := l.watchers.scan(w.next, func(_ int, wt watcher) bool {
		if c := connOf(wt); c != nil && !c.IsClosed() {
			if l.closing {
				l.stopConn(c)
			} else {
				l.tellConn(c)
			}
			budget--
		}
		return budget > 0
	})
	w.next, w.active = next, more
}

// ---- callbacks, each guarded so that a panic closes only its conn ----

func (l *loop) recovered(c *fdconn.FD, r any) {
	l.stats.panics.Add(1)
	err := fmt.Errorf("%w: %v", ErrPanic, r)
	if c == nil {
		l.log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
		return
	}
	l.log.Error("handler panicked; closing conn", "fd", c.Fd(), "remote", c.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
	l.teardown(c, err)
}

func (l *loop) callOpen(c *fdconn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return l.routeOf(c).handler.OnOpen(c)
}

func (l *loop) callTraffic(c *fdconn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return l.routeOf(c).handler.OnTraffic(c)
}

func (l *loop) callStop(s StopHandler, c *fdconn.FD) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
		}
	}()
	s.OnStop(c)
}

func (l *loop) callDrained(d DrainHandler, c *fdconn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return d.OnDrained(c)
}

// AsyncDone implements fdconn.Owner.
func (l *loop) AsyncDone(c *fdconn.FD, done conn.AsyncCallback, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
		}
	}()
	done(c, err)
}

func (l *loop) callClose(c *fdconn.FD, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.stats.panics.Add(1)
			l.log.Error("OnClose panicked", "fd", c.Fd(), "panic", r)
		}
	}()
	l.routeOf(c).handler.OnClose(c, err)
}

func (l *loop) callTick() (d time.Duration, a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(nil, r)
			d, a = time.Second, None
		}
	}()
	return l.handler.OnTick()
}

// tick runs OnTick and schedules the next one.
func (l *loop) tick() {
	if l.draining {
		return
	}
	d, a := l.callTick()
	if a == Shutdown {
		l.engine.shutdownAsync()
		return
	}
	if d <= 0 {
		d = time.Millisecond
	}
	l.after(d, l.tick)
}

func (l *loop) snapshot() LoopStats {
	return LoopStats{
		Open:             l.open.Load(),
		Accepted:         l.stats.accepted.Load(),
		Closed:           l.stats.closed.Load(),
		Rejected:         l.stats.rejected.Load(),
		BytesIn:          l.shared.BytesIn.Load(),
		BytesOut:         l.shared.BytesOut.Load(),
		WriteEAGAIN:      l.shared.WriteEAGAIN.Load(),
		OutboundBuffered: l.shared.Outbound.Load(),
		Wakeups:          l.stats.wakeups.Load(),
		AcceptBackoffs:   l.stats.backoffs.Load(),
		Panics:           l.stats.panics.Load(),
	}
}
