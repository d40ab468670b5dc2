package reactor

import (
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
	eng := roundTrips(t, toggleIdle{}, 1000)
	require.LessOrEqual(t, timerEntries(t, eng), 65, "timer entries for one conn (64 at most, and the loop's own)")
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
	roundTrips(t, h, 100)
	select {
	case err := <-h.closed:
		require.ErrorIs(t, err, ErrIdleTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timeout never fired")
	}
}
