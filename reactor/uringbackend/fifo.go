//go:build linux

package uringbackend

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

// FIFO pairs (fifo:///path): the well-known FIFO's requests are read when
// a multishot poll says it is readable, each handshake is stepped on the
// loop's timers as on native, and a completed pair becomes a conn with two
// fds: its input comes from a multishot read of the read end into the
// provided buffers, its output goes out by writes to the write end, and a
// half-close closes the write end. A pair whose peer closed only its read
// end is seen as broken at the next write (EPIPE), where native also sees
// it while idle.

// Handshake retries and the bound on handshakes in progress, as on native
// (reactor/fifo.go).
const (
	fifoRetryMin      = time.Millisecond
	fifoRetryMax      = 100 * time.Millisecond
	maxFIFOHandshakes = 256
)

// fifoListener serves one well-known FIFO on its loop.
type fifoListener struct {
	idx     uint32 // in loop.fifos
	srv     *fifo.Listener
	route   *route
	local   *addrBox
	pending map[*fifo.Handshake]struct{}
	armed   bool // the multishot poll is in the ring
	closed  bool
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
	fl := &fifoListener{idx: uint32(len(l.fifos)), srv: srv, route: r, local: &addrBox{srv.Addr()},
		pending: map[*fifo.Handshake]struct{}{}}
	l.fifos = append(l.fifos, fl)
	e.addrs = append(e.addrs, srv.Addr())
	return nil
}

// syncFIFOs arms the polls of the loop's FIFO listeners.
func (l *loop) syncFIFOs() {
	for _, fl := range l.fifos {
		if !fl.armed && !fl.closed {
			s := l.getSQE()
			s.Opcode, s.Fd = ring.OpPollAdd, int32(fl.srv.Fd())
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
	if fl.closed || cqe.Res < 0 {
		return
	}
	err := fl.srv.ReadRequests(func(req fifo.Request, err error) { l.fifoRequest(fl, req, err) })
	if err != nil {
		l.log.Error("fifo: reading requests failed", "addr", fl.srv.Addr(), "err", err)
	}
}

// fifoRequest starts the handshake of one request; a bad one is logged
// and skipped.
func (l *loop) fifoRequest(fl *fifoListener, req fifo.Request, err error) {
	if err != nil {
		l.log.Warn("fifo: request skipped", "addr", fl.srv.Addr(), "err", err)
		return
	}
	if len(fl.pending) >= maxFIFOHandshakes {
		l.log.Warn("fifo: request skipped: too many handshakes in progress", "addr", fl.srv.Addr(), "pid", req.PID, "max", maxFIFOHandshakes)
		return
	}
	h, err := fl.srv.Begin(req)
	if err != nil {
		l.log.Warn("fifo: request skipped", "addr", fl.srv.Addr(), "pid", req.PID, "err", err)
		return
	}
	fl.pending[h] = struct{}{}
	l.fifoStep(fl, h, fifoRetryMin)
}

// fifoStep advances a handshake, and on a timer again while the client has
// not opened its end.
func (l *loop) fifoStep(fl *fifoListener, h *fifo.Handshake, pause time.Duration) {
	if fl.closed {
		return
	}
	done, err := h.Step()
	switch {
	case err != nil:
		delete(fl.pending, h)
		h.Close()
		l.log.Warn("fifo: handshake abandoned", "addr", fl.srv.Addr(), "pid", h.Request().PID, "err", err)
	case done:
		delete(fl.pending, h)
		l.fifoAccept(fl, h)
	default:
		l.after(pause, func() { l.fifoStep(fl, h, min(2*pause, fifoRetryMax)) })
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
	for h := range fl.pending {
		h.Close()
	}
	fl.pending = nil
	if err := fl.srv.Close(); err != nil {
		l.log.Warn("fifo: close", "addr", fl.srv.Addr(), "err", err)
	}
}
