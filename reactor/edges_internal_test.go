package reactor

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

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

type closeRecorder struct {
	BaseHandler
	errs []error
}

func (h *closeRecorder) OnClose(c conn.Conn, err error) { h.errs = append(h.errs, err) }

// An event in the same batch for a FIFO pair's write fd number, meant for the
// fd's previous owner, must not tear the new pair down.
func TestStaleEventForAFreshPairsWriteFd(t *testing.T) {
	h := &closeRecorder{}
	e := &engine{opts: NewOptions(WithLoops(1)), handler: h, done: make(chan struct{}), stopping: make(chan struct{})}
	l, err := newLoop(0, e)
	require.NoError(t, err)
	defer l.poller.Close()
	var in, out [2]int
	for _, p := range []*[2]int{&in, &out} { // unix.Pipe2 is not on darwin
		require.NoError(t, unix.Pipe(p[:]))
		for _, fd := range p {
			require.NoError(t, unix.SetNonblock(fd, true))
		}
	}
	defer unix.Close(in[1])
	defer unix.Close(out[0])

	l.fresh = l.fresh[:0] // a batch begins
	c := fdconn.NewFD(in[0], out[1], nil, nil, &l.shared)
	e.open.Add(1)
	require.NoError(t, l.register(c))
	l.dispatch(out[1], poller.Error) // stale: for the fd number's old owner
	require.False(t, c.IsClosed(), "torn down by a stale event: OnClose(%v)", h.errs)
	l.teardown(c, nil)
}

// dialCollector reports every dial's outcome.
type dialCollector struct {
	BaseHandler
	opened chan struct{}
	closed chan error
}

func (h dialCollector) OnOpen(c conn.Conn) Action {
	h.opened <- struct{}{}
	return None
}

func (h dialCollector) OnClose(c conn.Conn, err error) { h.closed <- err }

// A Dial to a host name still resolving when the engine stops is reported
// through OnClose with ErrEngineStopped, and Stop does not wait out the
// lookup.
func TestDialResolvingWhenTheEngineStops(t *testing.T) {
	started := make(chan struct{})
	old := lookupNetIP
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		close(started)
		<-ctx.Done() // a DNS server that never answers
		return nil, ctx.Err()
	}
	defer func() { lookupNetIP = old }()

	h := dialCollector{opened: make(chan struct{}, 1), closed: make(chan error, 1)}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(2))
	require.NoError(t, err)
	require.NoError(t, eng.Dial("tcp", "slow.example:80"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, eng.Stop(ctx))
	select {
	case err := <-h.closed:
		require.True(t, errors.Is(err, ErrEngineStopped), "OnClose: %v", err)
	default:
		t.Fatal("Stop returned with the dial's outcome never reported")
	}
}

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

type dialInShutdown struct {
	BaseHandler
	dialErr chan error
	closed  chan error
}

func (h *dialInShutdown) OnShutdown(e Engine) { h.dialErr <- e.Dial("tcp", "host.example:80") }

func (h *dialInShutdown) OnClose(c conn.Conn, err error) { h.closed <- err }

// A Dial to a host name made after the loops have exited (OnShutdown runs
// then) fails at once, as one to a literal address does; it is never
// dropped with neither callback run.
func TestHostDialAfterTheLoopsExited(t *testing.T) {
	old := lookupNetIP
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	defer func() { lookupNetIP = old }()
	h := &dialInShutdown{dialErr: make(chan error, 1), closed: make(chan error, 1)}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1))
	require.NoError(t, err)
	require.NoError(t, eng.Stop(context.Background()))
	if err := <-h.dialErr; err != nil {
		require.ErrorIs(t, err, ErrEngineStopped)
		return
	}
	select {
	case err := <-h.closed:
		require.ErrorIs(t, err, ErrEngineStopped)
	case <-time.After(10 * time.Second):
		t.Fatal("Dial returned nil, but neither OnOpen nor OnClose ever ran")
	}
}

// A Dial to a host name counts against WithMaxConns while it resolves.
func TestHostDialCountsWhileResolving(t *testing.T) {
	release := make(chan struct{})
	old := lookupNetIP
	lookupNetIP = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, errors.New("no such host")
	}
	defer func() { lookupNetIP = old }()
	h := dialCollector{opened: make(chan struct{}, 2), closed: make(chan error, 2)}
	eng, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(1), WithMaxConns(1))
	require.NoError(t, err)
	defer eng.Stop(context.Background())
	require.NoError(t, eng.Dial("tcp", "slow.example:80"))
	require.ErrorIs(t, eng.Dial("tcp", "other.example:80"), ErrTooManyConns)
	close(release)
	select {
	case err := <-h.closed:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first dial's failure was never reported")
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
	l := eng.(*engine).loops[0]
	got := make(chan int, 1)
	require.NoError(t, l.Post(func() { got <- len(l.timers) }))
	return <-got
}
