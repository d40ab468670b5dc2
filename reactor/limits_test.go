//go:build linux

package reactor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// limitsHandler echoes and reports each OnClose cause.
type limitsHandler struct {
	reactor.BaseHandler
	closed  chan error
	drained atomic.Int64
	maxOut  atomic.Int64
}

func newLimitsHandler() *limitsHandler {
	return &limitsHandler{closed: make(chan error, 64)}
}

func (h *limitsHandler) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	if n := int64(c.OutboundBuffered()); n > h.maxOut.Load() {
		h.maxOut.Store(n)
	}
	return reactor.None
}

func (h *limitsHandler) OnClose(c conn.Conn, err error) { h.closed <- err }

func (h *limitsHandler) OnDrained(c conn.Conn) reactor.Action {
	h.drained.Add(1)
	return reactor.None
}

func (h *limitsHandler) waitClose(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.closed:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for OnClose")
	}
	return nil
}

func startLimits(t *testing.T, h reactor.Handler, opts ...reactor.Option) (reactor.Engine, func() net.Conn) {
	t.Helper()
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, append([]reactor.Option{reactor.WithLoops(2)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.Stop(ctx))
	})
	return e, func() net.Conn {
		c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
}

func TestIdleTimeoutClosesIdleConns(t *testing.T) {
	h := newLimitsHandler()
	_, dial := startLimits(t, h, reactor.WithIdleTimeout(100*time.Millisecond))
	start := time.Now() // before dial: the server may accept before Dial returns
	c := dial()
	require.ErrorIs(t, h.waitClose(t), reactor.ErrIdleTimeout)
	require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
}

func TestWatermarksBoundAPeerThatNeverReads(t *testing.T) {
	for _, b := range []tpConfig{
		{"native", nil},
		{"uring", []reactor.Option{reactor.WithBackend(uringbackend.New())}},
		{"uring-multishot", []reactor.Option{reactor.WithBackend(uringbackend.New(uringbackend.WithMultishotReceive()))}},
	} {
		t.Run(b.name, func(t *testing.T) { testWatermarksBound(t, b.opts) })
	}
}

func testWatermarksBound(t *testing.T, opts []reactor.Option) {
	h := newLimitsHandler()
	const low, high = 64 << 10, 256 << 10
	opts = append(append([]reactor.Option{}, opts...), reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10))
	e, dial := startLimits(t, h, opts...)
	c := dial()
	// Send far more than high while never reading: the writer must block once
	// the server stops reading, and the server must hold about high bytes.
	chunk := make([]byte, 64<<10)
	wrote := 0
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for wrote < 64<<20 {
		n, err := c.Write(chunk)
		wrote += n
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
			break
		}
	}
	require.Less(t, wrote, 64<<20, "the server kept reading from a peer that never reads")
	out := e.Stats().OutboundBuffered
	require.Greater(t, out, int64(0))
	// One read buffer's worth may land on top of high before reading pauses.
	require.LessOrEqual(t, out, int64(high+reactor.DefaultReadBufferSize), "outbound buffered past the watermark")

	// Now read everything: the server drains, resumes reading, says so.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go io.Copy(io.Discard, c)
	deadline := time.Now().Add(10 * time.Second)
	for h.drained.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.Greater(t, h.drained.Load(), int64(0), "OnDrained not called")
}

func TestStatsCountTraffic(t *testing.T) {
	h := newLimitsHandler()
	e, dial := startLimits(t, h)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("12345"))
			io.ReadFull(c, make([]byte, 5))
		}()
	}
	wg.Wait()
	// Counters move right after the syscalls, so a peer can see its echo a
	// moment before BytesOut counts it.
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().BytesOut < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s := e.Stats()
	require.Len(t, s.Loop, 2)
	require.EqualValues(t, 4, s.Accepted)
	require.EqualValues(t, 4, s.Open)
	require.EqualValues(t, 20, s.BytesIn)
	require.EqualValues(t, 20, s.BytesOut)
	require.Greater(t, s.Wakeups, int64(0))
	var sum int64
	for _, l := range s.Loop {
		sum += l.Accepted
	}
	require.EqualValues(t, 4, sum)
}

// tickCounter counts ticks.
type tickCounter struct {
	*limitsHandler
	ticks atomic.Int64
}

func (h *tickCounter) OnTick() (time.Duration, reactor.Action) {
	h.ticks.Add(1)
	return 10 * time.Millisecond, reactor.None
}

func TestTickWithThousandsOfTimersArmed(t *testing.T) {
	fdtest.RaiseNoFile(t, 8192)
	h := &tickCounter{limitsHandler: newLimitsHandler()}
	h.closed = make(chan error, 4096)
	e, dial := startLimits(t, h, reactor.WithTicker(true), reactor.WithIdleTimeout(time.Hour))
	const conns = 2000
	for i := 0; i < conns; i++ {
		dial()
	}
	waitFor(t, "every conn registered", 10*time.Second, func() bool { return e.Conns() == conns })
	before := h.ticks.Load()
	waitFor(t, "ticks while 2,000 idle timers are armed", 10*time.Second, func() bool { return h.ticks.Load() >= before+5 })
}
