package evloop_test

// Input that arrives together with the peer's FIN.

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// A request that ends exactly where the (incremental) provided buffer ends,
// followed at once by the peer's FIN (nc -N): the server must still answer
// it before closing, as native does.
func TestInputRightBeforeFINIsAnswered(t *testing.T) {
	const size = 4096
	forEachBackend(t, func(t *testing.T, b backend) {
		gate := make(chan struct{})
		inFirst := make(chan struct{})
		var first atomic.Bool
		r := newRecorder()
		r.onData = func(c conn.Conn) reactor.Action {
			data, _ := c.Next(-1)
			c.Write(data)
			if first.CompareAndSwap(false, true) {
				close(inFirst)
				select { // the loop is busy while the client sends the rest
				case <-gate:
				case <-time.After(10 * time.Second):
				}
			}
			return reactor.None
		}
		e := start(t, r, "tcp://127.0.0.1:0", b, reactor.WithReadBufferSize(size))
		c := dial(t, e).(*net.TCPConn)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		head := bytes.Repeat([]byte("h"), 100)
		rest := bytes.Repeat([]byte("r"), size-len(head)) // fills the buffer to its end
		_, err := c.Write(head)
		require.NoError(t, err)
		select {
		case <-inFirst:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnTraffic")
		}
		_, err = c.Write(rest)
		require.NoError(t, err)
		require.NoError(t, c.CloseWrite())
		close(gate)
		got, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, len(head)+len(rest), len(got), "echo of everything sent before the FIN")
		require.NoError(t, r.waitClose(t))
	})
}
