//go:build linux

package uringbackend

import "time"

// A loop's timers: a min-heap by deadline (ties in the order they were
// set). An entry runs fn, or is a conn's idle timeout: those carry the conn
// and the generation they were armed with instead of a closure, so an idle
// conn holds no function value.
type timer struct {
	when int64
	seq  uint64
	fn   func()
	conn *uconn // an idle timeout's conn (fn is nil)
	gen  uint16 // conn.idleGen when it was armed
}

type timerHeap []timer

func (h timerHeap) less(i, j int) bool {
	return h[i].when < h[j].when || h[i].when == h[j].when && h[i].seq < h[j].seq
}

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	t := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = timer{}
	s = s[:last]
	s.down(0)
	*h = s
	return t
}

// down moves entry i down to its place.
func (h timerHeap) down(i int) {
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (l *loop) at(when int64, fn func()) {
	l.timerSeq++
	l.addTimer(timer{when: when, seq: l.timerSeq, fn: fn})
}

// addTimer pushes t. An idle entry whose conn turned its timeout off,
// armed a later entry, or closed stays until it comes due: an HTTP conn
// upgraded to WebSocket leaves one for the HTTP idle timeout. So each
// time the heap has doubled since the last sweep, the sweep drops those:
// the heap holds about the live entries, at O(1) per entry added.
func (l *loop) addTimer(t timer) {
	if len(l.timers) >= max(l.sweepAt, minTimerSweep) {
		l.timers.sweep()
		l.sweepAt = 2 * len(l.timers)
	}
	l.timers.push(t)
}

// minTimerSweep is the fewest entries a loop's heap sweeps.
const minTimerSweep = 1024

// sweep removes the idle entries that would do nothing when due, restores
// the heap order, and gives back the array's memory when most of it is
// unused.
func (h *timerHeap) sweep() {
	s := *h
	n := 0
	for i := range s {
		if c := s[i].conn; c == nil || !c.idleDead(s[i].gen) {
			s[n] = s[i]
			n++
		}
	}
	clear(s[n:])
	s = s[:n]
	// A heap up to 4×minTimerSweep keeps its array: a few hundred busy
	// conns' stale entries refill it between sweeps, and shrinking it to
	// twice the live ones reallocated it on every sweep (94 bytes per
	// request under wrk).
	if cap(s) > 4*max(n, minTimerSweep) {
		s = append(make(timerHeap, 0, 2*n), s...)
	}
	s.init()
	*h = s
}

func (l *loop) after(d time.Duration, fn func()) { l.at(monotime()+int64(d), fn) }

// atIdle arms c's idle timeout for when.
func (l *loop) atIdle(when int64, c *uconn) {
	l.timerSeq++
	l.addTimer(timer{when: when, seq: l.timerSeq, conn: c, gen: c.idleGen})
}

func (l *loop) runTimers() {
	for len(l.timers) > 0 && l.timers[0].when <= l.now {
		t := l.timers.pop()
		if t.conn != nil {
			t.conn.idleDue(t.gen)
			continue
		}
		t.fn()
	}
}

// init restores the heap order of the whole slice.
func (h timerHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
