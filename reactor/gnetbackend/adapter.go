//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// adapter is the gnet.EventHandler that drives a reactor.Handler. The
// server's adapter has dialed false; the Client behind Engine.Dial has its
// own with dialed true, whose OnBoot, OnTick and OnShutdown do nothing.
type adapter struct {
	e      *engine
	dialed bool
}

var _ gnet.EventHandler = (*adapter)(nil)

// OnBoot implements gnet.EventHandler.
func (a *adapter) OnBoot(ge gnet.Engine) gnet.Action {
	if a.dialed {
		return gnet.None
	}
	return a.e.boot(ge)
}

// OnShutdown implements gnet.EventHandler. The handler's OnShutdown runs
// later, once gnet has closed every conn and returned (gnet calls this one
// before closing them).
func (a *adapter) OnShutdown(gnet.Engine) {}

// OnTick implements gnet.EventHandler.
func (a *adapter) OnTick() (time.Duration, gnet.Action) {
	if a.dialed {
		return idleTick, gnet.None
	}
	return a.e.tick()
}

// OnOpen implements gnet.EventHandler: the conn's adapter is made here,
// once, and kept in gnet's context slot for the conn's lifetime.
func (a *adapter) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	e := a.e
	w := newConn(e, gc, a.dialed)
	gc.SetContext(w)
	if err := e.admit(w); err != nil {
		if errors.Is(err, reactor.ErrTooManyConns) {
			w.stats.rejected.Add(1)
		}
		e.log.Debug("conn rejected", "remote", w.remote, "err", err)
		if a.dialed {
			// The dial's outcome, reported by OnClose.
			w.dialErr = &net.OpError{Op: "dial", Net: w.remote.Network(), Addr: w.remote, Err: err}
		}
		return nil, gnet.Close
	}
	w.opened = true
	w.stats.open.Add(1)
	w.stats.accepted.Add(1)
	if d := e.o.IdleTimeout; d > 0 {
		w.SetIdleTimeout(d)
	}
	act := w.callOpen()
	return nil, w.settle(act)
}

// OnTraffic implements gnet.EventHandler.
func (a *adapter) OnTraffic(gc gnet.Conn) gnet.Action {
	w, _ := gc.Context().(*wconn)
	if w == nil {
		// Only conns gnet never opened get here: UDP datagrams.
		return a.e.serveDatagram(gc)
	}
	if w.closed.Load() {
		return gnet.None
	}
	n := gc.InboundBuffered() - w.retained
	if n > 0 {
		w.stats.bytesIn.Add(int64(n))
		// Input counts as activity once the handler may see it: the native
		// backend reads nothing from a closing conn, nor above high, so a
		// peer that only sends does not keep such a conn alive there.
		if !w.drainWait && !w.closing.Load() {
			w.touch()
		}
		if w.closing.Load() {
			// The native backend stops reading a closing conn; gnet
			// cannot, so what arrives is dropped unseen.
			gc.Discard(-1)
			w.retained, w.hidden = 0, 0
			return gnet.None
		}
	}
	if w.drainWait {
		// Output is past the high watermark: hold input back until it
		// drains, as the native backend stops reading. gnet reads on, so
		// what piles up is bounded by MaxInbound (settle checks it).
		w.hidden += max(0, n)
		return w.settle(reactor.None)
	}
	act := w.callTraffic()
	return w.settle(act)
}

// OnClose implements gnet.EventHandler.
func (a *adapter) OnClose(gc gnet.Conn, err error) gnet.Action {
	w, _ := gc.Context().(*wconn)
	if w == nil {
		return gnet.None
	}
	w.closed.Store(true)
	w.stopTimers()
	if !w.opened {
		if w.dialErr != nil {
			w.gone = true
			a.e.callClose(w, w.dialErr)
		}
		return gnet.None
	}
	w.deliverHeldAtClose()
	a.e.forget(w)
	w.stats.open.Add(-1)
	w.stats.closed.Add(1)
	cause := w.cause
	if cause == nil {
		cause = closeCause(gc, err)
	}
	if w.inCallback > 0 {
		// gnet closes a conn inside Write when the write fails; the
		// handler hears of it once its callback has returned, as it
		// would from the native backend.
		w.pendingClose, w.closeErr = true, cause
		w.gone = true
		return gnet.None
	}
	a.e.callClose(w, cause)
	w.gone = true // gnet releases the conn's buffers once this returns
	return gnet.None
}

