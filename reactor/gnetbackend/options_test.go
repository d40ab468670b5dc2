//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

func TestUnsupportedOptionsFailStart(t *testing.T) {
	for name, opt := range map[string]reactor.Option{
		"poll poller": reactor.WithPoller(poller.Poll),
		"loops":       reactor.WithLoops(maxLoops + 1),
	} {
		_, err := reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(New()), opt)
		require.ErrorIs(t, err, reactor.ErrUnsupported, name)
	}
	// The poller gnet really uses is no conflict.
	e := start(t, newRecorder(), []string{"tcp://127.0.0.1:0"}, reactor.WithPoller(gnetPoller))
	require.Len(t, e.Addrs(), 1)
}

func TestMaxConns(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithMaxConns(2))
	for i := 0; i < 2; i++ {
		c := dial(t, e, 0)
		roundTrip(t, c, []byte("in"))
	}
	over := dial(t, e, 0)
	require.Empty(t, readAllUntilEOF(t, over), "closed at once")
	require.Equal(t, 2, e.Conns())
	require.EqualValues(t, 1, e.Stats().Rejected)
	require.Len(t, r.opened, 2, "the handler never saw the rejected conn")
}

func TestIdleTimeoutOption(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithIdleTimeout(100*time.Millisecond))
	busy := dial(t, e, 0)
	idle := dial(t, e, 0)
	opened := map[string]conn.Conn{}
	for i := 0; i < 2; i++ {
		oc := within(t, r.opened, "OnOpen")
		opened[oc.RemoteAddr().String()] = oc
	}
	// Keep one conn busy past the timeout; the other goes quiet.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		roundTrip(t, busy, []byte("k"))
		select {
		case ev := <-r.closed:
			require.Equal(t, opened[idle.LocalAddr().String()], ev.c, "only the idle conn closes")
			require.ErrorIs(t, ev.err, reactor.ErrIdleTimeout)
			require.Empty(t, readAllUntilEOF(t, idle))
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	ev := within(t, r.closed, "idle OnClose")
	require.Equal(t, opened[idle.LocalAddr().String()], ev.c)
	require.ErrorIs(t, ev.err, reactor.ErrIdleTimeout)
}
