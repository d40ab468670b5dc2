//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

func TestWakeCallsOnTraffic(t *testing.T) {
	r := newRecorder()
	woken := make(chan int, 1)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		woken <- c.InboundBuffered()
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	dial(t, e, 0)
	oc := within(t, r.opened, "OnOpen")
	require.NoError(t, oc.Wake())
	require.Equal(t, 0, within(t, woken, "OnTraffic after Wake"))
}

func TestContextIsTheHandlers(t *testing.T) {
	r := newRecorder()
	type state struct{ n int }
	got := make(chan int, 4)
	r.onOpen = func(c conn.Conn) reactor.Action {
		require.Nil(t, c.Context())
		c.SetContext(&state{})
		return reactor.None
	}
	r.onTraffic = func(c conn.Conn) reactor.Action {
		s := c.Context().(*state)
		s.n += c.InboundBuffered()
		c.Discard(-1)
		got <- s.n
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	_, err := c.Write([]byte("abc"))
	require.NoError(t, err)
	require.Equal(t, 3, within(t, got, "traffic"))
	_, err = c.Write([]byte("de"))
	require.NoError(t, err)
	require.Equal(t, 5, within(t, got, "traffic"))
}
