package evloop_test

// A stop whose deadline passes while conns linger.

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// Stop with a deadline, while a conn whose output is all out lingers for
// its peer's EOF: nothing is cut, so Stop returns nil and OnClose gets nil
// (design.md: Stop returns nil when every conn drained, the cause only when
// some had to be closed unflushed).
func TestStopDeadlineWithOnlyLingeringConnsIsNotForced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRecorder()
		opts := append(append([]reactor.Option{}, b.opts...), reactor.WithLingerTimeout(10*time.Second))
		e, err := reactor.Start(r, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		c := dial(t, e)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = c.Write([]byte("ping"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, 4))
		require.NoError(t, err)
		// The client keeps its end open: the server's conn lingers.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		stopErr := e.Stop(ctx)
		// The client saw the whole (empty) rest and the server's FIN.
		n, rerr := c.Read(make([]byte, 1))
		require.Equal(t, 0, n)
		require.ErrorIs(t, rerr, io.EOF)
		require.NoError(t, r.waitClose(t), "OnClose cause of a conn that had flushed everything")
		require.NoError(t, stopErr, "Stop's result when no conn was closed unflushed")
		r.requireClosedOnce(t)
	})
}
