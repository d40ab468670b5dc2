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

// signalHook, when set (by tests), is told each step of the watcher:
// "draining" after the first signal, "forced" after the second.
var signalHook func(step string)

// watchSignals gives WithSignals to the engine, on every backend: the first
// signal stops it within the drain timeout, a second one cancels the drain
// and closes what is left with ErrForcedStop. ch is notified already (before
// the backend started, so that no signal in between takes the default
// action). The watcher ends with the engine, and the front's Done closes
// after it: no goroutine outlives Done.
func (f *front) watchSignals(ch chan os.Signal) {
	o, backendDone := f.o, f.Engine.Done()
	go func() {
		defer close(f.done)
		defer func() { <-backendDone }() // Stop may return before the engine is done
		defer signal.Stop(ch)
		select {
		case sig := <-ch:
			o.Logger.Info("stopping on signal", "signal", sig, "drain_timeout", o.DrainTimeout)
		case <-backendDone:
			return
		}
		drain, cancelDrain := o.DrainContext()
		defer cancelDrain()
		ctx, cancel := context.WithCancelCause(drain)
		defer cancel(nil)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			f.Stop(ctx)
		}()
		if signalHook != nil {
			signalHook("draining")
		}
		select {
		case sig := <-ch:
			o.Logger.Warn("second signal: closing conns without waiting for them to drain", "signal", sig)
			cancel(ErrForcedStop) // Stop closes what is left with this cause
			if signalHook != nil {
				signalHook("forced")
			}
			<-stopped
		case <-stopped:
		}
	}()
}
