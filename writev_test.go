package evloop_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestWritevPastIOVMax: Writev and AsyncWritev take more buffers than one
// writev(2) may (IOV_MAX, 1024), as a chat room's fan-out of queued lines
// does, and the peer gets every byte in order.
func TestWritevPastIOVMax(t *testing.T) {
	const nbufs = 3000
	bufs := make([][]byte, nbufs)
	var want bytes.Buffer
	for i := range bufs {
		bufs[i] = fmt.Appendf(nil, "%05d\n", i)
		want.Write(bufs[i])
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		asyncDone := make(chan error, 1)
		r := newRecorder()
		r.onData = func(c conn.Conn) reactor.Action {
			in, _ := c.Next(-1)
			switch string(in) {
			case "sync":
				n, err := c.Writev(bufs)
				if err != nil || n != want.Len() {
					c.Write(fmt.Appendf(nil, "Writev: %d, %v", n, err))
				}
			case "async":
				err := c.AsyncWritev(bufs, func(_ conn.Conn, err error) error { asyncDone <- err; return nil })
				if err != nil {
					asyncDone <- err
				}
			}
			return reactor.None
		}
		e := start(t, r, "tcp://127.0.0.1:0", b)
		c := dial(t, e)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		for _, mode := range []string{"sync", "async"} {
			_, err := c.Write([]byte(mode))
			require.NoError(t, err)
			got := make([]byte, want.Len())
			_, err = io.ReadFull(c, got)
			require.NoError(t, err, mode)
			require.Equal(t, want.String(), string(got), mode)
		}
		select {
		case err := <-asyncDone:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("AsyncWritev's callback never ran")
		}
	})
}

// TestAsyncWriteQueuedBeforeShutdownWrite: async writes queued before
// ShutdownWrite (or a Close action) that reach the loop after it fail with
// ErrWriteShut (ErrClosed), nothing more goes out, and the conn ends
// cleanly, on both backends. gnet wrote them to the shut socket, got EPIPE
// (even for an AsyncWrite of nothing, the barrier the TLS layer uses) and
// closed the conn with "write: broken pipe".
func TestAsyncWriteQueuedBeforeShutdownWrite(t *testing.T) {
	ends := []struct {
		name string
		end  func(conn.Conn) reactor.Action
		want error
	}{
		{"ShutdownWrite", func(c conn.Conn) reactor.Action { c.ShutdownWrite(); return reactor.None }, conn.ErrWriteShut},
		{"Close", func(conn.Conn) reactor.Action { return reactor.Close }, conn.ErrClosed},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, end := range ends {
			done := make(chan error, 3)
			note := func(_ conn.Conn, err error) error { done <- err; return nil }
			r := newRecorder()
			r.onData = func(c conn.Conn) reactor.Action {
				if in, _ := c.Next(-1); string(in) != "x" {
					return reactor.None
				}
				for _, err := range []error{
					c.AsyncWrite(nil, note),
					c.AsyncWritev([][]byte{{}, nil}, note),
					c.AsyncWrite([]byte("late"), note),
				} {
					if err != nil {
						done <- err
					}
				}
				return end.end(c)
			}
			e := start(t, r, "tcp://127.0.0.1:0", b)
			c := dial(t, e)
			t.Cleanup(func() { c.Close() })
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			_, err := c.Write([]byte("x"))
			require.NoError(t, err)
			got, err := io.ReadAll(c)
			require.NoError(t, err, end.name)
			require.Empty(t, string(got), "%s: nothing queued before it went out", end.name)
			for range 3 {
				select {
				case err := <-done:
					require.ErrorIs(t, err, end.want, end.name)
				case <-time.After(10 * time.Second):
					t.Fatal("no async write callback")
				}
			}
			// The server's end is clean: the peer's EOF ends the linger.
			require.NoError(t, c.(*net.TCPConn).CloseWrite())
			require.NoError(t, r.waitClose(t), end.name)
		}
	})
}
