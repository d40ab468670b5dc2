package fifo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestListenCreatesFIFOWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srv.fifo")
	l, err := Listen(path, ListenConfig{})
	require.NoError(t, err)
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe|0o600, fi.Mode())
	require.FileExists(t, path+".lock")
	require.NoError(t, l.Close())
	require.NoFileExists(t, path)
	require.NoFileExists(t, path+".lock")
	require.ErrorIs(t, l.Close(), ErrClosed)

	// A mode wider than the umask allows is applied exactly.
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	l, err = Listen(path, ListenConfig{Mode: 0o622})
	require.NoError(t, err)
	fi, err = os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe|0o622, fi.Mode())
	require.NoError(t, l.Close())
}

func TestListenRefusesSymlinkAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.fifo")
	require.NoError(t, unix.Mkfifo(target, 0o600))

	link := filepath.Join(dir, "link.fifo")
	require.NoError(t, os.Symlink(target, link))
	_, err := Listen(link, ListenConfig{})
	require.ErrorIs(t, err, ErrSymlink)
	require.FileExists(t, target, "the symlink's target is untouched")
	_, err = os.Lstat(link)
	require.NoError(t, err, "the symlink is left alone")
	require.NoFileExists(t, link+".lock", "a refused start leaves no lock file")

	regular := filepath.Join(dir, "regular")
	require.NoError(t, os.WriteFile(regular, []byte("data"), 0o600))
	_, err = Listen(regular, ListenConfig{})
	require.ErrorIs(t, err, ErrNotFIFO)
	b, err := os.ReadFile(regular)
	require.NoError(t, err)
	require.Equal(t, "data", string(b))

	sub := filepath.Join(dir, "adir")
	require.NoError(t, os.Mkdir(sub, 0o700))
	_, err = Listen(sub, ListenConfig{})
	require.ErrorIs(t, err, ErrNotFIFO)

	// A symlinked lock file is refused too: the server would otherwise
	// create or lock a file of the link's choosing.
	path := filepath.Join(dir, "locked.fifo")
	require.NoError(t, os.Symlink(regular, path+".lock"))
	_, err = Listen(path, ListenConfig{})
	require.ErrorIs(t, err, ErrSymlink)
}

func TestListenReplacesStaleFIFO(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srv.fifo")
	// What a crashed server leaves: its FIFO (with a wrong mode, to see it
	// replaced) and an unlocked lock file.
	require.NoError(t, unix.Mkfifo(path, 0o644))
	require.NoError(t, os.WriteFile(path+".lock", nil, 0o600))
	// A second name keeps the old inode alive, so its number cannot be
	// reused for the new FIFO.
	require.NoError(t, os.Link(path, path+".old"))
	var before unix.Stat_t
	require.NoError(t, unix.Lstat(path, &before))

	l, err := Listen(path, ListenConfig{})
	require.NoError(t, err)
	defer l.Close()
	var after unix.Stat_t
	require.NoError(t, unix.Lstat(path, &after))
	require.NotEqual(t, before.Ino, after.Ino, "the stale FIFO was replaced")
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe|0o600, fi.Mode())
}

func TestListenRefusesLiveServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srv.fifo")
	l, err := Listen(path, ListenConfig{})
	require.NoError(t, err)
	_, err = Listen(path, ListenConfig{})
	require.ErrorIs(t, err, ErrInUse)
	require.FileExists(t, path, "the live server's FIFO is untouched")
	require.NoError(t, l.Close())

	// A FIFO someone reads, with no lock file: a live server of another
	// kind. Not stale, so not removed.
	require.NoError(t, unix.Mkfifo(path, 0o600))
	reader, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(reader)
	_, err = Listen(path, ListenConfig{})
	require.ErrorIs(t, err, ErrInUse)
	require.FileExists(t, path)
}

func TestReadRequestsSplitsAndSkips(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srv.fifo")
	l, err := Listen(path, ListenConfig{})
	require.NoError(t, err)
	defer l.Close()
	good := pairNames("/tmp/evloop-fifo-7-x", 7, "0123456789abcdef")
	line := good.Line()

	w, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(w)
	write := func(p []byte) {
		_, err := unix.Write(w, p)
		require.NoError(t, err)
	}
	var reqs []Request
	var errs []error
	collect := func(r Request, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		reqs = append(reqs, r)
	}

	// A line that arrives in two pieces is put back together.
	write(line[:10])
	require.NoError(t, l.ReadRequests(collect))
	require.Empty(t, reqs)
	write(line[10:])
	require.NoError(t, l.ReadRequests(collect))
	require.Equal(t, []Request{good}, reqs)

	// Garbage, an oversized line (in pieces, with no newline for a while),
	// then a good line: the good one still gets through.
	write([]byte("garbage\n"))
	big := make([]byte, MaxRequestLen+100)
	for i := range big {
		big[i] = 'x'
	}
	write(big[:300])
	require.NoError(t, l.ReadRequests(collect))
	write(big[300:])
	write([]byte("\n"))
	write(line)
	require.NoError(t, l.ReadRequests(collect))
	require.Len(t, reqs, 2)
	require.Len(t, errs, 2)
	require.ErrorIs(t, errs[0], ErrMalformed)
	require.ErrorIs(t, errs[1], ErrTooLong)
}
