//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// lockedBuffer is a log sink safe to write from the loops.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanicClosesOnlyThatConn(t *testing.T) {
	var logs lockedBuffer
	r := newRecorder()
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		if string(b) == "boom" {
			panic("handler exploded")
		}
		c.Write(b)
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1),
		reactor.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	bad := dial(t, e, 0)
	good := dial(t, e, 0)
	_, err := bad.Write([]byte("boom"))
	require.NoError(t, err)
	ev := within(t, r.closed, "OnClose of the panicking conn")
	require.ErrorIs(t, ev.err, reactor.ErrPanic)
	require.Contains(t, ev.err.Error(), "handler exploded")
	require.Equal(t, "still alive", string(roundTrip(t, good, []byte("still alive"))))
	require.Empty(t, readAllUntilEOF(t, bad))
	require.EqualValues(t, 1, e.Stats().Panics)
	require.Contains(t, logs.String(), "handler panicked")
	require.NoError(t, good.Close())
	require.NoError(t, within(t, r.closed, "OnClose of the good conn").err)
	r.requireLifecycles(t)
}

func TestPanicInOnOpen(t *testing.T) {
	r := newRecorder()
	r.onOpen = func(conn.Conn) reactor.Action { panic("open exploded") }
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	ev := within(t, r.closed, "OnClose")
	require.ErrorIs(t, ev.err, reactor.ErrPanic)
	require.Empty(t, readAllUntilEOF(t, c))
	r.requireLifecycles(t)
}
