//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"

	"github.com/evloop/evloop/conn"
)

// wconn is the conn.Conn a handler sees: a gnet.Conn plus the state evloop
// promises and gnet does not keep. Fields without a comment saying otherwise
// are touched only on the conn's loop.
type wconn struct {
	e     *engine
	gc    gnet.Conn
	el    gnet.EventLoop // gc's loop; safe from any goroutine
	stats *loopStats
	route *route // the handler serving the conn

	// Captured at open: gnet clears its own copies when the conn closes,
	// and they are the listener's address rather than the conn's.
	local, remote net.Addr
	fd            int

	ctx      any
	opened   bool // the handler saw OnOpen
	dialErr  error
	retained int // gnet's inbound bytes after the last callback: what is new is counted as read

	closed atomic.Bool // gnet has closed the conn; any goroutine
	gone   bool        // gnet has released the conn's buffers
	// cause is the OnClose cause when evloop, not gnet, closed the conn
	// (panic, idle timeout, inbound limit, forced stop).
	cause        error
	closing      atomic.Bool // close once output is flushed; read by any goroutine
	lingering    bool        // flushed and write-shut: discarding input until the peer's EOF
	told         bool        // OnStop has run
	inCallback   int
	pendingClose bool
	closeErr     error

	overflowed  bool        // a write passed MaxOutbound: the conn is closing at once
	shut        atomic.Bool // ShutdownWrite called; any goroutine
	shutPending bool        // shutdown(2) once output is flushed
	// drainWait: output passed the high watermark. Input that arrives is
	// held back until output is down to the low watermark, when OnDrained
	// and then OnTraffic run.
	drainWait bool
	// hidden is how many bytes at the tail of gnet's inbound buffer the
	// handler does not see: input held back, which the native backend
	// would not have read yet. Every callback, a Wake'd OnTraffic
	// included, sees only what is in front of it; it is revealed a read's
	// worth at a time once output drains (deliverHeld).
	hidden int

	flushTimer    *time.Timer
	flushDelay    time.Duration
	flushRunnable gnet.Runnable

	idle         time.Duration
	lastActive   int64 // unix ns; kept only while idle > 0
	lastOut      int   // OutboundBuffered when last looked at, for flushProgress
	idleTimer    *time.Timer
	idleRunnable gnet.Runnable

	writev [][]byte // scratch: gnet's Writev trims the slice it is given
}

var _ conn.Conn = (*wconn)(nil)

// newConn wraps gc; it runs once per conn, in OnOpen.
func newConn(e *engine, gc gnet.Conn, dialed bool) *wconn {
	el := gc.EventLoop()
	w := &wconn{e: e, gc: gc, el: el, stats: e.loopStatsOf(el), fd: gc.Fd()}
	w.remote = ownAddr(gc.RemoteAddr())
	if dialed {
		w.local = ownAddr(gc.LocalAddr())
		w.route, _ = gc.Context().(*route) // EnrollContext's
		if w.route == nil {
			w.route = e.root
		}
	} else {
		w.local = e.acceptedLocal(gc)
		w.route = e.routes.accepted(gc)
	}
	return w
}

// Context implements conn.Conn. gnet's own context slot holds the wconn.
func (w *wconn) Context() any { return w.ctx }

// SetContext implements conn.Conn.
func (w *wconn) SetContext(v any) { w.ctx = v }

// YieldLoop implements conn.LoopYielder: gnet's loops are ordinary
// goroutines here (its LockOSThread option is not set).
func (w *wconn) YieldLoop() { runtime.Gosched() }

// Wake implements conn.Conn: OnTraffic runs in a loop task (see woken).
func (w *wconn) Wake() error {
	if w.closed.Load() {
		return conn.ErrClosed
	}
	return w.post(w.woken)
}

// LocalAddr implements conn.Conn.
func (w *wconn) LocalAddr() net.Addr { return w.local }

// RemoteAddr implements conn.Conn.
func (w *wconn) RemoteAddr() net.Addr { return w.remote }

// Fd implements conn.Conn: gnet's socket fd.
func (w *wconn) Fd() int { return w.fd }

// RunOnLoop runs task on the conn's loop, also after the conn has closed,
// while the loop runs: how a layer reports something about a conn that
// became known only after its OnClose (a TLS dial's handshake verdict).
func (w *wconn) RunOnLoop(task func()) error { return w.post(task) }

// post runs fn on the conn's loop.
func (w *wconn) post(fn func()) error {
	return mapErr(w.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		fn()
		return nil
	})))
}

// woken runs a Wake's OnTraffic, in a loop task. It is not gnet's Wake,
// whose OnTraffic cannot be told from a read's: a read's OnTraffic is held
// back above the high watermark, a Wake's never is (it sees the input in
// front of what is held, as from the native backend, which stops reading).
func (w *wconn) woken() {
	if w.closed.Load() || w.gone {
		return
	}
	w.afterTask(w.callTraffic())
}

// mapErr turns gnet's "closed" errors into evloop's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, net.ErrClosed), errors.Is(err, gerrors.ErrEngineInShutdown):
		return conn.ErrClosed
	}
	return err
}
