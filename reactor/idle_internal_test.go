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

// idleEcho re-arms its idle timeout on every message, as a handler that
// gives a talking conn another hour would.
type idleEcho struct{ BaseHandler }

func (idleEcho) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.Write(b)
	c.SetIdleTimeout(time.Hour)
	return None
}

// Re-arming the same idle timeout adds no timer entries: one conn keeps one.
func TestSetIdleTimeoutPerMessageKeepsOneTimer(t *testing.T) {
	eng := roundTrips(t, idleEcho{}, 200)
	require.Equal(t, 1, timerEntries(t, eng), "timer entries for one conn")
}

// A shorter idle timeout still fires on time with a longer one armed.
func TestShorterIdleTimeoutFiresOnTime(t *testing.T) {
	closed := make(chan error, 1)
	h := &shrinkIdle{closed: closed}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1), WithIdleTimeout(time.Hour))
	require.NoError(t, err)
	defer eng.Stop(context.Background())
	c, err := net.Dial("tcp", eng.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("shrink"))
	require.NoError(t, err)
	// Activity after the shrink: the shortened entry comes due with the
	// conn not yet idle for long enough, and must re-arm itself although
	// the old hour-long entry is still in the heap.
	time.Sleep(50 * time.Millisecond)
	_, err = c.Write([]byte("again"))
	require.NoError(t, err)
	select {
	case err := <-closed:
		require.ErrorIs(t, err, ErrIdleTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the shortened idle timeout never fired")
	}
}

type shrinkIdle struct {
	BaseHandler
	closed chan error
}

func (h *shrinkIdle) OnTraffic(c conn.Conn) Action {
	in, _ := c.Next(-1)
	if string(in) == "off" {
		c.SetIdleTimeout(0)
		return None
	}
	c.SetIdleTimeout(100 * time.Millisecond)
	return None
}

func (h *shrinkIdle) OnClose(c conn.Conn, err error) { h.closed <- err }

// Turning the idle timeout off and on again arms it again, although the
// entry of the first one is still in the heap.
func TestIdleTimeoutOffThenOn(t *testing.T) {
	closed := make(chan error, 1)
	eng, err := Start(&shrinkIdle{closed: closed}, []string{"tcp://127.0.0.1:0"}, WithLoops(1), WithIdleTimeout(time.Hour))
	require.NoError(t, err)
	defer eng.Stop(context.Background())
	c, err := net.Dial("tcp", eng.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("off"))
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond) // two messages, not one read
	_, err = c.Write([]byte("on"))
	require.NoError(t, err)
	select {
	case err := <-closed:
		require.ErrorIs(t, err, ErrIdleTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timeout turned back on never fired")
	}
}

// roundTrips starts a one-loop engine serving h, and makes n one-byte round
// trips through one conn, which stays open until the test ends.
func roundTrips(t *testing.T, h Handler, n int) Engine {
	t.Helper()
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1))
	require.NoError(t, err)
	t.Cleanup(func() { eng.Stop(context.Background()) })
	c, err := net.Dial("tcp", eng.Addrs()[0].String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() }) // runs first: before the Stop
	buf := make([]byte, 1)
	for i := 0; i < n; i++ {
		_, err := c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
	}
	return eng
}

// timerEntries is the size of the (only) loop's timer heap.
func timerEntries(t *testing.T, eng Engine) int {
	t.Helper()
	l := nativeOf(eng).loops[0]
	got := make(chan int, 1)
	require.NoError(t, l.Post(func() { got <- len(l.timers) }))
	return <-got
}

// toggleOrShort is toggleIdle, but a message "s" leaves a short timeout
// on; it reports closes.
type toggleOrShort struct {
	BaseHandler
	closed chan error
}

func (h toggleOrShort) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.SetIdleTimeout(0)
	c.Write(b)
	if string(b) == "s" {
		c.SetIdleTimeout(100 * time.Millisecond)
	} else {
		c.SetIdleTimeout(time.Hour)
	}
	return None
}

func (h toggleOrShort) OnClose(c conn.Conn, err error) { h.closed <- err }

// Entries that would do nothing when due (timeouts turned off, or
// replaced by a later entry) are swept out of the loop's heap as it
// grows, so that it holds about the live ones; a timeout armed after a
// sweep still fires.
func TestStaleIdleEntriesAreSwept(t *testing.T) {
	h := toggleOrShort{closed: make(chan error, 64)}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1))
	require.NoError(t, err)
	t.Cleanup(func() { eng.Stop(context.Background()) })
	const conns, trips = 24, 100 // 64 entries a conn at most: 1,536 unswept
	var cs []net.Conn
	for range conns {
		c, err := net.Dial("tcp", eng.Addrs()[0].String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	buf := make([]byte, 1)
	for i := 0; i < trips; i++ {
		for _, c := range cs {
			_, err := c.Write([]byte("x"))
			require.NoError(t, err)
			_, err = io.ReadFull(c, buf)
			require.NoError(t, err)
		}
	}
	require.LessOrEqual(t, timerEntries(t, eng), 1025, "a sweep at 1,024 entries dropped the stale ones")
	last := cs[conns-1]
	_, err = last.Write([]byte("s"))
	require.NoError(t, err)
	select {
	case err := <-h.closed:
		require.ErrorIs(t, err, ErrIdleTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timeout never fired")
	}
}
