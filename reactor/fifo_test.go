package reactor_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// fifoBackends are the native pollers and io_uring (whose pairs read with
// reads, or multishot reads, and write with writes of the ring).
var fifoBackends = append(append([]tpConfig{}, tpPollers...),
	tpConfig{"uring-2loops", []reactor.Option{reactor.WithBackend(uringbackend.New()), reactor.WithLoops(2)}},
	tpConfig{"uring-multishot", []reactor.Option{reactor.WithBackend(uringbackend.New(uringbackend.WithMultishotReceive())), reactor.WithLoops(1)}})

func TestFIFOEchoManyClients(t *testing.T) {
	for _, p := range fifoBackends {
		t.Run(p.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "echo.fifo")
			before := tpFDs()
			h := newTPHandler()
			e := tpStart(t, h, []string{"fifo://" + path}, p.opts...)
			a := e.Addrs()[0]
			require.Equal(t, "fifo://"+path, a.Network()+"://"+a.String())

			const clients = 50
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- fifoEcho(path, i)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for i := 0; i < clients; i++ {
				ev := h.nextClose(t)
				require.NoError(t, ev.err, "a client's Close is a clean EOF")
				ra := ev.c.RemoteAddr().(fifo.Addr)
				require.Equal(t, os.Getpid(), ra.PID)
				require.Equal(t, fifo.Addr{Path: path}, ev.c.LocalAddr())
			}
			h.requireBalanced(t)
			require.Equal(t, 0, e.Conns())

			require.NoError(t, tpStop(t, e))
			require.NoFileExists(t, path, "Stop removes the FIFO")
			require.NoFileExists(t, path+".lock", "and its lock file")
			requireFDsBackTo(t, before)
		})
	}
}

// fifoEcho sends a message larger than a pipe's buffer and reads it back.
func fifoEcho(path string, id int) error {
	c, err := fifo.DialTimeout(path, tpBound)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tpBound))
	msg := bytes.Repeat([]byte(fmt.Sprintf("client %d. ", id)), 10000)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("client %d: %w", id, err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("client %d: echo differs", id)
	}
	return <-werr
}

// TestFIFOServerCloseIsEOF: the server's Close (after a greeting) and
// ShutdownWrite are both read as EOF by the client, and the client's
// Close as a clean EOF by the server.
func TestFIFOServerCloseIsEOF(t *testing.T) {
	for _, p := range fifoBackends {
		t.Run(p.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "srv.fifo")
			h := newTPHandler()
			h.onOpen = func(c conn.Conn) reactor.Action {
				c.Write([]byte("hello\n"))
				return reactor.None
			}
			h.onTraffic = func(c conn.Conn) reactor.Action {
				b, _ := c.Next(-1)
				switch string(b) {
				case "bye":
					return reactor.Close
				case "half":
					c.Write([]byte("half-closed"))
					c.ShutdownWrite()
				}
				return reactor.None
			}
			tpStart(t, h, []string{"fifo://" + path}, p.opts...)

			c, err := fifo.DialTimeout(path, tpBound)
			require.NoError(t, err)
			c.SetDeadline(time.Now().Add(tpBound))
			greeting := make([]byte, 6)
			_, err = io.ReadFull(c, greeting)
			require.NoError(t, err)
			require.Equal(t, "hello\n", string(greeting))
			_, err = c.Write([]byte("bye"))
			require.NoError(t, err)
			rest, err := io.ReadAll(c)
			require.NoError(t, err, "the server's close is EOF")
			require.Empty(t, rest)
			require.NoError(t, h.nextClose(t).err)
			c.Close()

			// ShutdownWrite: the client reads the reply, then EOF, and can
			// still write until it closes.
			c, err = fifo.DialTimeout(path, tpBound)
			require.NoError(t, err)
			c.SetDeadline(time.Now().Add(tpBound))
			_, err = io.ReadFull(c, greeting)
			require.NoError(t, err)
			_, err = c.Write([]byte("half"))
			require.NoError(t, err)
			rest, err = io.ReadAll(c)
			require.NoError(t, err)
			require.Equal(t, "half-closed", string(rest))
			_, err = c.Write([]byte("still heard"))
			require.NoError(t, err)
			require.NoError(t, c.Close())
			require.NoError(t, h.nextClose(t).err)
			h.requireBalanced(t)
		})
	}
}

