//go:build linux

package gnetbackend

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/reactor"
)

// Conns that arrive while the engine stops are turned away or served, and
// none is left open: gnet.Engine.Stop alone ends the sub-loops before the
// main reactor, and a conn the main reactor accepts in between is queued to
// a loop that is gone, its fd never closed and its peer left hanging. With
// gnet.Engine.Stop alone this test leaks fds in every run (and leaves 20-36
// clients hanging); with the listeners shut down first, none.
//
// A client may still, rarely (about once in 150 stops under the race
// detector), be left established with no socket at all on the server side:
// its handshake raced the listener's shutdown inside the kernel (the native
// backend, which closes its listeners, sees the same). The server holds
// nothing for it, so these are counted, and only many of them fail.
func TestStopWhileConnsArriveLeavesNoConnBehind(t *testing.T) {
	before := fdtest.Open(t)
	var hung int64
	for round := 0; round < 15; round++ {
		e, err := reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0"},
			reactor.WithBackend(New()), reactor.WithLoops(2), reactor.WithLogger(discardLogger()))
		require.NoError(t, err)
		hung += fdtest.DialWhileStopping(e.Addrs()[0].String(), 2*time.Second, func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			require.NoError(t, e.Stop(ctx))
		})
	}
	require.LessOrEqual(t, fdtest.Open(t), before, "fds leaked")
	t.Logf("%d clients left established with no server socket", hung)
	require.Less(t, hung, int64(8), "clients left hanging")
}
