package reactor

// Dials to host names: resolving, admission, and the engine stopping meanwhile.

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
)

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