// writeFIFORaw writes p to the well-known FIFO as a misbehaving client.
func writeFIFORaw(t *testing.T, path string, p []byte) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	_, err = unix.Write(fd, p)
	require.NoError(t, err)
}

// danglingPair makes a client's pair (as Dial does) whose client never
// opens anything.
func danglingPair(t *testing.T, random string) fifo.Request {
	t.Helper()
	pid := os.Getpid()
	dir, err := os.MkdirTemp("", "evloop-fifo-"+strconv.Itoa(pid)+"-*")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	stem := filepath.Join(dir, strconv.Itoa(pid)+"-"+random)
	req := fifo.Request{PID: pid, C2S: stem + ".c2s", S2C: stem + ".s2c"}
	require.NoError(t, unix.Mkfifo(req.C2S, 0o600))
	require.NoError(t, unix.Mkfifo(req.S2C, 0o600))
	return req
}

func TestFIFOBadRequestsAreSkipped(t *testing.T) {
	for _, p := range fifoBackends {
		t.Run(p.name, func(t *testing.T) { testFIFOBadRequestsAreSkipped(t, p.opts) })
	}
}

func testFIFOBadRequestsAreSkipped(t *testing.T, opts []reactor.Option) {
	path := filepath.Join(t.TempDir(), "srv.fifo")
	log := newTPLog()
	h := newTPHandler()
	opts = append(append([]reactor.Option{}, opts...), reactor.WithLogger(slog.New(log)))
	e := tpStart(t, h, []string{"fifo://" + path + "?timeout=300ms"}, opts...)

	writeFIFORaw(t, path, []byte("not a request\n"))
	require.Contains(t, log.waitLog(t, "fifo: request skipped"), "malformed")
	writeFIFORaw(t, path, append(bytes.Repeat([]byte("z"), fifo.MaxRequestLen+10), '\n'))
	require.Contains(t, log.waitLog(t, "fifo: request skipped"), "too long")

	// A client that died mid-handshake, having removed its pair.
	gone := danglingPair(t, "0123456789abcdef")
	os.RemoveAll(filepath.Dir(gone.C2S))
	writeFIFORaw(t, path, gone.Line())
	require.Contains(t, log.waitLog(t, "fifo: request skipped"), "no such file")

	// A client that wrote its request and never opened its end: the
	// handshake waits without blocking anyone, then gives up.
	dangling := danglingPair(t, "00000000000000aa")
	writeFIFORaw(t, path, dangling.Line())
	require.NoError(t, fifoEcho(path, 1), "other clients are served meanwhile")
	require.Contains(t, log.waitLog(t, "fifo: handshake abandoned"), "handshake timed out")

	require.NoError(t, h.nextClose(t).err)
	h.requireBalanced(t)
	require.Equal(t, 0, e.Conns())
}

func TestFIFOStartChecksThePath(t *testing.T) {
	for _, p := range fifoBackends {
		t.Run(p.name, func(t *testing.T) { testFIFOStartChecksThePath(t, p.opts) })
	}
}

