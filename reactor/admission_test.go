package reactor_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// capCounter counts the conns a handler sees open (OnOpen minus OnClose)
// and keeps the most it ever saw, and how many dials have an outcome.
type capCounter struct {
	reactor.BaseHandler
	listen           string // the listener's address: conns not on it were dialed
	live, most, seen atomic.Int64
	dialsDecided     atomic.Int64
	decided          chan struct{} // a value per dial decided
}

func (h *capCounter) OnBoot(e reactor.Engine) reactor.Action {
	h.listen = e.Addrs()[0].String() // before the loops run
	return reactor.None
}

func (h *capCounter) OnOpen(c conn.Conn) reactor.Action {
	n := h.live.Add(1)
	h.seen.Add(1)
	for {
		m := h.most.Load()
		if n <= m || h.most.CompareAndSwap(m, n) {
			break
		}
	}
	if c.LocalAddr().String() != h.listen {
		h.dialDecided()
	}
	return reactor.None
}

func (h *capCounter) dialDecided() {
	h.dialsDecided.Add(1)
	h.decided <- struct{}{}
}

func (h *capCounter) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (h *capCounter) OnClose(_ conn.Conn, err error) {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		h.dialDecided() // a dial that never opened
		return
	}
	h.live.Add(-1)
}

// WithMaxConns is exact: with conns accepted on four reuseport loops at
// once and Dials from eight goroutines, all started together and all held
// open, neither the engine nor its handler ever sees more than the cap.
func TestMaxConnsIsExactUnderConcurrency(t *testing.T) {
	const limit = 6
	h := &capCounter{decided: make(chan struct{}, 1024)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"},
		reactor.WithLoops(4), reactor.WithReusePort(true), reactor.WithMaxConns(limit),
		reactor.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.Stop(ctx))
	})
	addr := e.Addrs()[0].String()
	// Dials go to a plain listener that holds every conn open: a dialed
	// conn stays open, so one admitted over the cap stays counted.
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted []net.Conn
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := peer.Accept()
			if err != nil {
				return
			}
			accepted = append(accepted, c)
		}
	}()
	defer func() {
		peer.Close()
		<-acceptDone
		for _, c := range accepted {
			c.Close()
		}
	}()

	done := make(chan struct{})
	var mostConns atomic.Int64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			if n := int64(e.Conns()); n > mostConns.Load() {
				mostConns.Store(n)
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()

	start := make(chan struct{})
	var dials atomic.Int64
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var clients sync.WaitGroup
	for g := 0; g < 8; g++ {
		clients.Add(1)
		go func() {
			defer clients.Done()
			<-start
			for i := 0; i < 16; i++ {
				if g%2 == 0 || i%2 == 0 {
					err := e.Dial("tcp", peer.Addr().String())
					if err == nil {
						dials.Add(1)
					} else if !errors.Is(err, reactor.ErrTooManyConns) {
						t.Errorf("Dial: %v", err)
						return
					}
					continue
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					continue // the backlog was full: also a refusal
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	close(start)
	clients.Wait()
	timeout := time.After(10 * time.Second)
	for h.dialsDecided.Load() < dials.Load() {
		select {
		case <-h.decided:
		case <-timeout:
			t.Fatalf("%d of %d dials undecided", dials.Load()-h.dialsDecided.Load(), dials.Load())
		}
	}
	close(done)
	sampler.Wait()

	st := e.Stats()
	t.Logf("opened %d, rejected %d, dials %d, most open: handler %d, Conns %d", h.seen.Load(), st.Rejected, dials.Load(), h.most.Load(), mostConns.Load())
	require.LessOrEqual(t, h.most.Load(), int64(limit), "the handler saw more conns open than the cap")
	require.LessOrEqual(t, mostConns.Load(), int64(limit), "Conns passed the cap")
	require.Positive(t, h.seen.Load())
	require.Positive(t, st.Rejected, "the cap was never reached: the test proves nothing")
}
