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
	ticks   atomic.Int32
	third   chan struct{}
	panicAt int32
}

func (h *tickHandler) OnTick() (time.Duration, reactor.Action) {
	n := h.ticks.Add(1)
	if n == h.panicAt {
		panic("tick exploded")
	}
	if n == 3 {
		close(h.third)
	}
	return time.Millisecond, reactor.None
}

func TestTick(t *testing.T) {
	h := &tickHandler{third: make(chan struct{}), panicAt: 2}
	e := start(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithTicker(true))
	within(t, h.third, "three ticks")
	require.EqualValues(t, 1, e.Stats().Panics, "a panicking tick is counted and ticking goes on")
}

func TestNoTickWithoutTicker(t *testing.T) {
	h := &tickHandler{third: make(chan struct{})}
	e := start(t, h, []string{"tcp://127.0.0.1:0"})
	stop(t, e)
	require.Zero(t, h.ticks.Load())
}
