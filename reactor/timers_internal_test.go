package reactor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The heap pops timers in deadline order, whatever order they came in.
func TestTimerHeapPopsInOrder(t *testing.T) {
	var h timerHeap
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		h.add(timer{when: r.Int64N(500)})
	}
	last := int64(-1)
	for i := 0; i < 1000; i++ {
		require.GreaterOrEqual(t, h.next(), last)
		tm, ok := h.popDue(h.next())
		require.True(t, ok)
		require.GreaterOrEqual(t, tm.when, last)
		last = tm.when
	}
	_, ok := h.popDue(1 << 62)
	require.False(t, ok)
	require.Equal(t, int64(-1), h.next())
}

// Only what is due pops.
func TestTimerHeapPopsOnlyWhatIsDue(t *testing.T) {
	var h timerHeap
	for _, w := range []int64{30, 10, 20} {
		h.add(timer{when: w})
	}
	tm, ok := h.popDue(15)
	require.True(t, ok)
	require.Equal(t, int64(10), tm.when)
	_, ok = h.popDue(15)
	require.False(t, ok)
	require.Equal(t, int64(20), h.next())
}

// BenchmarkTimerHeap adds N timers in random order and pops them all, as a
// loop holding N conns with idle timeouts does over time: per timer, the
// cost should grow with log N only, and nothing is allocated once the
// heap's array has grown.
func BenchmarkTimerHeap(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("timers=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			whens := make([]int64, n)
			for i := range whens {
				whens[i] = r.Int64N(1 << 40)
			}
			h := make(timerHeap, 0, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, w := range whens {
					h.add(timer{when: w})
				}
				for {
					if _, ok := h.popDue(1 << 62); !ok {
						break
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/timer")
		})
	}
}
