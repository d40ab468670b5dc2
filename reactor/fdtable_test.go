package reactor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/fdconn"
)

func TestFDTable(t *testing.T) {
	var tab fdTable[watcher]
	require.Nil(t, tab.get(-1))
	require.Nil(t, tab.get(0))
	require.Nil(t, tab.get(1<<20))
	tab.set(70000, nil) // clearing where nothing was allocates nothing
	require.Empty(t, tab.pages)

	a := watcherOf(fdconn.NewFD(3, 3, nil, nil, nil))
	b := watcherOf(fdconn.NewFD(5000, 5000, nil, nil, nil))
	tab.set(3, a)
	tab.set(5000, b)
	require.Same(t, a, tab.get(3))
	require.Same(t, b, tab.get(5000))
	require.Nil(t, tab.get(4))
	require.Nil(t, tab.get(4999))
	page := tab.pages[0]
	tab.set(100000, a) // growing keeps the pages where they were
	require.Same(t, page, tab.pages[0])
	require.Same(t, b, tab.get(5000))

	var seen []watcher
	var fds []int
	tab.each(func(fd int, w watcher) {
		seen = append(seen, w)
		fds = append(fds, fd)
		tab.set(connOf(w).Fd(), nil) // each tolerates clearing as it goes
	})
	require.Equal(t, []watcher{a, b, a}, seen, "fd order")
	require.Equal(t, []int{3, 5000, 100000}, fds)
	require.Nil(t, tab.get(3))
	require.Nil(t, tab.get(5000))
	require.Same(t, a, tab.get(100000), "a's second entry was under fd 100000, not its own fd")
}

// scan resumes where it stopped, skips empty pages, and ends once past the
// last entry.
func TestFDTableScan(t *testing.T) {
	var tab fdTable[watcher]
	w := watcherOf(fdconn.NewFD(3, 3, nil, nil, nil))
	for _, fd := range []int{1, 2, 3, 5000, 5001} {
		tab.set(fd, w)
	}
	var seen []int
	next, more := 0, true
	for more {
		next, more = tab.scan(next, func(fd int, _ watcher) bool {
			seen = append(seen, fd)
			return len(seen)%2 != 0 // stop after every second entry
		})
	}
	require.Equal(t, []int{1, 2, 3, 5000, 5001}, seen)
}

// fullTable is a table holding fds 0..n-1, all served by w.
func fullTable(n int) (*fdTable[watcher], watcher) {
	tab := new(fdTable[watcher])
	w := watcherOf(fdconn.NewFD(3, 3, nil, nil, nil))
	for fd := 0; fd < n; fd++ {
		tab.set(fd, w)
	}
	return tab, w
}

// BenchmarkFDTable registers and unregisters a conn's fd, and looks it up
// as dispatch does, in a table holding N fds: flat in N (pages never move;
// the page list grows by doubling, a pointer per 512 fds).
func BenchmarkFDTable(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("fds=%d", n), func(b *testing.B) {
			tab, w := fullTable(n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fd := int(uint32(i) * 2654435761 % uint32(n)) // spread over the table
				tab.set(fd, nil)
				tab.set(fd, w)
				if tab.get(fd) == nil {
					b.Fatal("lost")
				}
			}
		})
	}
}

// BenchmarkStopWalk is the stop walk's cost per conn apart from closing
// it: scanning a table of N conns a slice at a time. Flat in N.
func BenchmarkStopWalk(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("fds=%d", n), func(b *testing.B) {
			tab, _ := fullTable(n)
			b.ReportAllocs()
			b.ResetTimer()
			visited := 0
			for i := 0; i < b.N; i++ {
				next, more := 0, true
				for more {
					budget := stopSlice
					next, more = tab.scan(next, func(int, watcher) bool {
						visited++
						budget--
						return budget > 0
					})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(visited), "ns/conn")
		})
	}
}
