package evloop_test

// Per-conn limits and shared ports, on every backend.

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// A conn whose handler leaves more than WithMaxInbound unconsumed is closed
// with conn.ErrInboundTooLarge: a few bytes past a small cap, or a flood
// past a large one.
func TestMaxInboundClosesHoarder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct{ max, send int }{{1000, 2000}, {1 << 20, 4 << 20}} {
			r := newRecorder()
			r.onData = func(conn.Conn) reactor.Action { return reactor.None } // hoards
			e := start(t, r, "tcp://127.0.0.1:0", b, reactor.WithMaxInbound(tc.max))
			c := dial(t, e)
			defer c.Close()
			go func() {
				chunk := make([]byte, min(tc.send, 64<<10))
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				for sent := 0; sent < tc.send; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			require.ErrorIs(t, r.waitClose(t), conn.ErrInboundTooLarge, "max %d", tc.max)
		}
	})
}

// Listeners with WithReusePort on port 0 share the one port picked, and
// together accept every conn.
func TestReusePortListenersShareThePort(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := start(t, newRecorder(), "tcp://127.0.0.1:0", b, reactor.WithReusePort(true))
		require.Len(t, e.Addrs(), 1)
		require.NotZero(t, e.Addrs()[0].(*net.TCPAddr).Port)
		for i := 0; i < 20; i++ {
			c := dial(t, e)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err := c.Write([]byte("r"))
			require.NoError(t, err)
			_, err = io.ReadFull(c, make([]byte, 1))
			require.NoError(t, err)
		}
		require.Equal(t, 20, e.Conns())
		require.EqualValues(t, 20, e.Stats().Accepted)
	})
}

// Conns over WithMaxConns are closed before any handler sees them, with a
// clean EOF; closing an admitted conn makes room for another.
func TestMaxConnsRejectsExcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRecorder()
		e := start(t, r, "tcp://127.0.0.1:0", b, reactor.WithMaxConns(3))
		echo := func(c net.Conn, msg string) {
			t.Helper()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err := c.Write([]byte(msg))
			require.NoError(t, err)
			_, err = io.ReadFull(c, make([]byte, len(msg)))
			require.NoError(t, err)
		}
		var kept []net.Conn
		for i := 0; i < 3; i++ {
			c := dial(t, e)
			defer c.Close()
			echo(c, "x")
			kept = append(kept, c)
		}
		extra := dial(t, e)
		defer extra.Close()
		extra.SetDeadline(time.Now().Add(5 * time.Second))
		rest, err := io.ReadAll(extra)
		require.NoError(t, err, "the conn over the cap is closed")
		require.Empty(t, rest)
		require.EqualValues(t, 1, e.Stats().Rejected)
		require.Equal(t, 3, e.Conns())
		r.mu.Lock()
		require.Len(t, r.opened, 3, "the handler never saw the rejected conn")
		r.mu.Unlock()
		// Closing one makes room. The slot is free once OnClose has
		// returned (so the handler never sees more than the cap), a moment
		// after the recorder hears of the close: a dial in that moment is
		// still refused.
		kept[0].Close()
		require.NoError(t, r.waitClose(t))
		require.Eventually(t, func() bool {
			c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), time.Second)
			if err != nil {
				return false
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("y")); err != nil {
				return false
			}
			_, err = io.ReadFull(c, make([]byte, 1))
			return err == nil
		}, 5*time.Second, 5*time.Millisecond, "a conn is admitted once one has closed")
	})
}
