//go:build unix

package socket

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestRawReadWrite(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer func() {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	for _, fd := range fds {
		require.NoError(t, unix.SetNonblock(fd, true))
	}

	buf := make([]byte, 16)
	_, err = Read(fds[1], buf)
	require.ErrorIs(t, err, unix.EAGAIN, "empty nonblocking socket")

	n, err := Write(fds[0], []byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = Write(fds[0], nil)
	require.NoError(t, err, "a zero-length write is no error")
	require.Zero(t, n)

	n, err = Read(fds[1], buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf[:n]))

	// A full socket buffer: Write takes what fits, then EAGAIN; never blocks.
	big := make([]byte, 1<<20)
	total := 0
	for {
		n, err := Write(fds[0], big)
		if err != nil {
			require.ErrorIs(t, err, unix.EAGAIN)
			break
		}
		require.Positive(t, n)
		total += n
	}
	require.Positive(t, total)

	require.NoError(t, unix.Close(fds[0]))
	fds[0] = -1
	for got := 0; got < total; {
		n, err := Read(fds[1], big)
		require.NoError(t, err)
		got += n
	}
	n, err = Read(fds[1], buf)
	require.NoError(t, err, "EOF once the peer has closed")
	require.Zero(t, n)

	_, err = Write(-1, []byte("x"))
	require.ErrorIs(t, err, unix.EBADF)
}
