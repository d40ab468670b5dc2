//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// drainRecorder asks for OnDrained.
type drainRecorder struct {
	*recorder
	drained chan int
}

func (d *drainRecorder) OnDrained(c conn.Conn) reactor.Action {
	d.drained <- c.OutboundBuffered()
	return reactor.None
}

// TestOnDrained: output passes the high watermark while the peer does not
// read; OnDrained runs once it is back at the low one.
func TestOnDrained(t *testing.T) {
	big := bytes.Repeat([]byte("d"), 8*reactor.DefaultWriteHigh)
	r := newRecorder()
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big)
		return reactor.None
	}
	h := &drainRecorder{recorder: r, drained: make(chan int, 4)}
	e := start(t, h, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	got := make([]byte, len(big))
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.LessOrEqual(t, within(t, h.drained, "OnDrained"), reactor.DefaultWriteLow)
	require.Empty(t, h.drained, "once per crossing")
}

// A peer that sends and never reads: above the high watermark its input is
// held back from OnTraffic, so an echo's output stays near high; gnet reads
// on, so MaxInbound is what bounds the input, and the conn is closed with
// conn.ErrInboundTooLarge rather than growing without bound.
func TestWatermarksHoldInputBack(t *testing.T) {
	const low, high = 64 << 10, 256 << 10
	r := newRecorder()
	var maxOut atomic.Int64
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		c.Write(b)
		maxOut.Store(max(maxOut.Load(), int64(c.OutboundBuffered())))
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithWriteWatermarks(low, high),
		reactor.WithMaxInbound(4<<20), reactor.WithSocketBuffers(64<<10, 64<<10))
	c := dial(t, e, 0)
	go func() {
		chunk := make([]byte, 64<<10)
		c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for i := 0; i < 1024; i++ { // 64 MiB at most
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	ev := within(t, r.closed, "OnClose")
	require.ErrorIs(t, ev.err, conn.ErrInboundTooLarge)
	// One read's worth may land on top of high before input is held back.
	require.LessOrEqual(t, maxOut.Load(), int64(high+reactor.DefaultReadBufferSize))
}
