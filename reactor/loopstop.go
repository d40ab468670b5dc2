package reactor

import (
	"context"
	"time"

	"github.com/evloop/evloop/internal/fdconn"
)

// A loop's part in the engine's stop and drain: telling its conns
// (OnStop), closing them a slice at a time, and the deadline past which
// they are closed at once.

// stopSlice is how many conns a stopping loop closes per iteration (see
// stopWalk): enough to amortise the iteration, few enough (a few
// milliseconds of closes) that its timers, tasks and the peers' EOFs are
// not kept waiting by a walk over a million conns.
const stopSlice = 256

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
