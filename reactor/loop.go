package reactor

import (
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// maxReadsPerWakeup bounds how many reads one conn gets per poller wakeup,
// so that one busy conn cannot starve the others on its loop. Level-triggered
// readiness brings the loop back for the rest.
const maxReadsPerWakeup = 8

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
	sweepAt  int              // the heap's length at which addTimer sweeps it next
	watchers fdTable[watcher] // every fd the poller watches; both fds of a FIFO pair
	shared   fdconn.Shared
	onReady  func(fd int, ev poller.Event)

	open       atomic.Int64
	resolving  atomic.Int32 // dials to host names bound for this loop, still resolving
	handoffs   atomic.Int32 // accepted conns another loop is handing to this one
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
// then until its last conn is gone, no dial bound for it is resolving and
// no accepted conn is on its way to it.
func (l *loop) alive() bool {
	return !l.draining || l.open.Load() > 0 || l.resolving.Load() > 0 || l.handoffs.Load() > 0
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
	l.addTimer(timer{when: monotime() + int64(d), fn: fn})
}

// addTimer adds t to the heap. An idle entry whose conn turned its
// timeout off, or armed a later entry, or closed, stays until it comes
// due: a conn that waited under one timeout and then under none (an HTTP
// conn upgraded to WebSocket) leaves one for as long as that timeout.
// So each time the heap has doubled since the last sweep, a sweep drops
// those: the heap holds about the live entries, at O(1) per entry added.
func (l *loop) addTimer(t timer) {
	if len(l.timers) >= max(l.sweepAt, minTimerSweep) {
		l.timers.sweep(func(t *timer) bool {
			return t.conn != nil && !t.linger && (loopOf(t.conn) != l || t.conn.DropIdle(t.gen))
		})
		l.sweepAt = 2 * len(l.timers)
	}
	l.timers.add(t)
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

		OutboundOverflows: l.shared.OutboundOverflows.Load(),
	}
}

// routeOf is the route of a conn of this loop's engine.
func (l *loop) routeOf(c *fdconn.FD) *route {
	if r, ok := c.Origin().Handler.(*route); ok && r != nil {
		return r
	}
	return l.root
}
