package evloop_test

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// keepOneAndFlood leaves its input unconsumed and answers the first byte
// with output far past the high watermark.
type keepOneAndFlood struct {
	reactor.BaseHandler
	big     int
	flooded atomic.Bool
	seen    chan int
	drained chan struct{}
}

func (h *keepOneAndFlood) OnTraffic(c conn.Conn) reactor.Action {
	h.seen <- c.InboundBuffered()
	if !h.flooded.Swap(true) {
		c.Write(make([]byte, h.big))
	}
	return reactor.None
}

func (h *keepOneAndFlood) OnDrained(c conn.Conn) reactor.Action {
	h.drained <- struct{}{}
	return reactor.None
}

// TestNoTrafficForKeptInputAfterDrained: once backpressure ends
// (OnDrained), input the handler was given and kept gets no OnTraffic of
// its own while the peer sends nothing new: OnTraffic runs when inbound
// bytes are buffered (or after Wake), as native and gnet do. io_uring's
// deliverHeld called it again with the same byte.
func TestNoTrafficForKeptInputAfterDrained(t *testing.T) {
	const low, high = 16 << 10, 64 << 10
	forEachBackend(t, func(t *testing.T, b backend) {
		h := &keepOneAndFlood{big: 2 << 20, seen: make(chan int, 16), drained: make(chan struct{}, 4)}
		e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithWriteWatermarks(low, high),
			reactor.WithSocketBuffers(16<<10, 16<<10), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		_, err := c.Write([]byte("a"))
		require.NoError(t, err)
		require.Equal(t, 1, <-h.seen)
		_, err = io.ReadFull(c, make([]byte, 2<<20))
		require.NoError(t, err)
		select {
		case <-h.drained:
		case <-time.After(5 * time.Second):
			t.Fatal("no OnDrained")
		}
		select {
		case n := <-h.seen:
			t.Fatalf("OnTraffic again with %d buffered and nothing new", n)
		case <-time.After(200 * time.Millisecond):
		}
		_, err = c.Write([]byte("b"))
		require.NoError(t, err)
		select {
		case n := <-h.seen:
			require.Equal(t, 2, n)
		case <-time.After(5 * time.Second):
			t.Fatal("no OnTraffic for new input")
		}
	})
}
