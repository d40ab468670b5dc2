package reactor_test

// Edge cases found in review, one test each: every one failed before its fix.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

var quiet = reactor.WithLogger(slog.New(slog.DiscardHandler))

// bigGreeter writes 4 MiB on open, more than a FIFO takes at once.
type bigGreeter struct{ reactor.BaseHandler }

func (bigGreeter) OnOpen(c conn.Conn) reactor.Action {
	c.Write(make([]byte, 4<<20))
	return reactor.None
}

// A FIFO client that has sent all it will (its write end closed) and reads
// a large reply slowly. The server's read end then reports hangup on every
// wait whatever the interest; the loop must not spin on it.
func TestFIFOHalfClosedSlowReaderDoesNotSpin(t *testing.T) {
	for _, k := range []poller.Kind{poller.Epoll, poller.Poll} {
		t.Run(k.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.fifo")
			e, err := reactor.Start(bigGreeter{}, []string{"fifo://" + path}, reactor.WithLoops(1), reactor.WithPoller(k))
			require.NoError(t, err)
			defer e.Stop(context.Background())
			c, err := fifo.Dial(path)
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.(*fifo.Conn).CloseWrite())
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = io.ReadFull(c, make([]byte, 1000)) // the reply has started
			require.NoError(t, err)

			w0 := e.Stats().Wakeups
			time.Sleep(300 * time.Millisecond) // the slow reader, not a synchronisation
			spent := e.Stats().Wakeups - w0
			n, err := io.Copy(io.Discard, c)
			require.NoError(t, err)
			require.Equal(t, int64(4<<20-1000), n, "the rest of the reply")
			require.Less(t, spent, int64(100), "loop wakeups in 300 ms with nothing to do")
		})
	}
}

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

// tickShutdown ends the engine on its first tick.
type tickShutdown struct{ reactor.BaseHandler }

func (tickShutdown) OnTick() (time.Duration, reactor.Action) { return 0, reactor.Shutdown }

// An engine that finishes at once must still take its signal watcher down
// (goleak in TestMain sees a leaked one) without a data race.
func TestSignalsWithAnEngineThatStopsAtOnce(t *testing.T) {
	for i := 0; i < 50; i++ {
		e, err := reactor.Start(tickShutdown{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1),
			reactor.WithTicker(true), reactor.WithSignals(syscall.SIGUSR2))
		require.NoError(t, err)
		select {
		case <-e.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("engine did not stop")
		}
	}
}

// byeHandler answers the first message with "bye" and returns Close.
type byeHandler struct {
	reactor.BaseHandler
	closed chan error
}

func (h *byeHandler) OnTraffic(c conn.Conn) reactor.Action {
	c.Discard(-1)
	c.Write([]byte("bye"))
	return reactor.Close
}

func (h *byeHandler) OnClose(c conn.Conn, err error) { h.closed <- err }

// A conn the handler closed, its output all delivered, lingers for the
// peer's EOF; the idle timer firing then is not the conn's fault.
func TestLingeringCloseIsNotAnIdleTimeout(t *testing.T) {
	h := &byeHandler{closed: make(chan error, 1)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithIdleTimeout(200*time.Millisecond))
	require.NoError(t, err)
	defer e.Stop(context.Background())
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("hi"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, make([]byte, 3))
	require.NoError(t, err)
	// The client keeps its side open past the idle timeout.
	select {
	case err := <-h.closed:
		require.NoError(t, err, "OnClose of a conn the handler closed cleanly")
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose")
	}
}

// peekUDP reports what Peek past the datagram returns.
type peekUDP struct {
	reactor.BaseHandler
	got chan []byte
}

func (h *peekUDP) OnTraffic(c conn.Conn) reactor.Action {
	if b, err := c.Peek(100); errors.Is(err, io.ErrShortBuffer) {
		h.got <- append([]byte(nil), b...)
	}
	return reactor.None
}

// conn.Conn's Peek past the buffer returns what there is, for UDP too.
func TestUDPPeekPastTheDatagram(t *testing.T) {
	h := &peekUDP{got: make(chan []byte, 1)}
	e, err := reactor.Start(h, []string{"udp://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(t, err)
	defer e.Stop(context.Background())
	c, err := net.Dial("udp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	for {
		_, err = c.Write([]byte("hello"))
		require.NoError(t, err)
		select {
		case b := <-h.got:
			require.Equal(t, "hello", string(b))
			return
		case <-time.After(time.Second): // a datagram lost on loopback: send again
		}
	}
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

// tcp6:// serves IPv6 only, as net.Listen("tcp6") does, so that tcp4 and
// tcp6 wildcards can share a port.
func TestTCP6AndTCP4ShareAPort(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6:", err)
	}
	probe.Close()
	e4, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp4://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(t, err)
	defer e4.Stop(context.Background())
	port := e4.Addrs()[0].(*net.TCPAddr).Port
	e6, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp6://[::]:" + strconv.Itoa(port)}, reactor.WithLoops(1))
	require.NoError(t, err, "tcp6 on the port tcp4 holds")
	defer e6.Stop(context.Background())
}

// dialReport reports each dial's outcome.
type dialReport struct {
	reactor.BaseHandler
	opened chan conn.Conn
	closed chan error
}

func (h dialReport) OnOpen(c conn.Conn) reactor.Action {
	if c.LocalAddr() != nil && h.opened != nil {
		h.opened <- c
	}
	return reactor.None
}

func (h dialReport) OnClose(c conn.Conn, err error) {
	if h.closed != nil {
		h.closed <- err
	}
}

// WithDialTimeout(0) means no timeout, as net.Dialer's zero Timeout does,
// not a dial that has timed out before it starts.
func TestDialTimeoutZeroIsNoTimeout(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := dialReport{opened: make(chan conn.Conn, 1), closed: make(chan error, 2)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithDialTimeout(0))
	require.NoError(t, err)
	defer e.Stop(context.Background())
	defer target.Close() // first: the dialed conn then ends at once
	require.NoError(t, e.Dial("tcp", target.Addr().String()))
	select {
	case <-h.opened:
	case err := <-h.closed:
		t.Fatalf("dial failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no dial outcome")
	}
}

// WithDrainTimeout(0) means no bound: a Shutdown action's drain waits for
// output instead of cutting it at once.
func TestDrainTimeoutZeroIsNoBound(t *testing.T) {
	o := reactor.NewOptions(reactor.WithDrainTimeout(0))
	require.True(t, o.DrainDeadline().IsZero())
	ctx, cancel := o.DrainContext()
	defer cancel()
	_, has := ctx.Deadline()
	require.False(t, has)
	o = reactor.NewOptions()
	require.WithinDuration(t, time.Now().Add(reactor.DefaultDrainTimeout), o.DrainDeadline(), time.Second)
}
