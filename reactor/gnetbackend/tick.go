//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// OnTick, on gnet's ticker goroutine.

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/reactor"
)

// idleTick is the ticker delay when the handler wants no ticks: gnet's
// ticker runs anyway (see gnetOptions) and only needs to wait for the stop.
const idleTick = 24 * time.Hour

// tick runs as gnet's OnTick, on gnet's ticker goroutine.
func (e *engine) tick() (time.Duration, gnet.Action) {
	e.servingOnce.Do(func() { close(e.serving) })
	if !e.o.Ticker || e.stopFlag.Load() {
		return idleTick, gnet.None
	}
	d, a := e.callTick()
	if a == reactor.Shutdown {
		e.shutdownAsync()
		return idleTick, gnet.None
	}
	if d <= 0 {
		d = time.Millisecond
	}
	return d, gnet.None
}

func (e *engine) callTick() (d time.Duration, a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			e.misc.panics.Add(1)
			e.log.Error("OnTick panicked", "panic", r, "stack", stack())
			d, a = time.Second, reactor.None
		}
	}()
	return e.h.OnTick()
}
