//go:build linux

package reactor_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// TestBusyPollKeepsTheLoopAwakeForItsWindow: after an event, a loop with
// WithBusyPoll polls without blocking (each poll is a wakeup in Stats) for
// its window, then sleeps in the kernel again (no wakeups while nothing
// happens).
func TestBusyPollKeepsTheLoopAwakeForItsWindow(t *testing.T) {
	for _, b := range []tpConfig{
		{"native", nil},
		{"uring", []reactor.Option{reactor.WithBackend(uringbackend.New())}},
	} {
		t.Run(b.name, func(t *testing.T) { testBusyPoll(t, b.opts) })
	}
}

func testBusyPoll(t *testing.T, opts []reactor.Option) {
	const window = 300 * time.Millisecond
	opts = append(append([]reactor.Option{}, opts...), reactor.WithLoops(1), reactor.WithBusyPoll(window))
	e, dial := startLimits(t, newLimitsHandler(), opts...)
	c := dial()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, make([]byte, 4))
	require.NoError(t, err)
	w0 := e.Stats().Wakeups

	// Without the option the loop would sleep now: an echo takes a few
	// wakeups in all.
	require.Eventually(t, func() bool { return e.Stats().Wakeups-w0 >= 200 },
		5*time.Second, time.Millisecond, "the loop polls on after the echo")

	asleep := func() bool {
		w := e.Stats().Wakeups
		time.Sleep(50 * time.Millisecond)
		return e.Stats().Wakeups == w
	}
	require.Eventually(t, asleep, 10*time.Second, time.Millisecond, "the loop sleeps once the window has passed")
}
