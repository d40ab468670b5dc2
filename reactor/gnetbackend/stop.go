//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// Stopping: the drain (every conn told by OnStop; then, once Stop asks,
// closed once flushed, or at once past the deadline), then gnet's stop, in
// the order that strands no conn.

import (
	"context"
	"time"

	"github.com/evloop/evloop/internal/sdnotify"
	"golang.org/x/sys/unix"
)

// stopGrace is how long Stop waits past its ctx for the conns to be
// forced closed and gnet to stop, as on the native backend: past it, Stop
// returns ctx's error and the engine finishes on its own (Done).
const stopGrace = 100 * time.Millisecond

// Stop implements reactor.Engine.
func (e *engine) Stop(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	e.beginStop(deadline)
	select {
	case <-e.done:
		return e.forcedResult()
	case <-ctx.Done():
	}
	cause := context.Cause(ctx) // ctx.Err(), unless cancelled with a cause
	select {
	case e.force <- cause:
	default:
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-e.done:
		return e.forcedResult()
	case <-grace.C:
		return cause
	}
}

// forcedResult is what Stop returns once the engine is done, as on the
// native backend: nil when every conn drained, even if gnet itself took
// longer than ctx to stop.
func (e *engine) forcedResult() error {
	e.forcedMu.Lock()
	defer e.forcedMu.Unlock()
	return e.forcedErr
}

// Drain implements reactor.Engine: new conns are turned away (gnet accepts
// them, and OnOpen closes them: gnet cannot stop accepting and serve on).
func (e *engine) Drain(ctx context.Context) error {
	e.begin()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// shutdownAsync is a callback's Shutdown: drain within the drain timeout.
func (e *engine) shutdownAsync() {
	e.beginStop(e.o.DrainDeadline())
}

// begin starts the drain, once: from then on new conns are turned away,
// and every open one is told (OnStop) and serves on until it closes or
// the stop closes it.
func (e *engine) begin() {
	e.beginOnce.Do(func() {
		sdnotify.Stopping(e.log)
		e.mu.Lock()
		e.stopping = true
		e.stopFlag.Store(true)
		close(e.stopCh)
		open := e.openConns()
		if len(open) == 0 {
			closeOnce(e.drained)
		}
		e.mu.Unlock()
		go e.drain(open)
	})
}

// beginStop begins the drain if it has not, and asks it to close every conn
// once flushed, forcibly at deadline (none if zero).
func (e *engine) beginStop(deadline time.Time) {
	e.begin()
	e.stopReq.Do(func() { e.closeReq <- deadline })
}

// openConns lists the open conns; mu is held.
func (e *engine) openConns() []*wconn {
	open := make([]*wconn, 0, len(e.conns))
	for w := range e.conns {
		open = append(open, w)
	}
	return open
}

// drain tells every conn, closes them gracefully once the stop asks,
// forcibly once its deadline passes or Stop's context ends, then stops gnet
// and the dial client.
func (e *engine) drain(open []*wconn) {
	defer close(e.drainDone)
	e.dialCancel()
	for _, w := range open {
		w.post(w.tell)
	}
	var expired <-chan time.Time
	var cause error
wait:
	for {
		select {
		case <-e.drained:
			break wait
		case <-e.rotateDone: // gnet stopped by itself and closed every conn
			break wait
		case deadline := <-e.closeReq:
			e.mu.Lock()
			open = e.openConns()
			e.mu.Unlock()
			for _, w := range open {
				w.post(w.stopGracefully)
			}
			if !deadline.IsZero() {
				t := time.NewTimer(time.Until(deadline))
				defer t.Stop()
				expired = t.C
			}
		case <-expired:
			cause = context.DeadlineExceeded
			break wait
		case cause = <-e.force:
			break wait
		}
	}
	if cause != nil {
		e.closeAll(cause)
	}
	e.dialWG.Wait()
	e.stopGnet()
	e.stopClient()
}

// tell is the drain's word to w, in a loop task: its handler's OnStop, once.
func (w *wconn) tell() {
	if w.told || w.closed.Load() || w.closing.Load() {
		return
	}
	w.told = true
	if s := w.route.stopper; s != nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.recovered("OnStop", r)
				}
			}()
			s.OnStop(w)
		}()
	}
}

