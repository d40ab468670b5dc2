//go:build linux

package gnetbackend

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

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
	before := openFDs(t)
	var hung atomic.Int64
	for round := 0; round < 15; round++ {
		e, err := reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0"},
			reactor.WithBackend(New()), reactor.WithLoops(2), reactor.WithLogger(discardLogger()))
		require.NoError(t, err)
		addr := e.Addrs()[0].String()
		quit := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-quit:
						return
					default:
					}
					c, err := net.DialTimeout("tcp", addr, time.Second)
					if err != nil {
						continue // refused once the listener is gone
					}
					// Every conn must end: served and closed by the stop,
					// or reset with the listener. A read that times out is
					// a conn nobody owns.
					c.SetReadDeadline(time.Now().Add(2 * time.Second))
					_, err = c.Read(make([]byte, 1))
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						hung.Add(1)
					}
					c.Close()
				}
			}()
		}
		time.Sleep(20 * time.Millisecond) // let conns arrive before Stop: the race needs them in flight
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		require.NoError(t, e.Stop(ctx))
		cancel()
		close(quit)
		wg.Wait()
	}
	require.LessOrEqual(t, openFDs(t), before, "fds leaked")
	t.Logf("%d clients left established with no server socket", hung.Load())
	require.Less(t, hung.Load(), int64(8), "clients left hanging")
}
