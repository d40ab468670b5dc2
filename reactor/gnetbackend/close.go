//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// A stream conn's close: after its output is flushed, then a linger for the
// peer's end of stream, or at once with a cause.

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// Close implements conn.Conn: the conn closes on its loop once its output
// is flushed (gnet's Close would drop what the kernel has not taken).
func (w *wconn) Close() error {
	if w.closed.Load() {
		return conn.ErrClosed
	}
	return w.post(w.closeGracefully)
}

// closeGracefully closes the conn once its output is flushed; it runs in a
// loop task, outside gnet's callbacks.
func (w *wconn) closeGracefully() {
	if w.closed.Load() || w.closing.Load() {
		return
	}
	w.closing.Store(true)
	if w.gc.OutboundBuffered() == 0 {
		w.flushedClose()
		return
	}
	w.watchFlush()
}

// flushedClose closes a conn whose output is all out. Like the native
// backend (see fdconn.FD.Linger) it first shuts the write half and discards
// input until the peer's EOF, on which gnet closes the conn itself: closing
// a socket with unread input sends RST, and an RST makes the peer's kernel
// drop what it has not read yet. The engine's LingerTimeout bounds the wait.
func (w *wconn) flushedClose() {
	if w.lingering || w.closed.Load() {
		return
	}
	if unix.Shutdown(w.fd, unix.SHUT_WR) != nil {
		w.el.Close(w.gc)
		return
	}
	w.lingering = true
	w.gc.Discard(-1)
	w.retained, w.hidden = 0, 0
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
	// The flush timer is done with: it bounds the linger now.
	w.flushTimer = time.AfterFunc(w.e.o.LingerTimeout, func() {
		w.post(func() {
			if !w.closed.Load() {
				w.el.Close(w.gc)
			}
		})
	})
}

// closeNow closes the conn at once with cause; it runs in a loop task.
func (w *wconn) closeNow(cause error) {
	if w.closed.Load() {
		return
	}
	if w.cause == nil {
		w.cause = cause
	}
	w.el.Close(w.gc)
}

// afterTask carries out what a handler callback run from a loop task (not
// from a gnet callback, so the conn may be closed right here) left to do.
func (w *wconn) afterTask(a reactor.Action) {
	if w.deliverPendingClose() || w.closed.Load() {
		return
	}
	// The callback may have consumed input outside OnTraffic; what OnTraffic
	// counts as new must start from what is left.
	w.retained = w.gc.InboundBuffered()
	if w.cause != nil {
		w.el.Close(w.gc)
		return
	}
	switch a {
	case reactor.Close:
		w.closeGracefully()
	case reactor.Shutdown:
		w.e.shutdownAsync()
	}
}

func (w *wconn) stopTimers() {
	if w.idleTimer != nil {
		w.idleTimer.Stop()
	}
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
}
