package reactor_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// guardSIGUSR1 keeps SIGUSR1 from killing the test binary should one arrive
// when no engine watches it (its default action is to terminate).
func guardSIGUSR1(t *testing.T) {
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGUSR1)
	t.Cleanup(func() { signal.Stop(guard) })
}

func requireDone(t *testing.T, e reactor.Engine) {
	t.Helper()
	select {
	case <-e.Done():
	case <-time.After(tpBound):
		t.Fatal("the engine did not stop")
	}
}

func TestSignalStopsGracefully(t *testing.T) {
	guardSIGUSR1(t)
	steps := make(chan string, 4)
	defer reactor.SetSignalHook(func(s string) { steps <- s })()
	h := newTPHandler()
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2), reactor.WithSignals(syscall.SIGUSR1))
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), tpBound)
	require.NoError(t, err)
	defer c.Close()
	h.nextOpen(t)

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	c.SetDeadline(time.Now().Add(tpBound))
	rest, err := io.ReadAll(c)
	require.NoError(t, err, "the conn is closed cleanly")
	require.Empty(t, rest)
	c.Close()
	requireDone(t, e)
	require.Equal(t, "draining", <-steps)
	require.NoError(t, h.nextClose(t).err)
	require.NoError(t, tpStop(t, e))
}

// TestSecondSignalForcesStop: a conn whose peer never reads cannot drain;
// the first signal starts the graceful stop, which would wait for the
// (long) drain timeout; the second closes it at once.
func TestSecondSignalForcesStop(t *testing.T) {
	guardSIGUSR1(t)
	steps := make(chan string, 4)
	defer reactor.SetSignalHook(func(s string) { steps <- s })()
	h := newTPHandler()
	flood := bytes.Repeat([]byte("x"), 32<<20)
	h.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(flood) // far more than the socket buffers hold
		return reactor.None
	}
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1),
		reactor.WithSignals(syscall.SIGUSR1), reactor.WithDrainTimeout(time.Hour))
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), tpBound)
	require.NoError(t, err)
	defer c.Close() // never read until the end
	h.nextOpen(t)

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	require.Equal(t, "draining", waitStep(t, steps))
	select {
	case <-e.Done():
		t.Fatal("stopped although the conn could not drain")
	default:
	}
	require.Equal(t, 1, e.Conns())

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	require.Equal(t, "forced", waitStep(t, steps))
	requireDone(t, e)
	require.ErrorIs(t, h.nextClose(t).err, reactor.ErrForcedStop)
	err = tpStop(t, e)
	require.True(t, err == nil || errors.Is(err, reactor.ErrForcedStop), "Stop reports the forced stop: %v", err)
}

func waitStep(t *testing.T, steps chan string) string {
	t.Helper()
	select {
	case s := <-steps:
		return s
	case <-time.After(tpBound):
		t.Fatal("the signal watcher did not act")
		return ""
	}
}

// tickShutdown ends the engine on its first tick.
type tickShutdown struct{ reactor.BaseHandler }

func (tickShutdown) OnTick() (time.Duration, reactor.Action) { return 0, reactor.Shutdown }

// An engine that finishes at once must still take its signal watcher down
// (goleak in TestMain sees a leaked one) without a data race.
func TestSignalsWithAnEngineThatStopsAtOnce(t *testing.T) {
	for i := 0; i < 50; i++ {
		e, err := reactor.Start(tickShutdown{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1),
			reactor.WithTicker(true), reactor.WithSignals(syscall.SIGUSR2))
		require.NoError(t, err)
		select {
		case <-e.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("engine did not stop")
		}
	}
}
