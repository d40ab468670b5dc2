//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

type tickHandler struct {
	reactor.BaseHandler
	ticks    atomic.Int32
	third    chan struct{}
	panicAt  int32
	shutAt   int32
	shutdown chan struct{}
}

func (h *tickHandler) OnTick() (time.Duration, reactor.Action) {
	n := h.ticks.Add(1)
	if n == h.panicAt {
		panic("tick exploded")
	}
	if n == 3 {
		close(h.third)
	}
	if n == h.shutAt {
		return 0, reactor.Shutdown
	}
	return time.Millisecond, reactor.None
}

func (h *tickHandler) OnShutdown(reactor.Engine) { close(h.shutdown) }

func TestTick(t *testing.T) {
	h := &tickHandler{third: make(chan struct{}), panicAt: 2, shutdown: make(chan struct{})}
	e := start(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithTicker(true))
	within(t, h.third, "three ticks")
	require.EqualValues(t, 1, e.Stats().Panics, "a panicking tick is counted and ticking goes on")
}

func TestNoTickWithoutTicker(t *testing.T) {
	h := &tickHandler{third: make(chan struct{}), shutdown: make(chan struct{})}
	e := start(t, h, []string{"tcp://127.0.0.1:0"})
	stop(t, e)
	require.Zero(t, h.ticks.Load())
}

func TestTickShutdown(t *testing.T) {
	h := &tickHandler{third: make(chan struct{}), shutAt: 3, shutdown: make(chan struct{})}
	e := start(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithTicker(true))
	within(t, e.Done(), "Done after OnTick returned Shutdown")
	within(t, h.shutdown, "OnShutdown")
	require.EqualValues(t, 3, h.ticks.Load(), "no tick once stopping")
}
