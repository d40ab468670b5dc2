//go:build unix

package socket

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Only a refused connect makes a socket file stale: a live socket of
// another type (connect says EPROTOTYPE) is kept.
func TestRemoveStaleUnixSocketKeepsLiveDatagramSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dgram.sock")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer pc.Close()
	require.ErrorIs(t, RemoveStaleUnixSocket(path), syscall.EADDRINUSE)
	_, err = os.Lstat(path)
	require.NoError(t, err, "a live datagram server's socket was removed")

	require.NoError(t, RemoveStaleUnixSocket(filepath.Join(t.TempDir(), "none")), "nothing there")
}

// Remove unlinks the path only while it is the socket that was bound.
func TestUnixPathRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	p := BoundUnixPath(path)
	require.NotNil(t, p)
	require.Equal(t, path, p.Path())

	// Another socket at the path: left alone.
	require.NoError(t, os.Remove(path))
	other, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	defer other.Close()
	p.Remove()
	_, err = os.Lstat(path)
	require.NoError(t, err)

	// The socket that was bound: removed.
	BoundUnixPath(path).Remove()
	_, err = os.Lstat(path)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.Nil(t, BoundUnixPath(filepath.Join(dir, "none")))
	var none *UnixPath
	none.Remove() // no-op
}
