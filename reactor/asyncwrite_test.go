package reactor_test

// AsyncWrite from other goroutines: its callback, its errors, its panics.

import (
	"context"
	"io"
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

var quiet = reactor.WithLogger(slog.New(slog.DiscardHandler))

// asyncPanic panics in the done callback of the AsyncWrite it starts on
// open, for the conn whose first byte is 'p'.
type asyncPanic struct {
	reactor.BaseHandler
	closed chan error
}

func (h asyncPanic) OnTraffic(c conn.Conn) reactor.Action {
	in, _ := c.Next(-1)
	if len(in) > 0 && in[0] == 'p' {
		go c.AsyncWrite([]byte("x"), func(conn.Conn, error) error { panic("boom in done") })
		return reactor.None
	}
	c.Write(in)
	return reactor.None
}

func (h asyncPanic) OnClose(c conn.Conn, err error) { h.closed <- err }

// A panic in an AsyncWrite's done callback closes that conn with ErrPanic;
// the loop and the other conns live on.
func TestPanicInAsyncWriteCallbackClosesOnlyItsConn(t *testing.T) {
	h := asyncPanic{closed: make(chan error, 2)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), quiet)
	require.NoError(t, err)
	defer e.Stop(context.Background())

	bystander, err := net.Dial("tcp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer bystander.Close()
	victim, err := net.Dial("tcp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer victim.Close()
	_, err = victim.Write([]byte("p"))
	require.NoError(t, err)
	select {
	case err := <-h.closed:
		require.ErrorIs(t, err, reactor.ErrPanic)
	case <-time.After(10 * time.Second):
		t.Fatal("the conn whose callback panicked was not closed")
	}
	require.Equal(t, int64(1), e.Stats().Panics)

	_, err = bystander.Write([]byte("still here"))
	require.NoError(t, err)
	require.NoError(t, bystander.SetReadDeadline(time.Now().Add(10*time.Second)))
	got := make([]byte, 10)
	_, err = io.ReadFull(bystander, got)
	require.NoError(t, err)
	require.Equal(t, "still here", string(got))
}

// grabConn hands the first opened conn to the test.
type grabConn struct {
	reactor.BaseHandler
	c chan conn.Conn
}

func (h grabConn) OnOpen(c conn.Conn) reactor.Action {
	select {
	case h.c <- c:
	default:
	}
	return reactor.None
}

// An AsyncWrite that returns an error never runs its callback, even when it
// races the engine's stop.
func TestAsyncWriteErrorMeansNoCallback(t *testing.T) {
	var bad atomic.Int64
	for round := 0; round < 30; round++ {
		h := grabConn{c: make(chan conn.Conn, 1)}
		e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), quiet)
		require.NoError(t, err)
		cl, err := net.Dial("tcp", e.Addrs()[0].String())
		require.NoError(t, err)
		c := <-h.c
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ran := make(chan struct{}, 1)
					err := c.AsyncWrite(nil, func(conn.Conn, error) error { ran <- struct{}{}; return nil })
					if err == nil {
						continue
					}
					<-e.Done() // every queued task has run by now
					select {
					case <-ran:
						bad.Add(1)
					default:
					}
					return
				}
			}()
		}
		cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, e.Stop(ctx))
		cancel()
		wg.Wait()
	}
	require.Zero(t, bad.Load(), "AsyncWrite calls that failed but still ran their callback")
}
