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

// lenUDP reports the length of each datagram OnTraffic sees.
type lenUDP struct {
	reactor.BaseHandler
	lens chan int
}

func (h *lenUDP) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	h.lens <- len(b)
	return reactor.None
}

// TestUDPDatagramLargerThanReadBuffer: a datagram is one OnTraffic, whole,
// whatever WithReadBufferSize (the Internet profile's 16 KiB included): a
// read into a smaller buffer would cut it short without a word.
func TestUDPDatagramLargerThanReadBuffer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, opt := range []reactor.Option{reactor.WithReadBufferSize(4 << 10), reactor.WithInternetProfile()} {
			h := &lenUDP{lens: make(chan int, 8)}
			e := start(t, h, "udp://127.0.0.1:0", b, opt)
			c, err := net.DialUDP("udp", nil, e.Addrs()[0].(*net.UDPAddr))
			require.NoError(t, err)
			defer c.Close()
			for _, n := range []int{100, 20000, 65507} {
				_, err := c.Write(make([]byte, n))
				require.NoError(t, err)
				select {
				case got := <-h.lens:
					require.Equal(t, n, got, "a datagram of %d bytes", n)
				case <-time.After(10 * time.Second):
					t.Fatalf("no OnTraffic for a datagram of %d bytes", n)
				}
			}
		}
	})
}
