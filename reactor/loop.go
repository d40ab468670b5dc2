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
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// maxReadsPerWakeup bounds how many reads one conn gets per poller wakeup,
// so that one busy conn cannot starve the others on its loop. Level-triggered
// readiness brings the loop back for the rest.
const maxReadsPerWakeup = 8

// loop is one event loop: a goroutine, a poller, and the conns and
// listeners it owns. Only its goroutine touches its fields, except tasks,
// stats and the atomics.
type loop struct {
	id        int
	engine    *engine
	poller    poller.Poller
	handler   Handler
	log       *slog.Logger
	tasks     taskQueue
	timers    timerHeap
	conns     fdTable // both fds of a FIFO pair
	listeners map[int]*listener
	shared    conn.Shared
	onReady   func(fd int, ev poller.Event)

	open       atomic.Int64
	resolving  atomic.Int32 // dials to host names bound for this loop, still resolving
	stats      loopCounters
	draining   bool
	exited     bool
	acceptBuf  socket.AcceptBuf
	clockFresh bool  // shared.Now was read since the last Wait began
	fresh      []int // fds registered since the current Wait returned
}

type loopCounters struct {
	accepted, closed, rejected, wakeups, backoffs, panics atomic.Int64
}

func newLoop(id int, e *engine) (*loop, error) {
	p, err := poller.New(e.opts.Poller)
	if err != nil {
		return nil, err
	}
	l := &loop{
		id:        id,
		engine:    e,
		poller:    p,
		handler:   e.handler,
		log:       e.opts.Logger.With("loop", id),
		listeners: map[int]*listener{},
	}
	l.shared.Owner = l
	l.shared.Limits = e.limits()
	l.shared.ReadBuf = make([]byte, e.opts.ReadBufferSize)
	l.shared.Now = monotime()
	l.onReady = l.dispatch
	return l, nil
}

// run is the loop body: wait for readiness, dispatch ready fds, run queued
// tasks, run due timers; until the engine has stopped and every conn is gone.
func (l *loop) run() {
	defer l.exit()
	busy := false
	for !(l.draining && l.open.Load() == 0 && l.resolving.Load() == 0) {
		l.clockFresh = false
		l.fresh = l.fresh[:0]
		timeout := l.waitTimeout()
		if busy {
			// Events came last time: look again without blocking first. A
			// loop under load then never parks its thread in the kernel,
			// which costs a scheduler handoff per wakeup.
			timeout = 0
		}
		n, err := l.poller.Wait(timeout, l.onReady)
		if err != nil {
			l.log.Error("poller wait failed; loop stops", "err", err)
			l.drain(time.Time{}) // listeners, pending dials: closed, not leaked
			l.forceCloseAll(err)
			return
		}
		if busy && n == 0 && runtime.GOMAXPROCS(0) == 1 {
			// Polling without blocking keeps the one P: let the goroutines
			// we readied run before we block. With more Ps the runtime has
			// woken an idle one for them already; a Gosched there would
			// only wake one more thread to find nothing (a futex wake and
			// a spin per quiet moment, a fifth of kv's CPU at -P 1).
			runtime.Gosched()
		}
		busy = n > 0
		l.stats.wakeups.Add(1)
		l.refreshClock()
		l.tasks.run()
		l.runTimers()
	}
}

