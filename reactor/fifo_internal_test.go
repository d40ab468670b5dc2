package reactor

// The FIFO pair's rules on the loop.

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

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