// stopGracefully is the stop's close of w, in a loop task: OnStop if the
// drain has not told it (a protocol layer's last word, TLS's
// close_notify), then the close once flushed.
func (w *wconn) stopGracefully() {
	w.tell()
	if w.closed.Load() || w.closing.Load() {
		return
	}
	w.closeGracefully()
}

// forced records that conns were closed before their output drained.
func (e *engine) forced(cause error) {
	e.forcedMu.Lock()
	defer e.forcedMu.Unlock()
	if e.forcedErr == nil {
		e.forcedErr = cause
	}
}

// closeAll closes every conn still open at once, with cause.
func (e *engine) closeAll(cause error) {
	e.mu.Lock()
	open := make([]*wconn, 0, len(e.conns))
	for w := range e.conns {
		open = append(open, w)
	}
	e.mu.Unlock()
	for _, w := range open {
		w.post(func() {
			if w.closed.Load() {
				return
			}
			if w.lingering {
				w.el.Close(w.gc) // its output is all out: a clean close
				return
			}
			e.forced(cause)
			w.closeNow(cause)
		})
	}
	select {
	case <-e.drained:
	case <-e.rotateDone:
	}
}

// stopGnet stops gnet's engine and waits for gnet.Rotate to return, which
// it does only after every loop and the ticker have exited. gnet's own Stop
// polls for that every 500ms; it is cancelled as soon as Rotate is back.
func (e *engine) stopGnet() {
	if e.stopByListeners() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		e.geng.Stop(ctx)
	}()
	<-e.rotateDone
	cancel()
	<-stopped
}

// listenerStopGrace bounds how long stopByListeners waits for gnet to stop
// by itself before stopping it the usual way.
const listenerStopGrace = 2 * time.Second

// stopByListeners makes gnet stop by itself, in the one order that strands
// no conn. gnet.Engine.Stop tells the sub-loops to exit before the main
// reactor, which accepts on: a conn accepted in between is queued to a loop
// that has gone, and its fd is never opened nor closed. Shutting the
// listening sockets down instead makes the main reactor's accept fail, so it
// exits first, and the conns it queued reach the sub-loops ahead of their
// exit (OnOpen turns them away: the engine is stopping); pending conns in
// the backlog are reset by the kernel. It applies to TCP listeners without
// SO_REUSEPORT only: shutdown does not end a unix listener, and with
// SO_REUSEPORT each loop accepts for itself, so nothing is queued. It
// reports whether gnet stopped; if not, the caller stops it.
func (e *engine) stopByListeners() bool {
	e.dupMu.Lock()
	// resolveAddrs took a duplicate of each TCP listener, and only without
	// SO_REUSEPORT: one per address means this engine qualifies.
	if len(e.listenerDups) != len(e.plan) {
		e.dupMu.Unlock()
		return false
	}
	e.glog.quiet.Store(true) // the failed accept is how gnet stops now, not news
	shut := false
	for _, fd := range e.listenerDups {
		if unix.Shutdown(fd, unix.SHUT_RD) == nil {
			shut = true
		}
	}
	e.dupMu.Unlock()
	if !shut {
		return false
	}
	grace := time.NewTimer(listenerStopGrace)
	defer grace.Stop()
	select {
	case <-e.rotateDone:
		return true
	case <-grace.C:
		e.log.Warn("gnet did not stop when its listeners were shut down; stopping it")
		return false
	}
}

// releaseListenerDups closes the listener duplicates, once gnet has stopped
// or never started: a duplicate would keep a listening socket alive.
func (e *engine) releaseListenerDups() {
	e.dupMu.Lock()
	defer e.dupMu.Unlock()
	for _, fd := range e.listenerDups {
		unix.Close(fd)
	}
	e.listenerDups = nil
}

// monitor finishes the engine once gnet has returned, whether it was
// stopped or stopped by itself.
func (e *engine) monitor() {
	<-e.rotateDone
	e.releaseListenerDups()
	if !e.stopFlag.Load() {
		e.log.Error("gnet stopped by itself; the engine stops", "err", e.rotateErr)
	}
	e.beginStop(time.Time{})
	<-e.drainDone
	e.finish()
}

// finish calls OnShutdown and closes Done.
func (e *engine) finish() {
	func() {
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("OnShutdown panicked", "panic", r)
			}
		}()
		e.h.OnShutdown(e)
	}()
	close(e.done)
}
