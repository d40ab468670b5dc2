//go:build unix

package pidfile

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func ours() string { return strconv.Itoa(os.Getpid()) + "\n" }

func TestWriteAndRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pid")
	require.NoError(t, Write(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, ours(), string(b))
	require.NoError(t, Write(path), "an existing pid file is replaced")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp file is left")

	require.True(t, Remove(path))
	_, err = os.Lstat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.False(t, Remove(path), "nothing to remove")
}

// A symlink at the path is replaced, never written through.
func TestWriteReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	path := filepath.Join(dir, "x.pid")
	require.NoError(t, os.Symlink(victim, path))

	require.NoError(t, Write(path))
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b), "the link's target was written")
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular(), "the link was replaced by the pid file")
}

// Remove leaves what is not our pid file: another process's pid (after an
// upgrade, the successor's), a link to a file holding our pid.
func TestRemoveLeavesOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pid")
	require.NoError(t, os.WriteFile(path, []byte("1\n"), 0o644))
	require.False(t, Remove(path))
	_, err := os.Stat(path)
	require.NoError(t, err)

	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte(ours()), 0o644))
	link := filepath.Join(dir, "link.pid")
	require.NoError(t, os.Symlink(target, link))
	require.False(t, Remove(link))
	_, err = os.Lstat(link)
	require.NoError(t, err)
}
