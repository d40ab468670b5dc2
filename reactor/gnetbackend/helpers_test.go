//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// waitLimit bounds every wait in these tests.
const waitLimit = 10 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// start runs h on the gnet backend with two loops and stops it when the
// test ends.
func start(t *testing.T, h reactor.Handler, addrs []string, opts ...reactor.Option) reactor.Engine {
	t.Helper()
	all := append([]reactor.Option{
		reactor.WithBackend(New()),
		reactor.WithLoops(2),
		reactor.WithLogger(discardLogger()),
	}, opts...)
	e, err := reactor.Start(h, addrs, all...)
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, e) })
	return e
}

func stop(t *testing.T, e reactor.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	require.NoError(t, e.Stop(ctx))
}

func dial(t *testing.T, e reactor.Engine, i int) net.Conn {
	t.Helper()
	a := e.Addrs()[i]
	c, err := net.DialTimeout(a.Network(), a.String(), waitLimit)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads back as many bytes.
func roundTrip(t *testing.T, c net.Conn, msg []byte) []byte {
	t.Helper()
	_, err := c.Write(msg)
	require.NoError(t, err)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	return got
}

// within waits for ch, at most waitLimit.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// closeEvent is one OnClose.
type closeEvent struct {
	c   conn.Conn
	err error
}

// recorder is a test handler: it echoes by default and records, per conn,
// the order of its callbacks.
type recorder struct {
	reactor.BaseHandler
	mu       sync.Mutex
	events   map[conn.Conn][]string
	opened   chan conn.Conn
	closed   chan closeEvent
	shutdown chan struct{}

	onOpen    func(c conn.Conn) reactor.Action
	onTraffic func(c conn.Conn) reactor.Action
}

func newRecorder() *recorder {
	return &recorder{
		events:   map[conn.Conn][]string{},
		opened:   make(chan conn.Conn, 1024),
		closed:   make(chan closeEvent, 1024),
		shutdown: make(chan struct{}),
	}
}

func (r *recorder) note(c conn.Conn, ev string) {
	r.mu.Lock()
	r.events[c] = append(r.events[c], ev)
	r.mu.Unlock()
}

func (r *recorder) OnOpen(c conn.Conn) reactor.Action {
	r.note(c, "open")
	r.opened <- c
	if r.onOpen != nil {
		return r.onOpen(c)
	}
	return reactor.None
}

func (r *recorder) OnTraffic(c conn.Conn) reactor.Action {
	r.note(c, "traffic")
	if r.onTraffic != nil {
		return r.onTraffic(c)
	}
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (r *recorder) OnClose(c conn.Conn, err error) {
	r.note(c, "close")
	r.closed <- closeEvent{c, err}
}

func (r *recorder) OnShutdown(reactor.Engine) { close(r.shutdown) }

// requireLifecycles checks every conn's callbacks: OnOpen first, OnClose
// last and exactly once.
func (r *recorder) requireLifecycles(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, evs := range r.events {
		require.Equal(t, "open", evs[0], "first callback of %v", c.RemoteAddr())
		require.Equal(t, "close", evs[len(evs)-1], "last callback of %v", c.RemoteAddr())
		n := 0
		for _, ev := range evs {
			if ev == "close" {
				n++
			}
			if ev == "open" && n > 0 {
				t.Fatalf("OnOpen after OnClose for %v", c.RemoteAddr())
			}
		}
		require.Equal(t, 1, n, "OnClose count for %v: %v", c.RemoteAddr(), evs)
	}
}

// readAllUntilEOF reads c until the server closes it.
func readAllUntilEOF(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	require.NoError(t, err)
	return buf.Bytes()
}
