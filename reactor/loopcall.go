package reactor

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/evloop/evloop/internal/fdconn"
)

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
