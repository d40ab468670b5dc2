package evloop_test

// Closing a conn, on every backend: the whole reply first, nothing after.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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

// countingCloser answers its first input with reply and the Close action,
// and counts its OnTraffic calls.
type countingCloser struct {
	reactor.BaseHandler
	reply []byte
	calls *atomic.Int32
}

func (h countingCloser) OnTraffic(c conn.Conn) reactor.Action {
	h.calls.Add(1)
	c.Discard(-1)
	c.Write(h.reply)
	return reactor.Close
}

// After the Close action no OnTraffic comes, whatever the peer sends while
// the conn flushes its reply or lingers for the peer's end: native stops
// reading a closing conn.
func TestNoTrafficAfterCloseAction(t *testing.T) {
	for _, size := range []int{3, 40 << 10, 512 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				var calls atomic.Int32
				h := countingCloser{reply: bytes.Repeat([]byte("r"), size), calls: &calls}
				e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithLogger(discardLogger()),
					reactor.WithSocketBuffers(16<<10, 16<<10))
				c := dial(t, e)
				defer c.Close()
				require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
				_, err := c.Write([]byte("first"))
				require.NoError(t, err)
				// More input while the reply is under way, in pieces.
				for range 8 {
					if _, err := c.Write([]byte("more")); err != nil {
						break
					}
					time.Sleep(2 * time.Millisecond) // separate segments, not a synchronization
				}
				got, _ := io.Copy(io.Discard, c)
				require.LessOrEqual(t, got, int64(size))
				require.EqualValues(t, 1, calls.Load(), "OnTraffic calls")
			})
		})
	}
}
