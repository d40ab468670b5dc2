//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

func TestPanicInOnOpen(t *testing.T) {
	r := newRecorder()
	r.onOpen = func(conn.Conn) reactor.Action { panic("open exploded") }
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	ev := within(t, r.closed, "OnClose")
	require.ErrorIs(t, ev.err, reactor.ErrPanic)
	require.Empty(t, readAllUntilEOF(t, c))
	r.requireLifecycles(t)
}
