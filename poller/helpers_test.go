package poller

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// patience bounds every wait for something that should happen at once, so a
// broken poller fails the test instead of hanging it.
const patience = 5 * time.Second

// kinds lists the pollers this OS has, found by asking New rather than by
// naming operating systems.
func kinds(t testing.TB) []Kind {
	var ks []Kind
	for _, k := range []Kind{Epoll, Kqueue, Poll} {
		p, err := New(k)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		require.NoError(t, err, "New(%v)", k)
		require.NoError(t, p.Close())
		ks = append(ks, k)
	}
	require.NotEmpty(t, ks)
	return ks
}

// forEachKind runs f as a subtest per kind with a fresh poller, and checks
// afterwards that the subtest (poller included) left no fd open.
func forEachKind(t *testing.T, f func(t *testing.T, p Poller)) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			before := openFDs()
			t.Cleanup(func() {
				require.Equal(t, before, openFDs(), "fds leaked")
			})
			p, err := New(k)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			require.Equal(t, k, p.Kind())
			f(t, p)
		})
	}
}

// openFDs counts the open fds below a bound above anything the tests open.
func openFDs() int {
	n := 0
	for fd := 0; fd < 1<<15; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			n++
		}
	}
	return n
}

// fdSet owns the fds a test opens and closes whatever is left at cleanup.
type fdSet struct {
	t    testing.TB
	open map[int]bool
}

func newFDSet(t testing.TB) *fdSet {
	s := &fdSet{t: t, open: map[int]bool{}}
	t.Cleanup(func() {
		for fd := range s.open {
			unix.Close(fd)
		}
	})
	return s
}

// socketpair returns the two ends of a nonblocking, close-on-exec unix
// stream socketpair (set by fcntl: darwin has no SOCK_NONBLOCK).
func (s *fdSet) socketpair() (int, int) {
	s.t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(s.t, err, "socketpair")
	for _, fd := range fds {
		s.open[fd] = true
		require.NoError(s.t, unix.SetNonblock(fd, true))
		unix.CloseOnExec(fd)
	}
	return fds[0], fds[1]
}

// pipe returns the read and write ends of a nonblocking pipe.
func (s *fdSet) pipe() (r, w int) {
	s.t.Helper()
	r, w, err := pipeNonblockCloexec()
	require.NoError(s.t, err)
	s.open[r], s.open[w] = true, true
	return r, w
}

// adopt makes s close fd at cleanup.
func (s *fdSet) adopt(fd int) { s.open[fd] = true }

func (s *fdSet) close(fd int) {
	s.t.Helper()
	require.True(s.t, s.open[fd], "fd %d not open", fd)
	delete(s.open, fd)
	require.NoError(s.t, unix.Close(fd))
}

func write(t testing.TB, fd int, b string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(b))
	require.NoError(t, err)
	require.Equal(t, len(b), n)
}

// poll1 runs one Wait and returns what it reported, failing on a fd reported
// twice (the contract says once per ready fd).
func poll1(t testing.TB, p Poller, timeout time.Duration) map[int]Event {
	t.Helper()
	got := map[int]Event{}
	n, err := p.Wait(timeout, func(fd int, ev Event) {
		_, dup := got[fd]
		require.False(t, dup, "fd %d reported twice in one Wait", fd)
		got[fd] = ev
	})
	require.NoError(t, err)
	require.Equal(t, len(got), n, "Wait's count")
	return got
}

// waitFor waits until fd is reported with any condition in mask, and returns
// what was reported for it.
func waitFor(t testing.TB, p Poller, fd int, mask Event) Event {
	t.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if ev := poll1(t, p, time.Until(deadline))[fd]; ev&mask != 0 {
			return ev
		}
	}
	require.FailNow(t, "timed out", "fd %d never reported %v", fd, mask)
	return 0
}

// quiet asserts that a non-blocking Wait reports nothing for fd.
func quiet(t testing.TB, p Poller, fd int) {
	t.Helper()
	ev, ok := poll1(t, p, 0)[fd]
	require.False(t, ok, "fd %d unexpectedly reported %v", fd, ev)
}