func testFIFOStartChecksThePath(t *testing.T, opts []reactor.Option) {
	dir := t.TempDir()

	// A stale FIFO (its server crashed) is replaced.
	stale := filepath.Join(dir, "stale.fifo")
	require.NoError(t, unix.Mkfifo(stale, 0o600))
	require.NoError(t, os.WriteFile(stale+".lock", nil, 0o600))
	e := tpStart(t, newTPHandler(), []string{"fifo://" + stale + "?mode=0620"}, opts...)
	fi, err := os.Lstat(stale)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe|0o620, fi.Mode())
	require.NoError(t, fifoEcho(stale, 0))

	// A live server's FIFO is not taken over.
	_, err = reactor.Start(newTPHandler(), []string{"fifo://" + stale}, opts...)
	require.ErrorIs(t, err, fifo.ErrInUse)
	require.NoError(t, fifoEcho(stale, 1), "the live server is undisturbed")
	require.NoError(t, tpStop(t, e))

	regular := filepath.Join(dir, "regular")
	require.NoError(t, os.WriteFile(regular, []byte("keep"), 0o600))
	_, err = reactor.Start(newTPHandler(), []string{"fifo://" + regular}, opts...)
	require.ErrorIs(t, err, fifo.ErrNotFIFO)

	link := filepath.Join(dir, "link.fifo")
	require.NoError(t, os.Symlink(stale, link))
	_, err = reactor.Start(newTPHandler(), []string{"fifo://" + link}, opts...)
	require.ErrorIs(t, err, fifo.ErrSymlink)

	_, err = reactor.Start(newTPHandler(), []string{"fifo://" + stale + "?mode=nope"}, opts...)
	require.ErrorIs(t, err, reactor.ErrBadAddress)

	b, err := os.ReadFile(regular)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, d := range left {
		names = append(names, d.Name())
	}
	require.ElementsMatch(t, []string{"regular", "link.fifo"}, names, "failed starts leave nothing behind")
}

// Handshakes in progress are bounded: requests past the bound are skipped,
// so requests never completed cannot use up the server's fds.
func TestFIFOHandshakesInProgressAreBounded(t *testing.T) {
	t.Cleanup(reactor.SetMaxFIFOHandshakes(2)) // runs after the engine has stopped
	path := filepath.Join(t.TempDir(), "srv.fifo")
	log := newTPLog()
	h := newTPHandler()
	tpStart(t, h, []string{"fifo://" + path + "?timeout=500ms"}, reactor.WithLoops(1), reactor.WithLogger(slog.New(log)))

	for i, random := range []string{"00000000000000b1", "00000000000000b2", "00000000000000b3"} {
		writeFIFORaw(t, path, danglingPair(t, random).Line())
		if i < 2 {
			continue
		}
		require.Contains(t, log.waitLog(t, "fifo: request skipped"), "too many handshakes")
	}
	// Once the dangling ones time out, clients are served again.
	log.waitLog(t, "fifo: handshake abandoned")
	log.waitLog(t, "fifo: handshake abandoned")
	require.NoError(t, fifoEcho(path, 1))
}

// bigGreeter writes 4 MiB on open, more than a FIFO takes at once.
type bigGreeter struct{ reactor.BaseHandler }

func (bigGreeter) OnOpen(c conn.Conn) reactor.Action {
	c.Write(make([]byte, 4<<20))
	return reactor.None
}

// A FIFO client that has sent all it will (its write end closed) and reads
// a large reply slowly. The server's read end then reports hangup on every
// wait whatever the interest; the loop must not spin on it.
func TestFIFOHalfClosedSlowReaderDoesNotSpin(t *testing.T) {
	for _, b := range []tpConfig{
		{"epoll", []reactor.Option{reactor.WithPoller(poller.Epoll)}},
		{"poll", []reactor.Option{reactor.WithPoller(poller.Poll)}},
		{"uring", []reactor.Option{reactor.WithBackend(uringbackend.New())}},
	} {
		t.Run(b.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.fifo")
			e, err := reactor.Start(bigGreeter{}, []string{"fifo://" + path}, append([]reactor.Option{reactor.WithLoops(1)}, b.opts...)...)
			require.NoError(t, err)
			defer e.Stop(context.Background())
			c, err := fifo.Dial(path)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.(*fifo.Conn).CloseWrite())
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = io.ReadFull(c, make([]byte, 1000)) // the reply has started
			require.NoError(t, err)

			w0 := e.Stats().Wakeups
			time.Sleep(300 * time.Millisecond) // the slow reader, not a synchronisation
			spent := e.Stats().Wakeups - w0
			n, err := io.Copy(io.Discard, c)
			require.NoError(t, err)
			require.Equal(t, int64(4<<20-1000), n, "the rest of the reply")
			require.Less(t, spent, int64(100), "loop wakeups in 300 ms with nothing to do")
		})
	}
}
