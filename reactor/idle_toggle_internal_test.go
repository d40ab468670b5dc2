package reactor

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
)

// toggleIdle turns the idle timeout off while it handles a message and back
// on when done, as a handler that suspends it during a slow operation would.
type toggleIdle struct{ BaseHandler }

func (toggleIdle) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.SetIdleTimeout(0)
	c.Write(b)
	c.SetIdleTimeout(time.Hour)
	return None
}

// Turning the idle timeout off and on per message keeps the conn's timer
// entries bounded.
func TestIdleToggleKeepsTimersBounded(t *testing.T) {
	eng, err := Start(toggleIdle{}, []string{"tcp://127.0.0.1:0"}, WithLoops(1))
	require.NoError(t, err)
	defer eng.Stop(context.Background())
	c, err := net.Dial("tcp", eng.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 1)
	for i := 0; i < 1000; i++ {
		_, err := c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
	}
	l := eng.(*engine).loops[0]
	got := make(chan int, 1)
	require.NoError(t, l.Post(func() { got <- len(l.timers) }))
	require.LessOrEqual(t, <-got, 65, "timer entries for one conn (64 at most, and the loop's own)")
}

// toggleShort turns a short idle timeout off and on per message.
type toggleShort struct {
	BaseHandler
	closed chan error
}

func (h toggleShort) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.SetIdleTimeout(0)
	c.Write(b)
	c.SetIdleTimeout(time.Second) // room for a slow round trip under load
	return None
}

func (h toggleShort) OnClose(c conn.Conn, err error) { h.closed <- err }

// Past the entry cap, the timeout turned back on still fires.
func TestIdleToggledPastTheCapStillFires(t *testing.T) {
	h := toggleShort{closed: make(chan error, 1)}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1))
	require.NoError(t, err)
	defer eng.Stop(context.Background())
	c, err := net.Dial("tcp", eng.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 1)
	for i := 0; i < 100; i++ {
		_, err := c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
	}
	select {
	case err := <-h.closed:
		require.ErrorIs(t, err, ErrIdleTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timeout never fired")
	}
}
