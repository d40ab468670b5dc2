//go:build linux

package reactor_test

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

// Conns that arrive while the engine stops are served and closed, or reset
// with the listener: the server holds nothing afterwards.
//
// A client may rarely (about once in 300 stops here) be left established
// with no socket at all on the server side: its handshake raced the close of
// the listening socket inside the kernel, which then neither accepted nor
// reset it. The server holds nothing for such a client, so these are
// counted, and only many of them fail the test.
func TestStopWhileConnsArriveLeavesNoConnBehind(t *testing.T) {
	countFDs := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(ents)
	}
	before := countFDs()
	var hung atomic.Int64
	for round := 0; round < 15; round++ {
		h := newLimitsHandler()
		e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
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
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, err = c.Read(make([]byte, 1))
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						hung.Add(1)
					}
					c.Close()
				}
			}()
		}
		time.Sleep(20 * time.Millisecond) // conns in flight when Stop begins: that is the case under test
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, e.Stop(ctx))
		cancel()
		close(quit)
		wg.Wait()
	}
	require.LessOrEqual(t, countFDs(), before, "fds leaked")
	t.Logf("%d clients left established with no server socket", hung.Load())
	require.Less(t, hung.Load(), int64(8), "clients left hanging")
}
