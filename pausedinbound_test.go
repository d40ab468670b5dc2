package evloop_test

// MaxInbound on a conn paused by backpressure.

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// A conn paused by backpressure whose handler consumes every byte it is
// given must not be closed for unconsumed input (MaxInbound): the input
// the backend took while pausing was never offered to the handler.
func TestPausedConnIsNotClosedForInputItWasNotGiven(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRecorder() // echoes all it gets
		e := start(t, r, "tcp://127.0.0.1:0", b,
			reactor.WithWriteWatermarks(16<<10, 64<<10), reactor.WithMaxInbound(8<<10),
			reactor.WithSocketBuffers(64<<10, 64<<10), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		// Send, never read, until flow control stops the client.
		for i := 0; ; i++ {
			require.Less(t, i, 10000, "the client never blocked")
			c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			_, err := c.Write(chunk)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				select {
				case cause := <-r.closedCh:
					t.Fatalf("write: %v: the server closed the conn: %v", err, cause)
				case <-time.After(5 * time.Second):
					t.Fatalf("write: %v", err)
				}
			}
		}
		select {
		case err := <-r.closedCh:
			t.Fatalf("conn closed while paused: %v", err)
		default:
		}
	})
}
