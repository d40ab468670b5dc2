//go:build linux

package uringbackend

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A loop's timer heap sweeps out the idle entries that would do nothing
// when due once it has grown to minTimerSweep: those of conns whose
// timeout is off, or served by a later entry, or released. The live
// entries and the function timers stay, in deadline order.
func TestTimerSweepDropsDeadIdleEntries(t *testing.T) {
	l := &loop{}
	var live []*uconn
	fns := 0
	for i := 0; len(l.timers) < minTimerSweep; i++ {
		c := &uconn{l: l, idle: time.Hour}
		when := int64(minTimerSweep - i) // the heap has work to do
		switch i % 4 {
		case 0: // live
			c.armIdle(when)
			live = append(live, c)
		case 1: // turned off
			c.armIdle(when)
			c.idle = 0
		case 2: // replaced by a later entry: one live entry stays
			c.armIdle(when)
			c.armIdle(when + 1)
			live = append(live, c)
		case 3:
			l.at(when, func() {})
			fns++
		}
	}
	l.at(0, func() {}) // the entry that finds the heap full: it sweeps
	fns++
	require.Less(t, len(l.timers), minTimerSweep, "swept once it reached %d", minTimerSweep)
	idle, gotFns := 0, 0
	var last int64 = -1
	for len(l.timers) > 0 {
		e := l.timers.pop()
		require.GreaterOrEqual(t, e.when, last, "in deadline order")
		last = e.when
		if e.conn == nil {
			gotFns++
			continue
		}
		require.Equal(t, e.conn.idleGen, e.gen, "only live entries stay")
		idle++
	}
	require.Equal(t, len(live), idle)
	require.Equal(t, fns, gotFns, "function timers stay")
}
