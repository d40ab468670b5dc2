package reactor

import (
	"time"

	"github.com/evloop/evloop/internal/fdconn"
)

// timer is one entry of a loop's timer heap: a function, or a conn's
// idle check or linger deadline. A conn's entries hold no closure, so
// arming one allocates nothing.
type timer struct {
	when   int64 // monotonic nanoseconds
	conn   *fdconn.FD
	gen    uint8 // the idle entry's generation (see fdconn.FD.IdleDue)
	linger bool  // the conn's linger deadline, not an idle check
	fn     func()
}

// timerHeap is a min-heap on when: O(log n) to add and pop, no goroutine
// per timer. A conn's idle entries are what the conn asks for
// (fdconn.Owner.ArmIdle); it decides what each does when due (FD.IdleDue).
//
// It is typed rather than a container/heap: that one boxes every entry
// pushed or popped in an interface, an allocation per timer.
type timerHeap []timer

func (h *timerHeap) add(t timer) {
	*h = append(*h, t)
	h.up(len(*h) - 1)
}

// sweep removes the entries dead reports, restores the heap order, and
// gives back the array's memory when most of it is unused.
func (h *timerHeap) sweep(dead func(*timer) bool) {
	s := *h
	n := 0
	for i := range s {
		if !dead(&s[i]) {
			s[n] = s[i]
			n++
		}
	}
	clear(s[n:]) // drop their references for the collector
	s = s[:n]
	// A heap up to 4×minTimerSweep keeps its array: a few hundred busy
	// conns' stale entries refill it between sweeps, and shrinking it to
	// twice the live ones reallocated it on every sweep (94 bytes per
	// request under wrk).
	if cap(s) > 4*max(n, minTimerSweep) {
		s = append(make(timerHeap, 0, 2*n), s...)
	}
	for i := n/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	*h = s
}

// minTimerSweep is the fewest entries a loop's heap sweeps (loop.addTimer).
const minTimerSweep = 1024

// next is the deadline of the earliest timer, or -1 with none.
func (h timerHeap) next() int64 {
	if len(h) == 0 {
		return -1
	}
	return h[0].when
}

// popDue removes and returns the earliest timer if it is due at now.
func (h *timerHeap) popDue(now int64) (timer, bool) {
	old := *h
	if len(old) == 0 || old[0].when > now {
		return timer{}, false
	}
	t := old[0]
	last := len(old) - 1
	old[0] = old[last]
	old[last] = timer{} // drop its references for the collector
	*h = old[:last]
	h.down(0)
	return t, true
}

// up moves the entry at i towards the root until its parent is earlier.
func (h timerHeap) up(i int) {
	t := h[i]
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].when <= t.when {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = t
}

// down moves the entry at i towards the leaves until no child is earlier.
func (h timerHeap) down(i int) {
	n := len(h)
	if i >= n {
		return
	}
	t := h[i]
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h[right].when < h[child].when {
			child = right
		}
		if t.when <= h[child].when {
			break
		}
		h[i] = h[child]
		i = child
	}
	h[i] = t
}

// clockBase anchors the loops' clock. Deadlines are kept as nanoseconds
// since it, read from the monotonic clock: the wall clock may step or slew.
var clockBase = time.Now()

func monotime() int64 { return int64(time.Since(clockBase)) }
