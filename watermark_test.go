package evloop_test

// Backpressure as a handler sees it, on every backend: above the high
// watermark the loop reads nothing more from the conn, yet a Wake still
// reaches OnTraffic.

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// trafficSeen is what one OnTraffic saw.
type trafficSeen struct {
	in, out int
	data    string
}

// pastHigh writes big in OnOpen, which puts the conn past the high
// watermark at once, and reports each OnTraffic.
type pastHigh struct {
	reactor.BaseHandler
	big     []byte
	opened  chan conn.Conn
	traffic chan trafficSeen
}

func (h *pastHigh) OnOpen(c conn.Conn) reactor.Action {
	c.Write(h.big)
	h.opened <- c
	return reactor.None
}

func (h *pastHigh) OnTraffic(c conn.Conn) reactor.Action {
	s := trafficSeen{in: c.InboundBuffered(), out: c.OutboundBuffered()}
	b, _ := c.Next(-1)
	s.data = string(b)
	h.traffic <- s
	return reactor.None
}

// TestWakeAboveHighWatermark: with output past the high watermark and input
// waiting, Wake makes the loop call OnTraffic, which sees the backlog and
// none of the input the loop holds back; the input arrives once the peer
// has read the output.
func TestWakeAboveHighWatermark(t *testing.T) {
	const low, high = 64 << 10, 256 << 10
	forEachBackend(t, func(t *testing.T, b backend) {
		h := &pastHigh{
			big:     bytes.Repeat([]byte("o"), 8*high),
			opened:  make(chan conn.Conn, 1),
			traffic: make(chan trafficSeen, 16),
		}
		// Small kernel buffers, so that most of OnOpen's output stays in
		// the conn.
		e := start(t, h, "tcp://127.0.0.1:0", b,
			reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))

		var sc conn.Conn
		select {
		case sc = <-h.opened:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnOpen")
		}
		_, err := c.Write([]byte("held"))
		require.NoError(t, err)
		select {
		case s := <-h.traffic:
			t.Fatalf("OnTraffic %+v with output past the high watermark, before any Wake", s)
		case <-time.After(50 * time.Millisecond):
		}

		require.NoError(t, sc.Wake())
		select {
		case s := <-h.traffic:
			require.Greater(t, s.out, high, "OutboundBuffered in the Wake's OnTraffic")
			require.Zero(t, s.in, "input held back above high reached the Wake's OnTraffic")
		case <-time.After(5 * time.Second):
			t.Fatal("Wake above the high watermark called no OnTraffic")
		}

		_, err = io.ReadFull(c, make([]byte, len(h.big)))
		require.NoError(t, err)
		deadline := time.After(10 * time.Second)
		got := ""
		for got != "held" {
			select {
			case s := <-h.traffic:
				got += s.data
			case <-deadline:
				t.Fatalf("input held above high never reached OnTraffic (got %q)", got)
			}
		}
	})
}
