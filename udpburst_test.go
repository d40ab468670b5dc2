package evloop_test

// A burst of datagrams past the per-wakeup bound.

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// A burst of datagrams far past the per-wakeup bound (256), arriving while
// the loop is busy, is delivered whole: none waits for a later datagram.
func TestUDPBurstPastOneWakeupIsDelivered(t *testing.T) {
	const burst = 900
	forEachBackend(t, func(t *testing.T, b backend) {
		gate := make(chan struct{})
		blocked := make(chan struct{})
		var got atomic.Int64
		h := &udpBurst{gate: gate, blocked: blocked, got: &got, want: burst, all: make(chan struct{})}
		e := start(t, h, "udp://127.0.0.1:0", b)
		cl, err := net.DialUDP("udp", nil, e.Addrs()[0].(*net.UDPAddr))
		require.NoError(t, err)
		defer cl.Close()
		_, err = cl.Write([]byte("block"))
		require.NoError(t, err)
		select {
		case <-blocked:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnTraffic")
		}
		for i := 0; i < burst; i++ {
			_, err := cl.Write([]byte("d"))
			require.NoError(t, err)
		}
		close(gate)
		select {
		case <-h.all:
		case <-time.After(3 * time.Second):
			t.Fatalf("%d of %d datagrams delivered to OnTraffic within 3s", got.Load(), burst)
		}
	})
}

type udpBurst struct {
	reactor.BaseHandler
	gate, blocked chan struct{}
	got           *atomic.Int64
	want          int64
	all           chan struct{} // closed when want datagrams came
	once          sync.Once
}

func (h *udpBurst) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if string(b) == "block" {
		h.once.Do(func() { close(h.blocked) })
		select {
		case <-h.gate:
		case <-time.After(10 * time.Second):
		}
		return reactor.None
	}
	if len(b) > 0 && h.got.Add(1) == h.want {
		close(h.all)
	}
	return reactor.None
}
