//go:build linux

package reactor

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
)

// gate blocks the first conn's OnTraffic until the test lets it go, one
// message at a time, so the test decides when its loop runs; it records
// every conn it opens and closes.
type gate struct {
	BaseHandler
	blocked chan struct{} // a message has come and OnTraffic waits
	release chan struct{}
	mu      sync.Mutex
	first   conn.Conn
	opened  []conn.Conn
	closes  map[conn.Conn]int
}

func (g *gate) OnOpen(c conn.Conn) Action {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.first == nil {
		g.first = c
	}
	g.opened = append(g.opened, c)
	return None
}

func (g *gate) OnTraffic(c conn.Conn) Action {
	c.Next(-1)
	g.mu.Lock()
	first := c == g.first
	g.mu.Unlock()
	if first {
		g.blocked <- struct{}{}
		<-g.release
	}
	return None
}

func (g *gate) OnClose(c conn.Conn, err error) {
	g.mu.Lock()
	g.closes[c]++
	g.mu.Unlock()
}

// pollIn waits until fd is readable (a listener: a conn is pending),
// without consuming anything.
func pollIn(t *testing.T, fd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		require.NoError(t, err)
		require.Equal(t, 1, n, "fd %d not readable within 5 s", fd)
		return
	}
}

// A conn accepted after the engine began to stop, whose client has sent a
// request, is not reset (issue #13): the balancer would hand it to a loop
// that has drained and ended, which could only close the bare fd, with the
// request unread, an RST. It is kept by the loop that accepted it, opened,
// and closed gracefully: its client reads EOF.
//
// The steps are forced, not timed: loop 0 (the listener's) is held inside
// a callback while the client connects and sends, and again, with the
// accept due in the same batch of events, while the engine begins to stop
// and loop 1 (conn-less) drains and ends.
func TestConnAcceptedWhileStoppingIsClosedGracefully(t *testing.T) {
	g := &gate{blocked: make(chan struct{}), release: make(chan struct{}), closes: make(map[conn.Conn]int)}
	eng, err := Start(g, []string{"tcp://127.0.0.1:0"}, WithLoops(2), WithLoadBalancing(LeastConns),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	e := nativeOf(eng)
	addr := e.Addrs()[0].String()
	bounded := func(ch chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}

	// The first conn goes to loop 0 (LeastConns, a tie), the listener's.
	c0, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c0.Close()
	_, err = c0.Write([]byte("a"))
	require.NoError(t, err)
	bounded(g.blocked, "first message not delivered") // loop 0 is held
	g.mu.Lock()
	require.Equal(t, e.loops[0], loopOf(g.first.(*fdconn.FD)))
	server0 := g.first.(*fdconn.FD).Fd()
	g.mu.Unlock()
	var lnFd int
	e.loops[0].watchers.each(func(fd int, w watcher) {
		if _, ok := w.(*listener); ok {
			lnFd = fd
		}
	})

	// While it is held: a second message for c0, then a client that
	// connects and sends its request. Loop 0's next batch of events has
	// c0 first, then the listener.
	_, err = c0.Write([]byte("b"))
	require.NoError(t, err)
	pollIn(t, server0)
	b, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Write([]byte("request"))
	require.NoError(t, err)
	pollIn(t, lnFd)
	g.release <- struct{}{}
	bounded(g.blocked, "second message not delivered") // held again, the accept next

	// The engine begins to stop; loop 1, with no conns, drains and ends.
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- e.Stop(ctx)
	}()
	bounded(e.stopping, "the stop did not begin")
	deadline := time.Now().Add(10 * time.Second)
	for e.running.Load() != 1 {
		require.True(t, time.Now().Before(deadline), "loop 1 did not end")
		time.Sleep(time.Millisecond) // polling a counter: no signal for it
	}
	g.release <- struct{}{}

	// The client reads EOF, not a reset.
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = b.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	c0.Close()
	b.Close()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Len(t, g.opened, 2, "both conns opened")
	for _, c := range g.opened {
		require.Equal(t, 1, g.closes[c], "OnClose calls")
	}
}
