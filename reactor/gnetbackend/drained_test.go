//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"io"
	"testing"

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