// waitTimeout is how long Wait may block: until the next timer, or forever.
func (l *loop) waitTimeout() time.Duration {
	if l.tasks.pending.Load() {
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

// registeredThisBatch tells whether fd was registered during the current
// batch of events: a later event of the same batch for that fd number was
// meant for the conn that held it before. The list is almost always empty.
func (l *loop) registeredThisBatch(fd int) bool {
	for _, f := range l.fresh {
		if f == fd {
			return true
		}
	}
	return false
}

// dispatch handles one ready fd.
func (l *loop) dispatch(fd int, ev poller.Event) {
	l.refreshClock()
	if c := l.conns.get(fd); c != nil {
		if l.registeredThisBatch(fd) {
			// The event is for the conn that held the fd number before.
			// Level triggering reports the new conn's own readiness on
			// the next Wait.
			return
		}
		l.connReady(c, fd, ev)
		return
	}
	if ln, ok := l.listeners[fd]; ok {
		if ln.special != nil {
			ln.special.ready(ev)
			return
		}
		l.accept(ln)
		return
	}
	// A fd closed earlier in this batch: nothing owns it now.
}

func (l *loop) connReady(c *conn.FD, fd int, ev poller.Event) {
	if fd == c.ReadFd() && ev&(poller.Readable|poller.Hangup|poller.Error|poller.ReadHangup) != 0 {
		if c.WantsRead() || ev&(poller.Hangup|poller.Error) == 0 {
			l.read(c)
		}
	}
	if c.IsClosed() || fd != c.WriteFd() {
		return
	}
	if c.OutboundBuffered() > 0 && ev&(poller.Writable|poller.Hangup|poller.Error) != 0 {
		l.flush(c)
		return
	}
	if ev&(poller.Hangup|poller.Error) != 0 && c.ReadFd() != c.WriteFd() {
		l.brokenPair(c) // fifo.go
		return
	}
	if ev&(poller.Hangup|poller.Error) != 0 && !c.WantsRead() {
		// Terminal and level-triggered: with nothing read or written to
		// notice it, tear down now or the loop would spin on it.
		l.teardown(c, hangupCause(fd))
	}
}

func hangupCause(fd int) error {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && v != 0 {
		return fmt.Errorf("socket error: %w", unix.Errno(v))
	}
	return io.ErrUnexpectedEOF
}

// read delivers what the kernel has for c, a bounded number of reads.
func (l *loop) read(c *conn.FD) {
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
func (l *loop) traffic(c *conn.FD) bool {
	a := l.callTraffic(c)
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
func (l *loop) act(c *conn.FD, a Action) {
	switch a {
	case Close:
		l.closeConn(c, nil)
	case Shutdown:
		l.engine.shutdownAsync()
	}
}

// flush writes c's buffered output; a conn closing gracefully is torn down
// once it is all out.
func (l *loop) flush(c *conn.FD) {
	paused := c.ReadPaused()
	done, err := c.Flush()
	switch {
	case err != nil:
		l.teardown(c, err)
	case done:
		l.finishClose(c)
	case paused && !c.ReadPaused():
		if d, ok := l.handler.(DrainHandler); ok {
			l.act(c, l.callDrained(d, c))
		}
	}
}

// closeConn closes c: at once with an error, or after flushing without one.
func (l *loop) closeConn(c *conn.FD, err error) {
	if c.IsClosed() {
		return
	}
	if err != nil {
		l.teardown(c, err)
	} else if c.BeginClose() {
		l.finishClose(c)
	}
}

// lingerTimeout bounds how long a closed conn waits for its peer's EOF.
const lingerTimeout = 2 * time.Second

// finishClose releases a conn whose output is flushed, lingering first when
// the peer may still be sending (see conn.FD.Linger).
func (l *loop) finishClose(c *conn.FD) {
	if !c.Linger() {
		l.teardown(c, nil)
		return
	}
	l.after(lingerTimeout, func() { l.teardown(c, nil) })
}

// teardown removes c from the poller, closes its fds and calls OnClose,
// exactly once.
func (l *loop) teardown(c *conn.FD, cause error) {
	if c.IsClosed() {
		return
	}
	rfd, wfd := c.ReadFd(), c.WriteFd()
	l.poller.Remove(rfd)
	l.conns.set(rfd, nil)
	if wfd >= 0 && wfd != rfd {
		l.poller.Remove(wfd)
		l.conns.set(wfd, nil)
	}
	if !c.Release() {
		return
	}
	l.open.Add(-1)
	l.engine.open.Add(-1)
	l.stats.closed.Add(1)
	l.callClose(c, cause)
	c.ReleaseInbound()
}

// register adopts a new conn: into the poller, then OnOpen. If it cannot, it
// releases c (closing its fds) and says why; such a conn was never opened.
func (l *loop) register(c *conn.FD) error {
	if l.draining {
		// Accepted while the engine stops: never opened, so no OnClose.
		c.Release()
		l.engine.open.Add(-1)
		return ErrEngineStopped
	}
	rfd, wfd := c.ReadFd(), c.WriteFd()
	if err := l.poller.Add(rfd, poller.Readable); err != nil {
		l.log.Warn("register conn", "fd", rfd, "err", err)
		c.Release()
		l.engine.open.Add(-1)
		return err
	}
	if wfd != rfd {
		if err := l.poller.Add(wfd, 0); err != nil {
			l.log.Warn("register conn", "fd", wfd, "err", err)
			l.poller.Remove(rfd)
			c.Release()
			l.engine.open.Add(-1)
			return err
		}
		l.conns.set(wfd, c)
		l.fresh = append(l.fresh, wfd)
	}
	l.conns.set(rfd, c)
	l.fresh = append(l.fresh, rfd)
	l.open.Add(1)
	l.stats.accepted.Add(1)
	c.Registered()
	if d := l.engine.opts.IdleTimeout; d > 0 {
		c.SetIdleTimeout(d)
	}
	a := l.callOpen(c)
	if !c.IsClosed() {
		l.act(c, a)
	}
	return nil
}

// ---- conn.Owner ----

// SetInterest implements conn.Owner.
func (l *loop) SetInterest(fd int, read, write bool) error {
	var ev poller.Event
	if read {
		ev |= poller.Readable
	}
	if write {
		ev |= poller.Writable
	}
	if c := l.conns.get(fd); c != nil && fd == c.ReadFd() && fd != c.WriteFd() {
		// The read half of a FIFO pair. Pollers report a pipe's hangup
		// whatever the interest, and for a pipe it is not the end of the
		// conn but the writer's EOF, which stays set: a read half that is
		// not reading (closing, or paused by backpressure) would wake the
		// loop on every Wait. So it leaves the poller until it reads again.
		if ev == 0 {
			return l.poller.Remove(fd)
		}
		return l.poller.Add(fd, ev)
	}
	return l.poller.Modify(fd, ev)
}

// Post implements conn.Owner.
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

// CloseConn implements conn.Owner.
func (l *loop) CloseConn(c *conn.FD, err error) { l.closeConn(c, err) }

// TrafficConn implements conn.Owner.
func (l *loop) TrafficConn(c *conn.FD) {
	if l.traffic(c) && c.OutboundBuffered() == 0 && c.Closing() {
		l.finishClose(c)
	}
}

// IdleChanged implements conn.Owner.
func (l *loop) IdleChanged(c *conn.FD) {
	if d := c.IdleTimeout(); d > 0 {
		l.timers.add(timer{when: c.LastActive() + int64(d), idle: c, gen: c.IdleTimerArmed()})
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
		if t.fn != nil {
			t.fn()
			continue
		}
		c := t.idle
		live := c.IdleTimerFired(t.gen)
		d := c.IdleTimeout()
		if c.IsClosed() || d <= 0 {
			continue
		}
		if !live && c.IdleLive() {
			continue // stale: a later timeout armed the live entry
		}
		// The live entry, or a stale one with none live (the entry cap
		// was reached): this one serves the timeout from now on.
		if deadline := c.LastActive() + int64(d); deadline > now {
			t.when = deadline
			if live {
				c.IdleTimerRearmed()
			} else {
				t.gen = c.IdleTimerArmed()
			}
			l.timers.add(t)
			continue
		}
		if c.Lingering() {
			// The handler closed it and its output is out: only the
			// peer's EOF is awaited, and the linger timer bounds that.
			// Idleness now is no error of the conn's.
			continue
		}
		l.teardown(c, ErrIdleTimeout)
	}
}

// after runs fn on the loop once d has passed.
func (l *loop) after(d time.Duration, fn func()) {
	l.timers.add(timer{when: monotime() + int64(d), fn: fn})
}

// ---- stopping ----

// drain starts the graceful stop of this loop: listeners close, every conn
// closes once flushed, and the loop exits when the last one is gone.
func (l *loop) drain(deadline time.Time) {
	if l.draining {
		return
	}
	l.draining = true
	for fd, ln := range l.listeners {
		l.poller.Remove(fd)
		ln.close()
		delete(l.listeners, fd)
	}
	l.conns.each(func(c *conn.FD) {
		if !c.IsClosed() {
			l.closeConn(c, nil)
		}
	})
	if !deadline.IsZero() {
		l.after(time.Until(deadline), func() { l.forceCloseAll(context.DeadlineExceeded) })
	}
}

// forceCloseAll tears down every conn still open, with cause.
func (l *loop) forceCloseAll(cause error) {
	l.draining = true
	l.conns.each(func(c *conn.FD) {
		if c.IsClosed() {
			return
		}
		if c.Lingering() {
			l.teardown(c, nil) // its output is all out: a clean close
			return
		}
		l.engine.forced(cause)
		l.teardown(c, cause)
	})
}

// ---- callbacks, each guarded so that a panic closes only its conn ----

func (l *loop) recovered(c *conn.FD, r any) {
	l.stats.panics.Add(1)
	err := fmt.Errorf("%w: %v", ErrPanic, r)
	if c == nil {
		l.log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
		return
	}
	l.log.Error("handler panicked; closing conn", "fd", c.Fd(), "remote", c.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
	l.teardown(c, err)
}

func (l *loop) callOpen(c *conn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return l.handler.OnOpen(c)
}

func (l *loop) callTraffic(c *conn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return l.handler.OnTraffic(c)
}

func (l *loop) callDrained(d DrainHandler, c *conn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return d.OnDrained(c)
}

// AsyncDone implements conn.Owner.
func (l *loop) AsyncDone(c *conn.FD, done conn.AsyncCallback, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
		}
	}()
	done(c, err)
}

func (l *loop) callClose(c *conn.FD, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.stats.panics.Add(1)
			l.log.Error("OnClose panicked", "fd", c.Fd(), "panic", r)
		}
	}()
	l.handler.OnClose(c, err)
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
