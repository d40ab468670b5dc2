package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const manyPairs = 5000

// raiseFDLimit makes room for n more fds, restoring the limit at cleanup, or
// skips the test when the hard limit is too low.
func raiseFDLimit(t *testing.T, n uint64) {
	var old unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old))
	need := n + 256 // the test binary's own fds, and slack
	if uint64(old.Cur) >= need {
		return
	}
	if uint64(old.Max) < need {
		t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d fds this test needs", old.Max, need)
	}
	raised := old
	setLimit(&raised.Cur, need)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &raised); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE to %d: %v", need, err)
	}
	t.Cleanup(func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &old)) })
}

// setLimit stores v in an rlimit field, which is signed on some BSDs.
func setLimit[T int64 | uint64](field *T, v uint64) { *field = T(v) }

// TestManyFds watches 5,000 socketpairs: every third readable, then all
// writable, checking that exactly the right fds are reported.
func TestManyFds(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 fds")
	}
	raiseFDLimit(t, 2*manyPairs)
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		want := map[int]Event{}
		var watched []int
		for i := range manyPairs {
			a, b := fds.socketpair()
			require.NoError(t, p.Add(a, Readable))
			watched = append(watched, a)
			if i%3 == 0 {
				write(t, b, "x")
				want[a] = Readable
			}
		}
		require.Equal(t, want, collect(t, p, len(want)))

		for _, fd := range watched {
			require.NoError(t, p.Modify(fd, Writable))
			want[fd] = Writable
		}
		require.Equal(t, want, collect(t, p, len(want)))

		// Remove half (swap-remove in poll's slice), and the rest still report.
		for i, fd := range watched {
			if i%2 == 0 {
				require.NoError(t, p.Remove(fd))
				delete(want, fd)
			}
		}
		require.Equal(t, want, collect(t, p, len(want)))
		for fd := range want {
			require.NoError(t, p.Remove(fd))
		}
		require.Empty(t, poll1(t, p, 0))
	})
}

// collect gathers the union of several non-blocking Waits until it holds n
// fds: epoll and kqueue report a bounded batch per Wait (level-triggered, the
// rest come next time), poll(2) all at once.
func collect(t *testing.T, p Poller, n int) map[int]Event {
	t.Helper()
	all := map[int]Event{}
	for i := 0; i < 64 && len(all) < n; i++ {
		for fd, ev := range poll1(t, p, 0) {
			all[fd] = ev
		}
	}
	return all
}
