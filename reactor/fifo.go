package reactor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

// maxFIFOHandshakes bounds the handshakes one FIFO listener has in progress
// (fifo.Handshakes.Max); a variable so that tests can lower it.
var maxFIFOHandshakes = fifo.DefaultMaxHandshakes

// fifoListener serves a well-known FIFO (fifo:///path) on one loop: the
// handshakes run on the loop (fifo.Handshakes), and completed pairs go to
// the balancer as conns with separate read and write fds.
type fifoListener struct {
	l      *loop
	origin *fdconn.Origin // the pairs': the FIFO's address and the handler
	hs     fifo.Handshakes
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
	fl := &fifoListener{l: l, origin: &fdconn.Origin{Local: srv.Addr(), Handler: r}}
	fl.hs = fifo.Handshakes{L: srv, Max: maxFIFOHandshakes, After: l.after, Done: fl.accept, Log: l.log}
	if err := l.watch(srv.Fd(), fl, poller.Readable); err != nil {
		srv.Close()
		return err
	}
	e.addrs = append(e.addrs, srv.Addr())
	return nil
}

// ready implements watcher: requests have arrived.
func (fl *fifoListener) ready(int, poller.Event) { fl.hs.Readable() }

// accept turns a completed handshake into a conn, as accept does for a
// socket: WithMaxConns applies, then the balancer picks the loop.
func (fl *fifoListener) accept(h *fifo.Handshake) {
	e := fl.l.engine
	remote := h.RemoteAddr()
	rfd, wfd := h.Fds()
	if !e.tryAdmit() {
		fl.l.rejected(fl.hs.L.Addr(), rfd, wfd)
		return
	}
	// The owner is set once the balancer has picked a loop.
	fl.l.handOff(fdconn.NewFD(rfd, wfd, fl.origin, remote, nil))
}

// close implements endpoint: pending handshakes are abandoned, and the
// FIFO and its lock file removed.
func (fl *fifoListener) close() {
	if err := fl.hs.Close(); err != nil {
		fl.l.log.Warn("fifo: close", "addr", fl.hs.L.Addr(), "err", err)
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
