package fifo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// splitEvents feeds chunks to a fresh Listener's split, as successive reads
// would return them, and describes what it reported: "req <c2s>" for a
// request, "malformed" or "too long" for skipped bytes.
func splitEvents(t *testing.T, chunks ...[]byte) []string {
	t.Helper()
	l := &Listener{}
	var got []string
	for _, c := range chunks {
		l.split(c, func(r Request, err error) {
			switch {
			case err == nil:
				got = append(got, "req "+r.C2S)
			case errors.Is(err, ErrTooLong):
				got = append(got, "too long")
			case errors.Is(err, ErrMalformed):
				got = append(got, "malformed")
			default:
				t.Fatalf("unexpected error %v", err)
			}
		})
		require.Less(t, len(l.partial), MaxRequestLen, "an unfinished line is bounded")
	}
	return got
}

// maxLenRequest is a valid request whose line is exactly MaxRequestLen bytes.
// The paths' characters count twice, so the pid (9 or 19) sets the parity.
func maxLenRequest(t *testing.T) Request {
	for _, pid := range []int{9, 19} {
		base := pairNames("/tmp/evloop-fifo-", pid, "0123456789abcdef")
		if pad := MaxRequestLen - len(base.Line()); pad%2 == 0 {
			r := pairNames("/tmp/evloop-fifo-"+strings.Repeat("p", pad/2), pid, "0123456789abcdef")
			require.Len(t, r.Line(), MaxRequestLen)
			return r
		}
	}
	panic("unreachable")
}

func TestSplitResynchronisesOnMagic(t *testing.T) {
	good := pairNames("/tmp/evloop-fifo-7-x", 7, "0123456789abcdef")
	good2 := pairNames("/tmp/evloop-fifo-8-y", 8, "fedcba9876543210")
	// A real request whose directory name contains Magic: the Magic inside
	// its quoted path must not be taken for the start of a request.
	inner := pairNames("/tmp/"+Magic+" 7 x/evloop-fifo-7-z", 7, "0123456789abcdef")
	long := maxLenRequest(t)
	line, line2 := good.Line(), good2.Line()
	req := "req " + good.C2S
	req2 := "req " + good2.C2S
	x600 := bytes.Repeat([]byte("x"), 600)
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	b := func(s string) []byte { return []byte(s) }

	cases := []struct {
		name   string
		chunks [][]byte
		want   []string
	}{
		{"one request", [][]byte{line}, []string{req}},
		{"two requests in one read", [][]byte{cat(line, line2)}, []string{req, req2}},
		{"request split across reads", [][]byte{line[:5], line[5:]}, []string{req}},
		{"request of MaxRequestLen bytes", [][]byte{long.Line()[:MaxRequestLen-1], long.Line()[MaxRequestLen-1:]}, []string{"req " + long.C2S}},
		{"garbage line, then request", [][]byte{cat(b("garbage\n"), line)}, []string{"malformed", req}},
		{"garbage with no newline, then request, one read", [][]byte{cat(b("garbage"), line)}, []string{"malformed", req}},
		{"garbage with no newline, then request, two reads", [][]byte{b("garbage"), line, line2}, []string{"malformed", req, req2}},
		{"garbage with a newline inside", [][]byte{b("gar\nbage"), line}, []string{"malformed", "malformed", req}},
		{"garbage ending in part of Magic", [][]byte{b("junk" + Magic[:6]), line}, []string{"malformed", req}},
		{"stray bytes that start with Magic", [][]byte{b(Magic + " 4"), line}, []string{"malformed", req}},
		{"Magic inside the request's path", [][]byte{b("junk"), inner.Line()}, []string{"malformed", "req " + inner.C2S}},
		{"malformed request after garbage, reported once", [][]byte{b("junk" + Magic + " 0 x\n"), line}, []string{"malformed", req}},
		{"oversized garbage, then request, one read", [][]byte{cat(x600, line, line2)}, []string{"too long", req, req2}},
		{"oversized garbage in pieces, then request", [][]byte{x600[:300], x600[300:], line}, []string{"too long", req}},
		{"oversized garbage, then Magic split across reads", [][]byte{cat(x600, line[:5]), line[5:]}, []string{"too long", req}},
		{"oversized garbage and a newline, then request", [][]byte{x600, b("\n"), line}, []string{"too long", req}},
		{"oversized garbage full of Magic, then request", [][]byte{b(strings.Repeat(Magic, 50)), line}, []string{"too long", req}},
		{"oversized line with no request", [][]byte{cat(x600, b("\n"))}, []string{"too long"}},
		{"garbage before a request of MaxRequestLen bytes", [][]byte{b("garbage"), long.Line()}, []string{"too long", "req " + long.C2S}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, splitEvents(t, c.chunks...))
		})
	}

	// However the reads cut the bytes, the same things are reported.
	for _, prefix := range [][]byte{nil, b("garbage"), b(Magic + " 4"), x600} {
		all := cat(prefix, line, line2)
		want := splitEvents(t, all)
		require.Equal(t, []string{req, req2}, want[len(want)-2:])
		for k := range all {
			require.Equal(t, want, splitEvents(t, all[:k], all[k:]), "prefix %d bytes, cut at %d", len(prefix), k)
		}
		bytewise := make([][]byte, len(all))
		for i := range all {
			bytewise[i] = all[i : i+1]
		}
		require.Equal(t, want, splitEvents(t, bytewise...), "prefix %d bytes, a byte per read", len(prefix))
	}
}

func TestSplitBoundsGarbage(t *testing.T) {
	// A megabyte with no newline, read as a full FIFO returns it: reported
	// once, costing at most a line's worth of memory, and the request after
	// it still gets through.
	l := &Listener{}
	var errs []error
	var reqs []Request
	fn := func(r Request, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		reqs = append(reqs, r)
	}
	chunk := bytes.Repeat([]byte("z"), len(l.readBuf))
	for i := 0; i < 256; i++ {
		l.split(chunk, fn)
		require.Less(t, len(l.partial), MaxRequestLen)
		require.LessOrEqual(t, cap(l.partial), 2*(len(l.readBuf)+MaxRequestLen))
	}
	good := pairNames("/tmp/evloop-fifo-7-x", 7, "0123456789abcdef")
	l.split(good.Line(), fn)
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], ErrTooLong)
	require.Equal(t, []Request{good}, reqs)
}
