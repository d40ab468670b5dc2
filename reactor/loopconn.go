package reactor

import (
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

// A loop's conns: reading, acting on a callback's Action, flushing,
// closing, and adopting a new conn; and the fdconn.Owner methods through
// which a conn reaches its loop.

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
			l.peerEOF(c)
		default:
			l.teardown(c, fmt.Errorf("read: %w", err))
		}
		return
	}
}

// peerEOF acts on the peer's end of stream: the conn closes once flushed,
// unless its handler's OnEOF keeps it open for writing (EOFHandler).
func (l *loop) peerEOF(c *fdconn.FD) {
	if h := l.routeOf(c).eofer; h != nil {
		a := l.callEOF(h, c)
		if c.IsClosed() {
			return
		}
		if a == None && !c.Closing() {
			c.EndRead() // EOF is read: level-triggered, it would wake the loop for ever
			return
		}
		l.act(c, a)
	}
	l.closeConn(c, nil)
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
	l.addTimer(timer{when: monotime() + int64(l.engine.opts.LingerTimeout), conn: c, linger: true})
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
	l.addTimer(timer{when: when, conn: c, gen: gen})
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

// The loop's calls into the handler, each guarded so that a panic closes
// only its conn (or, for OnTick, is logged) and the loop lives.

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

func (l *loop) callEOF(h EOFHandler, c *fdconn.FD) (a Action) {
	defer func() {
		if r := recover(); r != nil {
			l.recovered(c, r)
			a = None
		}
	}()
	return h.OnEOF(c)
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
