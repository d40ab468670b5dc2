package poller

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestReadableSocketpair(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, b := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		quiet(t, p, a)

		write(t, b, "x")
		ev := waitFor(t, p, a, Readable)
		require.Equal(t, Readable, ev)

		// Level-triggered: still reported until drained.
		require.Equal(t, Readable, waitFor(t, p, a, Readable))
		buf := make([]byte, 8)
		n, err := unix.Read(a, buf)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		quiet(t, p, a)
		require.NoError(t, p.Remove(a))
	})
}

func TestReadableWritablePipe(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		r, w := fds.pipe()
		require.NoError(t, p.Add(r, Readable))
		require.NoError(t, p.Add(w, Writable))
		got := poll1(t, p, patience)
		require.Equal(t, map[int]Event{w: Writable}, got)

		write(t, w, "hello")
		require.Equal(t, Readable, waitFor(t, p, r, Readable))
		require.NoError(t, p.Remove(r))
		require.NoError(t, p.Remove(w))
	})
}

func TestWritableSocketpair(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, _ := fds.socketpair()
		require.NoError(t, p.Add(a, Readable|Writable))
		require.Equal(t, Writable, waitFor(t, p, a, Writable))

		// Fill the socket buffer: a full socket is no longer writable.
		chunk := make([]byte, 64<<10)
		for {
			_, err := unix.Write(a, chunk)
			if err == unix.EAGAIN {
				break
			}
			require.NoError(t, err)
		}
		quiet(t, p, a)
		require.NoError(t, p.Remove(a))
	})
}

func TestModifyWritableOnOff(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, _ := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		quiet(t, p, a)

		require.NoError(t, p.Modify(a, Readable|Writable))
		require.Equal(t, Writable, waitFor(t, p, a, Writable))

		require.NoError(t, p.Modify(a, Readable))
		quiet(t, p, a)

		require.NoError(t, p.Modify(a, Writable))
		require.Equal(t, Writable, waitFor(t, p, a, Writable))

		// No interest at all: a live, idle socket is not reported.
		require.NoError(t, p.Modify(a, 0))
		quiet(t, p, a)
		require.NoError(t, p.Remove(a))
	})
}

func TestRegistrationErrors(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, _ := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		require.ErrorIs(t, p.Add(a, Readable), unix.EEXIST)
		require.NoError(t, p.Remove(a))
		require.ErrorIs(t, p.Modify(a, Readable), unix.ENOENT)
		require.ErrorIs(t, p.Remove(a), unix.ENOENT)
		require.Error(t, p.Add(-1, Readable))
	})
}

func TestWaitTimeoutZeroDoesNotBlock(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, _ := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		start := time.Now()
		for range 100 {
			require.Empty(t, poll1(t, p, 0))
		}
		// 100 non-blocking Waits take microseconds; a second means one blocked.
		require.Less(t, time.Since(start), time.Second)
		require.NoError(t, p.Remove(a))
	})
}

func TestWaitTimeoutElapses(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		const d = 20 * time.Millisecond
		start := time.Now()
		require.Empty(t, poll1(t, p, d))
		// Never early: timeouts round up so a timer is not woken before it is due.
		require.GreaterOrEqual(t, time.Since(start), d)
	})
}

// TestDispatchMayChangeRegistrations checks that fn can Remove and Add fds,
// its own and others, while a Wait is dispatching, as the loop does when a
// hangup tears a conn down or an accept adds one.
func TestDispatchMayChangeRegistrations(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		var ready []int
		for range 8 {
			a, b := fds.socketpair()
			write(t, b, "x")
			require.NoError(t, p.Add(a, Readable))
			ready = append(ready, a)
		}
		added, _ := fds.socketpair()
		waitFor(t, p, ready[0], Readable)

		removed := map[int]bool{}
		_, err := p.Wait(0, func(fd int, ev Event) {
			if len(removed) > 0 {
				return // later reports of removed fds are stale, as with epoll
			}
			for _, fd := range ready[:6] {
				require.NoError(t, p.Remove(fd))
				removed[fd] = true
			}
			require.NoError(t, p.Add(added, Writable))
		})
		require.NoError(t, err)

		want := map[int]Event{added: Writable}
		for _, fd := range ready[6:] {
			want[fd] = Readable
		}
		got := poll1(t, p, 0)
		require.Equal(t, want, got)
		for fd := range want {
			require.NoError(t, p.Remove(fd))
		}
		require.Empty(t, poll1(t, p, 0))
		require.True(t, errors.Is(p.Remove(ready[0]), unix.ENOENT))
	})
}
