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

	a := fdconn.NewFD(3, 3, nil, nil, nil)
	b := fdconn.NewFD(5000, 5000, nil, nil, nil)
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

	var seen []*fdconn.FD
	tab.each(func(c *fdconn.FD) {
		seen = append(seen, c)
		tab.set(c.Fd(), nil) // each tolerates clearing as it goes
	})
	require.Equal(t, []*fdconn.FD{a, b, a}, seen, "fd order")
	require.Nil(t, tab.get(3))
	require.Nil(t, tab.get(5000))
	require.Same(t, a, tab.get(100000), "a's second entry was under fd 100000, not its own fd")
}