// closeCause turns gnet's close error into evloop's OnClose cause: nil for a
// clean end of stream.
func closeCause(gc gnet.Conn, err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		// A bare io.EOF is gnet's answer to EPOLLHUP/EPOLLERR without
		// anything to read: the socket error says whether it was clean.
		return socket.HangupCause(gc.Fd())
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// ---- callbacks, each guarded so that a panic closes only its conn ----

func (w *wconn) callOpen() (a reactor.Action) {
	w.inCallback++
	defer func() {
		w.inCallback--
		if r := recover(); r != nil {
			w.recovered("OnOpen", r)
			a = reactor.None
		}
	}()
	return w.route.h.OnOpen(w)
}

func (w *wconn) callTraffic() (a reactor.Action) {
	w.inCallback++
	defer func() {
		w.inCallback--
		if r := recover(); r != nil {
			w.recovered("OnTraffic", r)
			a = reactor.None
		}
	}()
	return w.route.h.OnTraffic(w)
}

// callDone runs an async write's callback on the loop, in gnet's task.
func (w *wconn) callDone(done conn.AsyncCallback, err error) {
	func() {
		w.inCallback++
		defer func() {
			w.inCallback--
			if r := recover(); r != nil {
				w.recovered("async write callback", r)
			}
		}()
		done(w, err)
	}()
	w.afterTask(reactor.None)
}

// callDrained runs OnDrained, from the flush watch's loop task.
func (w *wconn) callDrained() (a reactor.Action) {
	w.inCallback++
	defer func() {
		w.inCallback--
		if r := recover(); r != nil {
			w.recovered("OnDrained", r)
			a = reactor.None
		}
	}()
	return w.route.drainer.OnDrained(w)
}

func (e *engine) callClose(w *wconn, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.stats.panics.Add(1)
			e.log.Error("OnClose panicked", "fd", w.fd, "panic", r, "stack", stack())
		}
	}()
	w.route.h.OnClose(w, err)
}

// recovered logs a callback's panic and marks the conn to close with it.
func (w *wconn) recovered(callback string, r any) {
	w.stats.panics.Add(1)
	w.e.log.Error("handler panicked; closing conn", "callback", callback, "fd", w.fd, "remote", w.remote, "panic", r, "stack", stack())
	if w.cause == nil {
		w.cause = fmt.Errorf("%w: %v", reactor.ErrPanic, r)
	}
}

// settle carries out what a callback left for the conn, and returns the
// action gnet should take.
func (w *wconn) settle(a reactor.Action) gnet.Action {
	if w.deliverPendingClose() || w.closed.Load() {
		return gnet.None
	}
	if w.cause == nil && w.e.o.MaxInbound > 0 && w.gc.InboundBuffered() > w.e.o.MaxInbound {
		w.cause = conn.ErrInboundTooLarge
	}
	if w.cause != nil {
		return gnet.Close // a panic or too much inbound: at once, as native
	}
	w.retained = w.gc.InboundBuffered()
	switch a {
	case reactor.Close:
		w.closing.Store(true)
		if w.gc.OutboundBuffered() == 0 {
			w.flushedClose()
			return gnet.None
		}
		w.watchFlush()
	case reactor.Shutdown:
		w.e.shutdownAsync()
	}
	return gnet.None
}

// deliverPendingClose calls OnClose if gnet closed the conn during a
// callback, once that callback has returned.
func (w *wconn) deliverPendingClose() bool {
	if !w.pendingClose || w.inCallback > 0 {
		return w.pendingClose
	}
	w.pendingClose = false
	w.e.callClose(w, w.closeErr)
	return true
}

func stack() string { return string(debug.Stack()) }
