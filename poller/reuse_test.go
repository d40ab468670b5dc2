package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestRemoveCloseReuse follows a fd number through Remove, close, and reuse
// by a new socket: the new socket starts with no registration and none of
// the old one's readiness.
func TestRemoveCloseReuse(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		old, oldPeer := fds.socketpair()
		require.NoError(t, p.Add(old, Readable))
		write(t, oldPeer, "stale")
		waitFor(t, p, old, Readable)

		require.NoError(t, p.Remove(old))
		fds.close(old)
		fds.close(oldPeer)

		// Put a fresh socket at the very same number: the kernel hands out
		// the lowest free one, which is usually it already.
		fresh, peer := fds.socketpair()
		if fresh != old {
			require.NoError(t, unix.Dup2(fresh, old))
			fds.adopt(old)
			fds.close(fresh)
			unix.CloseOnExec(old)
		}

		require.NoError(t, p.Add(old, Readable), "the number must be free again")
		quiet(t, p, old)
		write(t, peer, "new")
		require.Equal(t, Readable, waitFor(t, p, old, Readable))
		require.NoError(t, p.Remove(old))
	})
}
