//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// The idle timeout: a timer per conn whose check runs on the conn's loop.

import (
	"context"
	"errors"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/reactor"
)

// SetIdleTimeout implements conn.Conn, with a timer per conn that checks it
// on its loop.
func (w *wconn) SetIdleTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("gnetbackend: negative idle timeout")
	case w.closed.Load():
		return nil
	}
	w.idle = d
	if d == 0 {
		if w.idleTimer != nil {
			w.idleTimer.Stop()
		}
		return nil
	}
	w.lastActive = time.Now().UnixNano()
	if w.idleTimer == nil {
		w.idleRunnable = gnet.RunnableFunc(func(context.Context) error {
			w.checkIdle()
			return nil
		})
		w.idleTimer = time.AfterFunc(d, w.idleFired)
	} else {
		w.idleTimer.Reset(d)
	}
	return nil
}

// touch records activity for the idle timeout.
func (w *wconn) touch() {
	if w.idle > 0 {
		w.lastActive = time.Now().UnixNano()
	}
}

// flushProgress counts output the kernel has taken since the last look as
// activity, as the native backend's flushes count: gnet flushes its buffer
// without telling. The flush watch looks every few milliseconds while it
// runs (a closing conn, ShutdownWrite, above high); the idle check looks
// when its deadline comes, so a conn whose output moved only in that window
// lives at most one timeout longer than it would on the native backend.
func (w *wconn) flushProgress() {
	out := w.OutboundBuffered()
	if out < w.lastOut {
		w.touch()
	}
	w.lastOut = out
}

// idleFired runs on the timer's goroutine: the check belongs on the loop.
func (w *wconn) idleFired() {
	if !w.closed.Load() {
		w.el.Execute(context.Background(), w.idleRunnable)
	}
}

func (w *wconn) checkIdle() {
	if w.closed.Load() || w.idle <= 0 {
		return
	}
	w.flushProgress()
	now := time.Now().UnixNano()
	if deadline := w.lastActive + int64(w.idle); now < deadline {
		w.idleTimer.Reset(time.Duration(deadline - now))
		return
	}
	if w.lingering {
		// Closed by the handler with its output out; only the peer's EOF
		// is awaited, and the linger bounds that. Not an idle timeout.
		return
	}
	w.closeNow(reactor.ErrIdleTimeout)
}
