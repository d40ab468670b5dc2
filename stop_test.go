//go:build linux

package evloop_test

// Stopping an engine while conns arrive, on every backend.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/reactor"
)

// Conns that arrive while the engine stops are served and closed, or reset
// with the listener: the server holds nothing afterwards.
//
// On gnet, gnet.Engine.Stop alone ends the sub-loops before the main
// reactor, and a conn the main reactor accepts in between is queued to a
// loop that is gone, its fd never closed and its peer left hanging. With
// gnet.Engine.Stop alone this test leaks fds in every run (and leaves 20-36
// clients hanging); with the listeners shut down first, none.
//
// A client may rarely (about once in 150-300 stops, on either backend) be
// left established with no socket at all on the server side: its handshake
// raced the close of the listening socket inside the kernel, which then
// neither accepted nor reset it. The server holds nothing for such a client,
// so these are counted, and only many of them fail the test.
func TestStopWhileConnsArriveLeavesNoConnBehind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		before := fdtest.Open(t)
		var hung int64
		for round := 0; round < 15; round++ {
			e, err := reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0"}, append(b.opts, reactor.WithLogger(discardLogger()))...)
			require.NoError(t, err)
			hung += fdtest.DialWhileStopping(e.Addrs()[0].String(), 5*time.Second, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, e.Stop(ctx))
			})
		}
		require.LessOrEqual(t, fdtest.Open(t), before, "fds leaked")
		t.Logf("%d clients left established with no server socket", hung)
		require.Less(t, hung, int64(8), "clients left hanging")
	})
}
