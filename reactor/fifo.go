package reactor

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

// Handshake retries: a client that has not opened its end yet is tried
// again after a pause that doubles up to the maximum, until the handshake
// timeout. In the normal order of the protocol the first try succeeds.
const (
	fifoRetryMin = time.Millisecond
	fifoRetryMax = 100 * time.Millisecond
)

// maxFIFOHandshakes bounds the handshakes one FIFO listener has in progress.
// Each holds an fd (the client's c2s read end) for up to the handshake
// timeout, so anyone who can write the well-known FIFO could otherwise use
// up the process's fds with requests it never completes. An honest client
// completes its handshake in about a millisecond; while the bound is
// reached, new requests are skipped (and logged), as a full listen backlog
// turns connects away.
var maxFIFOHandshakes = 256

// fifoListener serves a well-known FIFO (fifo:///path) on one loop: it reads
// request lines, completes each handshake without blocking, and hands the
// pairs to the balancer as conns with separate read and write fds.
type fifoListener struct {
	l       *loop
	origin  *fdconn.Origin // the pairs': the FIFO's address and the handler
	srv     *fifo.Listener
	pending map[*fifo.Handshake]struct{}
	closed  bool
}

// listenFIFO binds fifo:///path[?mode=0660&timeout=2s].
func (e *engine) listenFIFO(a Addr, r *route) error {
	target := a.Target
	if len(a.Query) > 0 {
		target += "?" + a.Query.Encode()
	}
	path, cfg, err := fifo.ParseTarget(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	srv, err := fifo.Listen(path, cfg)
	if err != nil {
		return fmt.Errorf("reactor: %s: %w", a, err)
	}
	l := e.nextOwner()
	fl := &fifoListener{l: l, srv: srv, pending: map[*fifo.Handshake]struct{}{}, origin: &fdconn.Origin{Local: srv.Addr(), Handler: r}}
	if err := l.watch(srv.Fd(), fl, poller.Readable); err != nil {
		srv.Close()
		return err
	}
	e.addrs = append(e.addrs, srv.Addr())
	return nil
}

// ready implements watcher: requests have arrived.
func (fl *fifoListener) ready(int, poller.Event) {
	if err := fl.srv.ReadRequests(fl.request); err != nil {
		fl.l.log.Error("fifo: reading requests failed", "addr", fl.srv.Addr(), "err", err)
	}
}

// request starts the handshake of one request; a bad one is logged and
// skipped, costing the loop nothing more.
func (fl *fifoListener) request(req fifo.Request, err error) {
	if err != nil {
		fl.l.log.Warn("fifo: request skipped", "addr", fl.srv.Addr(), "err", err)
		return
	}
	if len(fl.pending) >= maxFIFOHandshakes {
		fl.l.log.Warn("fifo: request skipped: too many handshakes in progress", "addr", fl.srv.Addr(), "pid", req.PID, "max", maxFIFOHandshakes)
		return
	}
	h, err := fl.srv.Begin(req)
	if err != nil {
		fl.l.log.Warn("fifo: request skipped", "addr", fl.srv.Addr(), "pid", req.PID, "err", err)
		return
	}
	fl.pending[h] = struct{}{}
	fl.step(h, fifoRetryMin)
}

// step advances a handshake, and on a timer again while the client has not
// opened its end.
func (fl *fifoListener) step(h *fifo.Handshake, pause time.Duration) {
	if fl.closed {
		return
	}
	done, err := h.Step()
	switch {
	case err != nil:
		delete(fl.pending, h)
		h.Close()
		fl.l.log.Warn("fifo: handshake abandoned", "addr", fl.srv.Addr(), "pid", h.Request().PID, "err", err)
	case done:
		delete(fl.pending, h)
		fl.accept(h)
	default:
		fl.l.after(pause, func() { fl.step(h, min(2*pause, fifoRetryMax)) })
	}
}

// accept turns a completed handshake into a conn, as accept does for a
// socket: WithMaxConns applies, then the balancer picks the loop.
func (fl *fifoListener) accept(h *fifo.Handshake) {
	e := fl.l.engine
	remote := h.RemoteAddr()
	rfd, wfd := h.Fds()
	if !e.tryAdmit() {
		fl.l.rejected(fl.srv.Addr(), rfd, wfd)
		return
	}
	// The owner is set once the balancer has picked a loop.
	fl.l.handOff(fdconn.NewFD(rfd, wfd, fl.origin, remote, nil))
}

// close implements endpoint: pending handshakes are abandoned, and the
// FIFO and its lock file removed.
func (fl *fifoListener) close() {
	if fl.closed {
		return
	}
	fl.closed = true
	for h := range fl.pending {
		h.Close()
	}
	fl.pending = nil
	if err := fl.srv.Close(); err != nil {
		fl.l.log.Warn("fifo: close", "addr", fl.srv.Addr(), "err", err)
	}
}

// errPairBroken is the OnClose cause of a FIFO pair whose peer stopped
// reading (closed its read end) without closing its write end.
var errPairBroken = os.NewSyscallError("write", unix.EPIPE)

// fifoPair is a FIFO pair conn as its loop watches it: two fds, one conn
// (the same memory as the conn, as for connWatcher). Its rules are its own:
// the read half leaves the poller while it is not reading, a hangup on the
// write half is a broken pair, and a ShutdownWrite closes the write half
// (fdconn.Owner.ForgetFd).
type fifoPair fdconn.FD

// ready implements watcher: a read on the read fd; a flush, or a broken
// pair, on the write fd.
func (p *fifoPair) ready(fd int, ev poller.Event) {
	c := (*fdconn.FD)(p)
	l := loopOf(c)
	if fd == c.ReadFd() {
		if ev&readEvents != 0 && (c.WantsRead() || ev&endEvents == 0) {
			l.read(c)
		}
		return
	}
	if c.OutboundBuffered() > 0 && ev&(poller.Writable|endEvents) != 0 {
		l.flush(c)
		return
	}
	if ev&endEvents != 0 {
		p.broken(l)
	}
}

// broken handles an error on the write end: the peer closed its read end.
// It is level-triggered, so the conn must go now; what the peer sent before
// is read first, and if that ends in the peer's EOF (it closed both ends,
// the usual Close) the close is a clean one.
func (p *fifoPair) broken(l *loop) {
	c := (*fdconn.FD)(p)
	if c.WantsRead() {
		l.read(c)
	}
	if !c.IsClosed() {
		l.teardown(c, errPairBroken)
	}
}

// setInterest sets the interest of one of the pair's fds. Pollers report a
// pipe's hangup whatever the interest, and for a pipe it is not the end of
// the conn but the writer's EOF, which stays set: a read half that is not
// reading (closing, or paused by backpressure) would wake the loop on every
// Wait. So it leaves the poller until it reads again.
func (p *fifoPair) setInterest(l *loop, fd int, ev poller.Event) error {
	if fd != (*fdconn.FD)(p).ReadFd() {
		return l.poller.Modify(fd, ev)
	}
	if ev == 0 {
		return l.poller.Remove(fd)
	}
	return l.poller.Add(fd, ev)
}
