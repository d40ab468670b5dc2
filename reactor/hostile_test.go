//go:build linux

package reactor_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/reactor"
)

// ledger is a handler that echoes, counts what it wrote per conn, and checks
// that every opened conn closes exactly once.
type ledger struct {
	reactor.BaseHandler
	mu      sync.Mutex
	opens   int
	closes  map[conn.Conn]int
	written map[conn.Conn]int // bytes Write accepted, per conn
	panicOn string
}

func newLedger() *ledger {
	return &ledger{closes: map[conn.Conn]int{}, written: map[conn.Conn]int{}}
}

func (l *ledger) OnOpen(c conn.Conn) reactor.Action {
	l.mu.Lock()
	l.opens++
	l.mu.Unlock()
	return reactor.None
}

func (l *ledger) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if l.panicOn != "" && string(b) == l.panicOn {
		panic("hostile input")
	}
	n, _ := c.Write(b)
	l.mu.Lock()
	l.written[c] += n
	l.mu.Unlock()
	return reactor.None
}

func (l *ledger) OnClose(c conn.Conn, err error) {
	l.mu.Lock()
	l.closes[c]++
	l.mu.Unlock()
}

func (l *ledger) requireBalanced(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Equal(t, l.opens, len(l.closes), "OnClose count differs from OnOpen count")
	for _, n := range l.closes {
		require.Equal(t, 1, n, "OnClose called more than once")
	}
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHostilePeers(t *testing.T) {
	fdtest.RaiseNoFile(t, 8192)
	before := fdtest.Open(t)
	h := newLedger()
	h.panicOn = "PANIC"
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2),
		reactor.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	addr := e.Addrs()[0].String()
	var wg sync.WaitGroup

	// 5,000 conns opened and dropped abruptly in bursts: half with RST.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for burst := 0; burst < 10; burst++ {
			var cs []net.Conn
			for i := 0; i < 500; i++ {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					continue
				}
				if i%3 == 0 {
					c.Write([]byte("data before the drop"))
				}
				cs = append(cs, c)
			}
			for i, c := range cs {
				if i%2 == 0 {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}
		}
	}()

	// A client that sends one byte per millisecond and checks its echo.
	trickleErr := make(chan error, 1)
	go func() {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			trickleErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		b := make([]byte, 1)
		for i := 0; i < 300; i++ {
			if _, err := c.Write([]byte{byte(i)}); err != nil {
				trickleErr <- err
				return
			}
			if _, err := io.ReadFull(c, b); err != nil || b[0] != byte(i) {
				trickleErr <- errors.New("trickle echo mismatch")
				return
			}
			time.Sleep(time.Millisecond)
		}
		trickleErr <- nil
	}()

	// RST while the server has output pending for the peer.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write(make([]byte, 1<<20)) // echoed back, but never read
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()

	// A handler that panics on some conns.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("PANIC"))
			io.Copy(io.Discard, c) // the server closes it
			c.Close()
		}
	}()

	// Readers that stall forever, holding server output.
	var stalled []net.Conn
	for i := 0; i < 5; i++ {
		d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
			})
		}}
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write(make([]byte, 8<<20)) // ends when the server stops reading
		}()
		stalled = append(stalled, c)
	}

	require.NoError(t, <-trickleErr)
	waitFor(t, "the dropped conns to close", 20*time.Second, func() bool { return e.Conns() <= len(stalled) })
	waitFor(t, "output held for the stalled readers", 20*time.Second, func() bool { return e.Stats().OutboundBuffered > 0 })

	// Stop with stalled readers: the drain deadline passes, they are closed
	// with the context's error, and Stop reports it.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = e.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	for _, c := range stalled {
		c.Close()
	}
	wg.Wait()
	h.requireBalanced(t)
	require.Equal(t, 0, e.Conns())
	require.GreaterOrEqual(t, e.Stats().Panics, int64(20))
	waitFor(t, "fds back to baseline", 5*time.Second, func() bool { return fdtest.Open(t) <= before })
}

// TestGracefulStopLosesNothing stops the engine while clients stream: every
// byte the handler wrote before Stop reaches its peer.
func TestGracefulStopLosesNothing(t *testing.T) {
	h := newLedger()
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	require.NoError(t, err)
	addr := e.Addrs()[0].String()

	const clients = 20
	received := make([]atomic.Int64, clients)
	locals := make([]string, clients)
	var wg sync.WaitGroup
	started := make(chan struct{}, clients)
	for i := 0; i < clients; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		locals[i] = c.LocalAddr().String()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		wg.Add(2)
		go func() { // writer: streams until the server goes away
			defer wg.Done()
			chunk := make([]byte, 16<<10)
			for j := 0; ; j++ {
				if _, err := c.Write(chunk); err != nil {
					return
				}
				if j == 4 {
					started <- struct{}{}
				}
			}
		}()
		go func() { // reader: counts every echoed byte until EOF
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				received[i].Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	for i := 0; i < clients; i++ {
		<-started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, e.Stop(ctx))
	wg.Wait()

	h.mu.Lock()
	defer h.mu.Unlock()
	byPeer := map[string]int{}
	for c, n := range h.written {
		byPeer[c.RemoteAddr().String()] = n
	}
	for i := 0; i < clients; i++ {
		require.EqualValues(t, byPeer[locals[i]], received[i].Load(), "client %d lost bytes", i)
	}
}
