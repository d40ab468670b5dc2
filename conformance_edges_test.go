package evloop_test

// Conformance cases found in review: each ran against one backend only, or
// failed on one, before its fix.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// rejectHandler answers the first bytes with a reply and closes, as a
// server refusing an upload that is still coming in.
type rejectHandler struct {
	reactor.BaseHandler
	reply []byte
}

func (h rejectHandler) OnTraffic(c conn.Conn) reactor.Action {
	c.Discard(-1)
	c.Write(h.reply)
	return reactor.Close
}

// A Close action delivers the whole reply even while the peer is still
// sending: closing with unread input would send RST, and the peer's kernel
// would drop what it had not read.
func TestCloseWhilePeerSendsDeliversTheReply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		reply := bytes.Repeat([]byte("r"), 8<<20)
		e := start(t, rejectHandler{reply: reply}, "tcp://127.0.0.1:0", b, reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		var done atomic.Bool
		uploaded := make(chan struct{})
		go func() { // upload until the conn breaks or the reader is done
			defer close(uploaded)
			chunk := bytes.Repeat([]byte("u"), 512)
			for !done.Load() {
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Write(chunk); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						continue
					}
					return
				}
			}
		}()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
		got, err := io.Copy(io.Discard, slowReader{c})
		done.Store(true)
		<-uploaded
		require.NoError(t, err, "after %d bytes", got)
		require.Equal(t, int64(len(reply)), got, "reply bytes before EOF")
	})
}

// slowReader reads in small pieces, so the reply outlasts the upload.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	if len(p) > 16<<10 {
		p = p[:16<<10]
	}
	return s.r.Read(p)
}

// consumeLater leaves input in OnTraffic and consumes it from an async
// write's callback on the loop (deferred processing).
type consumeLater struct {
	reactor.BaseHandler
	closed chan error
}

func (h consumeLater) OnTraffic(c conn.Conn) reactor.Action {
	c.AsyncWrite(nil, func(c conn.Conn, _ error) error { c.Discard(-1); return nil })
	return reactor.None
}

func (h consumeLater) OnClose(_ conn.Conn, err error) { h.closed <- err }

// Input consumed outside OnTraffic still counts as activity later: a conn
// that keeps sending never times out idle, and BytesIn counts every byte.
func TestDeferredConsumeKeepsTheConnActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := consumeLater{closed: make(chan error, 1)}
		e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithIdleTimeout(time.Second), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		const sends = 15 // 1.5 s of traffic, past the idle timeout
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < sends; i++ {
			_, err := c.Write([]byte("x"))
			require.NoError(t, err)
			select {
			case err := <-h.closed:
				t.Fatalf("closed after %d sends, one per 100 ms: %v", i+1, err)
			case <-tick.C:
			}
		}
		// The last byte may still be on its way into the loop.
		require.Eventually(t, func() bool { return e.Stats().BytesIn == sends }, 5*time.Second, 5*time.Millisecond,
			"BytesIn never reached %d", sends)
	})
}

// closeThenWrite returns Close and then tries to write from another goroutine.
type closeThenWrite struct {
	reactor.BaseHandler
	got chan error
}

func (h closeThenWrite) OnTraffic(c conn.Conn) reactor.Action {
	c.Discard(-1)
	c.Write([]byte("bye"))
	go func() { h.got <- c.AsyncWrite([]byte("late"), nil) }()
	return reactor.Close
}

// Writes after the Close action are refused with conn.ErrClosed.
func TestAsyncWriteAfterCloseActionIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := closeThenWrite{got: make(chan error, 1)}
		e := start(t, h, "tcp://127.0.0.1:0", b)
		c := dial(t, e)
		defer c.Close()
		_, err := c.Write([]byte("hi"))
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		got, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, "bye", string(got), "nothing after the Close action")
		select {
		case err := <-h.got:
			// The write may also have been queued just before the close
			// took effect; then it is refused on the loop, not here.
			if err != nil {
				require.ErrorIs(t, err, conn.ErrClosed)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("AsyncWrite did not return")
		}
	})
}

// A unix:// address holding a file, a directory or a live server's socket
// is refused, and what was there is left alone.
func TestUnixPathThatIsNotAStaleSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		file := filepath.Join(dir, "precious.txt")
		require.NoError(t, os.WriteFile(file, []byte("data"), 0o600))
		tree := filepath.Join(dir, "tree")
		require.NoError(t, os.MkdirAll(filepath.Join(tree, "sub"), 0o700))
		live := filepath.Join(dir, "live.sock")
		ln, err := net.Listen("unix", live)
		require.NoError(t, err)
		defer ln.Close()

		for _, p := range []string{file, tree, live} {
			e, err := reactor.Start(reactor.BaseHandler{}, []string{"unix://" + p}, append(b.opts, reactor.WithLogger(discardLogger()))...)
			if err == nil {
				stop(t, e)
			}
			require.Error(t, err, "Start on %s", p)
		}
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, "data", string(data))
		_, err = os.Stat(filepath.Join(tree, "sub"))
		require.NoError(t, err, "the directory tree is still there")
		c, err := net.Dial("unix", live)
		require.NoError(t, err, "the live server still has its socket")
		c.Close()
	})
}

// A Start that fails on its second address leaves the first one free.
func TestFailedStartReleasesEarlierAddresses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer busy.Close()
		free, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		freeAddr := free.Addr().String()
		free.Close()

		_, err = reactor.Start(reactor.BaseHandler{}, []string{"tcp://" + freeAddr, "tcp://" + busy.Addr().String()},
			append(b.opts, reactor.WithLogger(discardLogger()))...)
		require.Error(t, err)
		again, err := net.Listen("tcp", freeAddr)
		require.NoError(t, err, "the first address is still bound after the failed Start")
		again.Close()
	})
}

// A second server on a UDP port already served fails to start, as one on a
// TCP port does, instead of silently sharing (and taking) the datagrams.
func TestUDPPortInUseIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		first := start(t, reactor.BaseHandler{}, "udp://127.0.0.1:0", b)
		_, err := reactor.Start(reactor.BaseHandler{}, []string{"udp://" + first.Addrs()[0].String()},
			append(b.opts, reactor.WithLogger(discardLogger()))...)
		require.Error(t, err)
	})
}
