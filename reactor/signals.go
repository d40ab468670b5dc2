package reactor

import (
	"context"
	"errors"
	"os"
	"os/signal"
)

// ErrForcedStop is the OnClose cause of conns closed before they drained
// because a second stop signal (WithSignals) arrived.
var ErrForcedStop = errors.New("reactor: stop forced by a second signal")

// signalWatch is the goroutine behind WithSignals.
type signalWatch struct {
	ch     chan os.Signal
	quit   chan struct{}
	exited chan struct{}
}

// signalHook, when set (by tests), is told each step of the watcher:
// "draining" after the first signal, "forced" after the second.
var signalHook func(step string)

// watchSignals starts the WithSignals watcher as Start ends, just before the
// loops run. The first signal starts a graceful stop bounded by the drain
// timeout; a second one forces it, closing what has not drained.
func (e *engine) watchSignals() {
	if len(e.opts.Signals) == 0 {
		return
	}
	w := &signalWatch{ch: make(chan os.Signal, 2), quit: make(chan struct{}), exited: make(chan struct{})}
	e.signals = w
	signal.Notify(w.ch, e.opts.Signals...)
	go func() {
		defer close(w.exited)
		select {
		case sig := <-w.ch:
			e.opts.Logger.Info("stopping on signal", "signal", sig, "drain_timeout", e.opts.DrainTimeout)
		case <-w.quit:
			return
		}
		e.beginStop(e.opts.DrainDeadline())
		if signalHook != nil {
			signalHook("draining")
		}
		select {
		case sig := <-w.ch:
			e.opts.Logger.Warn("second signal: closing conns without waiting for them to drain", "signal", sig)
			for _, l := range e.loops {
				l.Post(func() { l.forceCloseAll(ErrForcedStop) })
			}
			if signalHook != nil {
				signalHook("forced")
			}
		case <-w.quit:
		}
	}()
}

// stopSignals ends the watcher as the engine finishes, and waits for it:
// no goroutine outlives Done. The watcher never waits on the engine, so
// this cannot deadlock.
func (e *engine) stopSignals() {
	w := e.signals
	if w == nil {
		return
	}
	signal.Stop(w.ch)
	close(w.quit)
	<-w.exited
}

// watchSignalsFor gives WithSignals to backends that do not handle it
// themselves: the first signal stops e within the drain timeout, a second
// one cancels the drain. The goroutines end with the engine.
func watchSignalsFor(e Engine, o *Options) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, o.Signals...)
	go func() {
		defer signal.Stop(ch)
		select {
		case sig := <-ch:
			o.Logger.Info("stopping on signal", "signal", sig, "drain_timeout", o.DrainTimeout)
		case <-e.Done():
			return
		}
		drain, cancelDrain := o.DrainContext()
		defer cancelDrain()
		ctx, cancel := context.WithCancelCause(drain)
		defer cancel(nil)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			e.Stop(ctx)
		}()
		select {
		case sig := <-ch:
			o.Logger.Warn("second signal: closing conns without waiting for them to drain", "signal", sig)
			cancel(ErrForcedStop) // Stop closes what is left with this cause
			<-stopped
		case <-stopped:
		}
	}()
}
