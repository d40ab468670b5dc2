package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// readAll reads fd until EOF, failing on EAGAIN: after a hangup the data left
// and then EOF must be readable at once.
func readAll(t *testing.T, fd int) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := unix.Read(fd, buf)
		require.NoError(t, err)
		if n == 0 {
			return string(got)
		}
		got = append(got, buf[:n]...)
	}
}

func TestHangupPeerClosesSocket(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, b := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		write(t, b, "last words")
		fds.close(b)

		ev := waitFor(t, p, a, Hangup|ReadHangup)
		require.NotZero(t, ev&Readable, "EOF is readable: %v", ev)
		require.Equal(t, "last words", readAll(t, a))
		require.NoError(t, p.Remove(a))
	})
}

func TestHangupPeerShutsDownWriting(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		a, b := fds.socketpair()
		require.NoError(t, p.Add(a, Readable))
		require.NoError(t, unix.Shutdown(b, unix.SHUT_WR))

		// poll(2) outside Linux has no RDHUP: a half-close is just EOF.
		ev := waitFor(t, p, a, Readable)
		require.Zero(t, ev&Error, "%v", ev)
		require.Equal(t, "", readAll(t, a))
		require.NoError(t, p.Remove(a))
	})
}

func TestHangupPipeWriterCloses(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		fds := newFDSet(t)
		r, w := fds.pipe()
		require.NoError(t, p.Add(r, Readable))
		write(t, w, "bye")
		fds.close(w)

		waitFor(t, p, r, Hangup)
		require.Equal(t, "bye", readAll(t, r))
		require.NoError(t, p.Remove(r))
	})
}

func TestHangupWithoutInterest(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		if p.Kind() == Kqueue {
			t.Skip("kqueue reports nothing for a fd with no filter (documented)")
		}
		fds := newFDSet(t)
		a, b := fds.socketpair()
		require.NoError(t, p.Add(a, 0))
		quiet(t, p, a)
		fds.close(b)
		ev := waitFor(t, p, a, Hangup)
		require.Zero(t, ev&(Readable|Writable), "interest was none: %v", ev)
		require.NoError(t, p.Remove(a))
	})
}
