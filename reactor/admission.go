package reactor

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/fdconn"
)

// Admission under WithMaxConns. Every conn, accepted, dialed or a FIFO
// pair, holds one place from the moment it is admitted until it is
// released: after its OnClose, or when it fails before it opened (then no
// OnOpen ran). A dial holds its place from Dial on, while it resolves and
// connects. tryAdmit takes a place with a compare-and-swap against the cap,
// so concurrent Dials and accepts on several loops (WithReusePort) cannot
// overshoot it, and a handler never sees more than the cap open at once.

// tryAdmit takes a place for a new conn, or reports false at the cap.
func (e *engine) tryAdmit() bool {
	limit := int64(e.opts.MaxConns)
	for {
		n := e.open.Load()
		if limit > 0 && n >= limit {
			return false
		}
		if e.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives back an admitted conn's place.
func (e *engine) release() { e.open.Add(-1) }

// unadmit releases a conn that never opened: its fds close, and so does its
// place.
func (e *engine) unadmit(c *fdconn.FD) {
	c.Release()
	e.release()
}

// rejected closes what accept (or a FIFO handshake) produced over the cap,
// before the handler can see it.
func (l *loop) rejected(addr net.Addr, fds ...int) {
	l.stats.rejected.Add(1) // counted before the peer can see the close
	for _, fd := range fds {
		unix.Close(fd)
	}
	l.log.Debug("conn rejected", "addr", addr, "err", ErrTooManyConns)
}
