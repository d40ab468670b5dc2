package reactor_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

func benchEngine(b *testing.B, h reactor.Handler, k poller.Kind) (reactor.Engine, net.Conn) {
	b.Helper()
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithPoller(k))
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	return e, c
}

// BenchmarkEcho is one 64-byte round trip through the native loop. The whole
// process is measured, client included: steady-state echo allocates nothing.
func BenchmarkEcho(b *testing.B) {
	for _, k := range []poller.Kind{poller.Epoll, poller.Poll} {
		b.Run(k.String(), func(b *testing.B) {
			_, c := benchEngine(b, emfileEcho{}, k)
			msg := make([]byte, 64)
			got := make([]byte, 64)
			for i := 0; i < 100; i++ { // warm the pools
				c.Write(msg)
				io.ReadFull(c, got)
			}
			b.ReportAllocs()
			b.SetBytes(64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// emfileEcho echoes what arrives (named for its first user, the EMFILE test).
type emfileEcho struct{ reactor.BaseHandler }

func (emfileEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// asyncHandler hands its conn to the benchmark once open.
type asyncHandler struct {
	reactor.BaseHandler
	opened chan conn.Conn
}

func (h asyncHandler) OnOpen(c conn.Conn) reactor.Action {
	h.opened <- c
	return reactor.None
}

// BenchmarkAsyncWrite measures AsyncWrite from another goroutine through
// the task queue and wakeup to the peer.
func BenchmarkAsyncWrite(b *testing.B) {
	h := asyncHandler{opened: make(chan conn.Conn, 1)}
	_, c := benchEngine(b, h, poller.Epoll)
	sc := <-h.opened
	msg := make([]byte, 64)
	got := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sc.AsyncWrite(msg, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
	}
}
