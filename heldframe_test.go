package evloop_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// framer: a first byte 'g' is answered with output far past the high
// watermark; then it waits for a whole frame of frameLen bytes and answers
// "ok".
type framer struct {
	reactor.BaseHandler
	frameLen int
	big      int
	started  bool
}

func (h *framer) OnTraffic(c conn.Conn) reactor.Action {
	if !h.started {
		b, _ := c.Next(1)
		if string(b) == "g" {
			h.started = true
			c.Write(make([]byte, h.big))
		}
	}
	if c.InboundBuffered() >= h.frameLen {
		c.Next(h.frameLen)
		c.Write([]byte("ok"))
	}
	return reactor.None
}

// A frame that arrived while the conn was past the high watermark is
// handed over in full once the conn drains, even when the handler needs
// more than one read buffer's worth to make progress and the peer sends
// nothing more.
func TestHeldFrameLargerThanReadBufferIsAnswered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const frame, big = 20000, 2 << 20
		h := &framer{frameLen: frame, big: big}
		e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithWriteWatermarks(16<<10, 64<<10),
			reactor.WithReadBufferSize(4096), reactor.WithSocketBuffers(16<<10, 16<<10), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Write(append([]byte("g"), bytes.Repeat([]byte("f"), frame)...))
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, big))
		require.NoError(t, err)
		got := make([]byte, 2)
		_, err = io.ReadFull(c, got)
		require.NoError(t, err, "the frame was never answered")
		require.Equal(t, "ok", string(got))
	})
}
