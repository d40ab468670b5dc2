//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

func TestOpenTrafficCloseOrder(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	for i := 0; i < 10; i++ {
		c := dial(t, e, 0)
		require.Equal(t, "ping", string(roundTrip(t, c, []byte("ping"))))
		require.NoError(t, c.Close())
		ev := within(t, r.closed, "OnClose")
		require.NoError(t, ev.err, "a clean EOF closes with nil")
	}
	r.requireLifecycles(t)
	require.Equal(t, 0, e.Conns())
}

func TestPeerResetCause(t *testing.T) {
	r := newRecorder()
	r.onTraffic = func(c conn.Conn) reactor.Action {
		c.Discard(-1)
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0).(*net.TCPConn)
	oc := within(t, r.opened, "OnOpen")
	_, err := c.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, c.SetLinger(0))
	require.NoError(t, c.Close())
	ev := within(t, r.closed, "OnClose")
	require.Equal(t, oc, ev.c)
	require.Error(t, ev.err, "a reset is not a clean close")
	r.requireLifecycles(t)
}

func TestCloseFromAnotherGoroutineFlushesFirst(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 4<<20)
	r := newRecorder()
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big)
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	oc := within(t, r.opened, "OnOpen")
	require.NoError(t, oc.Close())
	got := readAllUntilEOF(t, c)
	require.Equal(t, len(big), len(got))
	require.NoError(t, within(t, r.closed, "OnClose").err)
	require.ErrorIs(t, oc.Close(), conn.ErrClosed)
	require.ErrorIs(t, oc.AsyncWrite([]byte("late"), nil), conn.ErrClosed)
	require.ErrorIs(t, oc.Wake(), conn.ErrClosed)
}

func TestShutdownWriteHalfCloses(t *testing.T) {
	big := bytes.Repeat([]byte("h"), 2<<20)
	r := newRecorder()
	writeErr := make(chan error, 1)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		if string(b) == "shut" {
			c.Write(big)
			require.NoError(t, c.ShutdownWrite())
			_, err := c.Write([]byte("after"))
			writeErr <- err
			return reactor.None
		}
		// Still readable after the half-close: answer by closing.
		return reactor.Close
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	_, err := c.Write([]byte("shut"))
	require.NoError(t, err)
	require.ErrorIs(t, within(t, writeErr, "write after ShutdownWrite"), conn.ErrWriteShut)
	got := readAllUntilEOF(t, c) // EOF once the server's output is flushed
	require.Equal(t, len(big), len(got))
	_, err = c.Write([]byte("bye"))
	require.NoError(t, err)
	require.NoError(t, within(t, r.closed, "OnClose").err)
}

func TestShutdownAction(t *testing.T) {
	r := newRecorder()
	r.onTraffic = func(c conn.Conn) reactor.Action {
		c.Discard(-1)
		c.Write([]byte("bye"))
		return reactor.Shutdown
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	other := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	_, err := c.Write([]byte("stop"))
	require.NoError(t, err)
	within(t, e.Done(), "Done after a Shutdown action")
	within(t, r.shutdown, "OnShutdown")
	require.Equal(t, "bye", string(readAllUntilEOF(t, c)))
	require.Empty(t, readAllUntilEOF(t, other))
	for i := 0; i < 2; i++ {
		require.NoError(t, within(t, r.closed, "OnClose").err)
	}
	r.requireLifecycles(t)
	require.Equal(t, 0, e.Conns())
	require.ErrorIs(t, e.Dial("tcp", "127.0.0.1:1"), reactor.ErrEngineStopped)
}

func TestStopWithLiveConns(t *testing.T) {
	r := newRecorder()
	e, err := reactor.Start(r, []string{"tcp://127.0.0.1:0"},
		reactor.WithBackend(New()), reactor.WithLoops(3), reactor.WithLogger(discardLogger()))
	require.NoError(t, err)
	var clients []net.Conn
	for i := 0; i < 20; i++ {
		c := dial(t, e, 0)
		require.Equal(t, "ping", string(roundTrip(t, c, []byte("ping"))))
		clients = append(clients, c)
	}
	require.Equal(t, 20, e.Conns())
	stop(t, e)
	select {
	case <-r.shutdown:
	default:
		t.Fatal("OnShutdown had not run when Stop returned")
	}
	select {
	case <-e.Done():
	default:
		t.Fatal("Done not closed when Stop returned")
	}
	require.Len(t, r.closed, 20, "every OnClose ran before Stop returned")
	for _, c := range clients {
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
	}
	r.requireLifecycles(t)
	require.Equal(t, 0, e.Conns())
	stop(t, e) // again: harmless, the first result
}

func TestStopForcesConnsStillFlushing(t *testing.T) {
	big := bytes.Repeat([]byte("f"), 32<<20)
	r := newRecorder()
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big) // the peer never reads: this cannot flush
		return reactor.None
	}
	e, err := reactor.Start(r, []string{"tcp://127.0.0.1:0"},
		reactor.WithBackend(New()), reactor.WithLoops(1), reactor.WithLogger(discardLogger()))
	require.NoError(t, err)
	dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = e.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	ev := within(t, r.closed, "OnClose")
	require.ErrorIs(t, ev.err, context.DeadlineExceeded)
	within(t, r.shutdown, "OnShutdown")
	require.ErrorIs(t, e.Stop(context.Background()), context.DeadlineExceeded, "Stop again returns the first result")
}

func TestBootShutdown(t *testing.T) {
	h := &bootHandler{action: reactor.Shutdown, shut: make(chan struct{})}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(New()), reactor.WithLogger(discardLogger()))
	require.NoError(t, err)
	within(t, e.Done(), "Done")
	within(t, h.shut, "OnShutdown")
	require.Len(t, h.addrs, 1)
	require.NoError(t, e.Stop(context.Background()))
	// The listener is gone.
	_, err = net.DialTimeout("tcp", h.addrs[0].String(), waitLimit)
	require.Error(t, err)
}

func TestBootPanicReachesStartCaller(t *testing.T) {
	h := &bootHandler{panicking: true, shut: make(chan struct{})}
	require.PanicsWithValue(t, "boot exploded", func() {
		reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(New()), reactor.WithLogger(discardLogger()))
	})
}

type bootHandler struct {
	reactor.BaseHandler
	action    reactor.Action
	panicking bool
	addrs     []net.Addr
	shut      chan struct{}
}

func (h *bootHandler) OnBoot(e reactor.Engine) reactor.Action {
	h.addrs = e.Addrs()
	if h.panicking {
		panic("boot exploded")
	}
	return h.action
}

func (h *bootHandler) OnShutdown(reactor.Engine) { close(h.shut) }

func TestStartFailsOnBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = reactor.Start(newRecorder(), []string{"tcp://" + ln.Addr().String()},
		reactor.WithBackend(New()), reactor.WithLogger(discardLogger()))
	require.Error(t, err)
	require.False(t, errors.Is(err, reactor.ErrUnsupported))
}
