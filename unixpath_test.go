package evloop_test

// The life of a unix socket's file, on every backend: a stale socket is
// replaced at Start, a live one (even one too busy to accept) never, and
// Stop removes the path only while it is still the socket that was bound.

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/reactor"
)

// staleSocket leaves a socket file at path that no one listens on, as a
// server killed with SIGKILL does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&os.ModeSocket)
}

func TestUnixStaleSocketIsReplaced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := filepath.Join(t.TempDir(), "crashed.sock")
		staleSocket(t, path)
		r := newRecorder()
		e := start(t, r, "unix://"+path, b)
		echoOnce(t, e, r)
	})
}

// echoOnce has one conn served and closed, so that no conn is in flight
// when the test stops the engine.
func echoOnce(t *testing.T, e reactor.Engine, r *recorder) {
	t.Helper()
	c := dial(t, e)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, r.waitClose(t))
}

// fullListener is a live unix listener that never accepts, its backlog
// full: a connect to it fails with EAGAIN, not ECONNREFUSED.
func fullListener(t *testing.T, path string) (lfd int) {
	t.Helper()
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0) // SOCK_CLOEXEC is not on darwin
	require.NoError(t, err)
	unix.CloseOnExec(lfd)
	t.Cleanup(func() { unix.Close(lfd) })
	require.NoError(t, unix.Bind(lfd, &unix.SockaddrUnix{Name: path}))
	require.NoError(t, unix.Listen(lfd, 0))
	for i := 0; ; i++ {
		require.Less(t, i, 64, "the backlog never filled")
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		require.NoError(t, err)
		unix.CloseOnExec(fd)
		require.NoError(t, unix.SetNonblock(fd, true))
		t.Cleanup(func() { unix.Close(fd) })
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err == unix.EAGAIN {
			return lfd
		}
		require.NoError(t, err)
	}
}

// A live server's path is not taken over because its backlog is full.
func TestUnixLiveSocketWithFullBacklogIsKept(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := filepath.Join(t.TempDir(), "busy.sock")
		lfd := fullListener(t, path)
		var before unix.Stat_t
		require.NoError(t, unix.Lstat(path, &before))

		e, err := reactor.Start(reactor.BaseHandler{}, []string{"unix://" + path}, append(b.opts, reactor.WithLogger(discardLogger()))...)
		if err == nil {
			stop(t, e)
		}
		require.ErrorIs(t, err, unix.EADDRINUSE, "a live listener's path was taken over")

		var after unix.Stat_t
		require.NoError(t, unix.Lstat(path, &after))
		require.Equal(t, before.Ino, after.Ino, "the live server's socket file is still there")
		nfd, _, err := unix.Accept(lfd)
		require.NoError(t, err, "the live server still has its conns")
		unix.Close(nfd)
	})
}

// Stop leaves a path that no longer holds the socket it bound: a file or
// another server's socket put in its place.
func TestUnixStopLeavesReplacedPath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		file := filepath.Join(dir, "file.sock")
		e := start(t, newRecorder(), "unix://"+file, b)
		require.NoError(t, os.Remove(file))
		require.NoError(t, os.WriteFile(file, []byte("precious"), 0o600))
		stop(t, e)
		data, err := os.ReadFile(file)
		require.NoError(t, err, "Stop removed a file it did not make")
		require.Equal(t, "precious", string(data))

		other := filepath.Join(dir, "other.sock")
		e = start(t, newRecorder(), "unix://"+other, b)
		require.NoError(t, os.Remove(other))
		ln, err := net.Listen("unix", other)
		require.NoError(t, err)
		defer ln.Close()
		stop(t, e)
		c, err := net.Dial("unix", other)
		require.NoError(t, err, "Stop removed another server's socket")
		c.Close()
	})
}
