//go:build linux

package uringbackend

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

// FIFO pairs (fifo:///path): the well-known FIFO's requests are read when
// a multishot poll says it is readable, the handshakes run on the loop as
// on native (fifo.Handshakes), and a completed pair becomes a conn with two
// fds. Its input comes from reads of the read end into the provided
// buffers (multishot reads with WithMultishotReceive), its output goes out
// by writes to the write end, and a half-close closes the write end. A pair
// whose peer closed only its read end is seen as broken at the next write
// (EPIPE), where native also sees it while idle.

// fifoListener serves one well-known FIFO on its loop; the handshakes run
// on the loop (fifo.Handshakes), as on native.
type fifoListener struct {
	idx    uint32 // in loop.fifos
	hs     fifo.Handshakes
	route  *route
	local  *addrBox
	armed  bool // the multishot poll is in the ring
	closed bool
}

// listenFIFO binds fifo:///path[?mode=0660&timeout=2s] on the first loop.
func (e *engine) listenFIFO(a reactor.Addr, r *route) error {
	target := a.Target
	if len(a.Query) > 0 {
		target += "?" + a.Query.Encode()
	}
	path, cfg, err := fifo.ParseTarget(target)
	if err != nil {
		return fmt.Errorf("%w: %v", reactor.ErrBadAddress, err)
	}
	srv, err := fifo.Listen(path, cfg)
	if err != nil {
		return fmt.Errorf("reactor: %s: %w", a, err)
	}
	l := e.loops[0]
	fl := &fifoListener{idx: uint32(len(l.fifos)), route: r, local: &addrBox{srv.Addr()}}
	fl.hs = fifo.Handshakes{L: srv, After: l.after, Done: func(h *fifo.Handshake) { l.fifoAccept(fl, h) }, Log: l.log}
	l.fifos = append(l.fifos, fl)
	e.addrs = append(e.addrs, srv.Addr())
	return nil
}

// syncFIFOs arms the polls of the loop's FIFO listeners.
func (l *loop) syncFIFOs() {
	for _, fl := range l.fifos {
		if !fl.armed && !fl.closed {
			s := l.getSQE()
			s.Opcode, s.Fd = ring.OpPollAdd, int32(fl.hs.L.Fd())
			s.OpFlags, s.Len, s.UserData = unix.POLLIN, ring.PollAddMulti, userData(kindFIFO, fl.idx)
			fl.armed = true
		}
	}
}

// fifoReady reads the requests that arrived on a well-known FIFO.
func (l *loop) fifoReady(idx uint32, cqe ring.CQE) {
	fl := l.fifos[idx]
	if cqe.Flags&ring.CQEFMore == 0 {
		l.inflight--
		fl.armed = false
	}
	if cqe.Res >= 0 {
		fl.hs.Readable()
	}
}

// fifoAccept turns a completed handshake into a conn, as an accept does:
// WithMaxConns applies, then the balancer picks the loop.
func (l *loop) fifoAccept(fl *fifoListener, h *fifo.Handshake) {
	rfd, wfd := h.Fds()
	if l.exited || !l.e.admit() {
		if !l.exited {
			l.stats.rejected.Add(1)
			l.log.Warn("conn refused", "err", reactor.ErrTooManyConns)
		}
		unix.Close(rfd)
		unix.Close(wfd)
		return
	}
	c := &uconn{fd: rfd, wfd: int32(wfd), pair: true, route: fl.route, local: fl.local}
	c.setRemote(h.RemoteAddr())
	l.handOut(c)
}

// closeFIFO stops serving a well-known FIFO: handshakes in progress are
// abandoned, the FIFO and its lock file removed.
func (l *loop) closeFIFO(fl *fifoListener) {
	if fl.closed {
		return
	}
	fl.closed = true
	if fl.armed && l.r != nil {
		l.cancel(userData(kindFIFO, fl.idx))
	}
	if err := fl.hs.Close(); err != nil {
		l.log.Warn("fifo: close", "addr", fl.hs.L.Addr(), "err", err)
	}
}
