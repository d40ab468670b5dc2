package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCallsAfterClose(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, _ := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		require.NoError(t, p.Close())

		// The poller's fd numbers may already belong to someone else, so
		// nothing may touch them.
		require.ErrorIs(t, p.Close(), ErrClosed)
		require.ErrorIs(t, p.Wake(), ErrClosed)
		require.ErrorIs(t, p.Add(a, Readable), ErrClosed)
		require.ErrorIs(t, p.Modify(a, Writable), ErrClosed)
		require.ErrorIs(t, p.Remove(a), ErrClosed)
		_, err := p.Wait(0, func(int, Event) {})
		require.ErrorIs(t, err, ErrClosed)
	})
}
