package fifo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDialEcho(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	startTestServer(t, path, ListenConfig{})

	c, err := Dial(path)
	require.NoError(t, err)
	fc := c.(*Conn)
	require.Equal(t, Addr{Path: path}, c.RemoteAddr())
	require.Equal(t, os.Getpid(), fc.LocalAddr().(Addr).PID)
	require.NoDirExists(t, fc.LocalAddr().String(), "the pair and its directory are gone once connected")

	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	msg := bytes.Repeat([]byte("0123456789"), 20000) // more than a pipe holds
	go func() { c.Write(msg) }()
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, msg, got)

	// Half-close: the server sees EOF, echoes nothing more and closes, which
	// this side reads as EOF.
	require.NoError(t, fc.CloseWrite())
	n, err := c.Read(got)
	require.Equal(t, 0, n)
	require.Equal(t, io.EOF, err)
	_, err = c.Write([]byte("x"))
	require.Error(t, err)
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.Close(), net.ErrClosed)
}

func TestDialReadDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	startTestServer(t, path, ListenConfig{})
	c, err := Dial(path)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout())
}

func TestDialNoServer(t *testing.T) {
	dir := t.TempDir()
	_, err := Dial(filepath.Join(dir, "missing.fifo"))
	require.ErrorIs(t, err, ErrNoServer)
	require.ErrorIs(t, err, os.ErrNotExist)

	// A FIFO nobody reads: a server that crashed.
	stale := filepath.Join(dir, "stale.fifo")
	require.NoError(t, unix.Mkfifo(stale, 0o600))
	_, err = Dial(stale)
	require.ErrorIs(t, err, ErrNoServer)

	regular := filepath.Join(dir, "regular")
	require.NoError(t, os.WriteFile(regular, nil, 0o600))
	_, err = Dial(regular)
	require.ErrorIs(t, err, ErrNotFIFO)
	requireNoPairsLeft(t)
}

// requireNoPairsLeft checks that no client of this process left a private
// directory behind.
func requireNoPairsLeft(t *testing.T) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid())))
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestDialTimesOutWhenServerNeverAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	l, err := Listen(path, ListenConfig{}) // listening, but nobody reads requests
	require.NoError(t, err)
	defer l.Close()
	start := time.Now()
	_, err = DialTimeout(path, 100*time.Millisecond)
	require.ErrorIs(t, err, ErrHandshakeTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	_, err = DialContext(ctx, path)
	require.ErrorIs(t, err, context.Canceled)
	requireNoPairsLeft(t)
}

func TestConcurrentDials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	startTestServer(t, path, ListenConfig{})
	const clients = 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				c, err := Dial(path)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				msg := []byte(fmt.Sprintf("hello from client %d\n", i))
				if _, err := c.Write(msg); err != nil {
					return err
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					return err
				}
				if !bytes.Equal(got, msg) {
					return fmt.Errorf("client %d: got %q", i, got)
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireNoPairsLeft(t)
}

// writeRaw writes p to the well-known FIFO as a misbehaving client would.
func writeRaw(t *testing.T, path string, p []byte) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	_, err = unix.Write(fd, p)
	require.NoError(t, err)
}

func TestBadRequestsDoNotBlockOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	s := startTestServer(t, path, ListenConfig{HandshakeTimeout: 200 * time.Millisecond})

	// Malformed.
	writeRaw(t, path, []byte("hello\n"))
	require.ErrorIs(t, s.nextSkip(t), ErrMalformed)
	// Oversized.
	writeRaw(t, path, append(bytes.Repeat([]byte("y"), MaxRequestLen+1), '\n'))
	require.ErrorIs(t, s.nextSkip(t), ErrTooLong)

	// A client that died after its request and removed its pair.
	p, err := makePair()
	require.NoError(t, err)
	p.release()
	writeRaw(t, path, p.req.Line())
	require.ErrorIs(t, s.nextSkip(t), os.ErrNotExist)

	// A client that wrote its request and never opened its read end: the
	// server waits for it, nonblocking, and gives up after the timeout.
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid()))
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	dangling := pairNames(dir, os.Getpid(), "00112233445566ff")
	require.NoError(t, unix.Mkfifo(dangling.C2S, 0o600))
	require.NoError(t, unix.Mkfifo(dangling.S2C, 0o600))
	writeRaw(t, path, dangling.Line())

	// Meanwhile a good client gets through.
	c, err := DialTimeout(path, 5*time.Second)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "ping", string(got))
	require.NoError(t, c.Close())

	require.ErrorIs(t, s.nextSkip(t), ErrHandshakeTimeout)

	// A request naming a symlink instead of a FIFO is refused.
	dir2, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid()))
	require.NoError(t, err)
	defer os.RemoveAll(dir2)
	sneaky := pairNames(dir2, os.Getpid(), "00112233445566ee")
	require.NoError(t, os.Symlink(dangling.C2S, sneaky.C2S))
	require.NoError(t, unix.Mkfifo(sneaky.S2C, 0o600))
	writeRaw(t, path, sneaky.Line())
	require.ErrorIs(t, s.nextSkip(t), ErrSymlink)
}

// A stray write with no newline (short, oversized, or itself starting with
// Magic) is skipped and does not spoil the next client's request.
func TestStrayWriteDoesNotBlockNextClient(t *testing.T) {
	cases := []struct {
		name  string
		stray []byte
		want  error
	}{
		{"7 bytes", []byte("garbage"), ErrMalformed},
		{"600 bytes", bytes.Repeat([]byte("g"), 600), ErrTooLong},
		{"a truncated request", []byte(Magic + " 4"), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "srv.fifo")
			s := startTestServer(t, path, ListenConfig{})
			writeRaw(t, path, c.stray)
			for i := 0; i < 2; i++ { // the first client after the stray bytes, and one more
				conn, err := DialTimeout(path, 5*time.Second)
				require.NoError(t, err)
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = conn.Write([]byte("ping"))
				require.NoError(t, err)
				got := make([]byte, 4)
				_, err = io.ReadFull(conn, got)
				require.NoError(t, err)
				require.Equal(t, "ping", string(got))
				require.NoError(t, conn.Close())
			}
			require.ErrorIs(t, s.nextSkip(t), c.want)
			select {
			case err := <-s.skipped:
				t.Fatalf("skipped more than the stray bytes: %v", err)
			default:
			}
			requireNoPairsLeft(t)
		})
	}
}
