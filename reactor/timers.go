package reactor

import (
	"container/heap"
	"time"

	"github.com/evloop/evloop/internal/fdconn"
)

// timer is one entry of a loop's timer heap: either a conn's idle check
// (idle != nil) or a function.
type timer struct {
	when int64 // monotonic nanoseconds
	idle *fdconn.FD
	gen  uint8 // the idle entry's generation (see fdconn.FD.IdleDue)
	fn   func()
}

// timerHeap is a min-heap on when: O(log n) to add and pop, no goroutine
// per timer. A conn's idle entries are what the conn asks for
// (fdconn.Owner.ArmIdle); it decides what each does when due (FD.IdleDue).
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return t
}

func (h *timerHeap) add(t timer) { heap.Push(h, t) }

// next is the deadline of the earliest timer, or -1 with none.
func (h timerHeap) next() int64 {
	if len(h) == 0 {
		return -1
	}
	return h[0].when
}

// popDue removes and returns the earliest timer if it is due at now.
func (h *timerHeap) popDue(now int64) (timer, bool) {
	if len(*h) == 0 || (*h)[0].when > now {
		return timer{}, false
	}
	return heap.Pop(h).(timer), true
}

// clockBase anchors the loops' clock. Deadlines are kept as nanoseconds
// since it, read from the monotonic clock: the wall clock may step or slew.
var clockBase = time.Now()

func monotime() int64 { return int64(time.Since(clockBase)) }
