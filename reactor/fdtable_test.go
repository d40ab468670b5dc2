package reactor

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/fdconn"
)

func TestFDTable(t *testing.T) {
	var tab fdTable
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
