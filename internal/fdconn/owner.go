//go:build unix

package fdconn

import (
	"net"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
)

// Owner is the event loop side of a native conn: what an FD asks of the loop
// that owns it. The reactor implements it; FD calls it on the loop goroutine
// except for Post.
type Owner interface {
	// SetInterest makes the loop watch fd for reading and/or writing.
	SetInterest(fd int, read, write bool) error
	// ForgetFd makes the loop forget a fd the conn is about to close on its
	// own (a FIFO pair's write end after ShutdownWrite): the poller must not
	// watch a closed fd, and the fd's next owner must not be routed to this
	// conn.
	ForgetFd(fd int)
	// Post runs task on the loop goroutine; safe from any goroutine. It
	// returns conn.ErrClosed once the loop has stopped.
	Post(task func()) error
	// CloseConn closes c: with err == nil once its output is flushed, with an
	// error at once. OnClose receives err.
	CloseConn(c *FD, err error)
	// TrafficConn calls the handler's OnTraffic for c (after Wake).
	TrafficConn(c *FD)
	// ArmIdle puts an idle-timer entry for c in the loop's timer heap, due
	// at when (the loop clock); when it comes due the loop calls
	// c.IdleDue(gen, now). The conn decides everything else (see idle.go).
	ArmIdle(c *FD, when int64, gen uint8)
	// AsyncDone calls an AsyncWrite's or AsyncWritev's done callback for c
	// on the loop, guarded as the handler's callbacks are: a panic in it
	// closes c, not the process.
	AsyncDone(c *FD, done conn.AsyncCallback, err error)
}

// Shared is what a loop lends to all of its conns: the loop itself (Owner),
// the engine's buffer limits, one read buffer (an idle conn holds no inbound
// memory), writev scratch, the loop's clock and its counters. Keeping these
// here rather than in every FD saves each conn three words. Only the loop
// goroutine writes it; counters are atomic so Stats can be read from anywhere.
type Shared struct {
	Owner       Owner
	Limits      *Limits // nil: no limits
	ReadBuf     []byte
	Now         int64 // the loop clock (monotonic ns), refreshed once per wakeup
	iovs        []unix.Iovec
	BytesIn     atomic.Int64
	BytesOut    atomic.Int64
	WriteEAGAIN atomic.Int64
	Outbound    atomic.Int64 // bytes buffered by all of the loop's conns
	// OutboundOverflows counts conns failed for passing Limits.MaxOutbound.
	OutboundOverflows atomic.Int64
}

// Limits are a conn's buffer limits.
type Limits struct {
	WriteLow, WriteHigh int // backpressure watermarks on outbound bytes
	MaxInbound          int // unconsumed inbound bytes before the conn is closed; 0: no cap
	MaxOutbound         int // buffered outbound bytes a write may leave; past it the conn fails; 0: no cap
}

var noLimits Limits

// Origin is what the conns of one listener (or one dial) share: their local
// address and the engine's handler for them. Conns point to it rather than
// holding either, which keeps FD in its size class.
type Origin struct {
	// Local is every conn's local address; for a listener bound to a
	// wildcard IP, where each conn has its own, the conn gets an Origin of
	// its own.
	Local net.Addr
	// Handler is the engine's, opaque to the conn: the loop stores its
	// handler for these conns here.
	Handler any
}

var noOrigin Origin

func orNoOrigin(o *Origin) *Origin {
	if o == nil {
		return &noOrigin
	}
	return o
}
