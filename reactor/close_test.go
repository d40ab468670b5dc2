package reactor_test

// Closing a conn: output first, then lingering for the peer's EOF.

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

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
