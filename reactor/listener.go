package reactor

import (
	"hash/fnv"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// Accept backoff on EMFILE/ENFILE: the listener leaves the poller and comes
// back after a delay that doubles up to the maximum, so the loop never spins
// on a listener it cannot serve, and pending conns wait in the backlog until
// fds free up.
const (
	acceptBackoffMin    = 5 * time.Millisecond
	acceptBackoffMax    = 500 * time.Millisecond
	maxAcceptsPerWakeup = 256
)

// listener is a bound listening socket owned by one loop.
type listener struct {
	l       *loop
	fd      int
	addr    net.Addr
	network string           // "tcp" or "unix": the family of accepted conns' addresses
	unlink  *socket.UnixPath // the unix socket file to remove on close, if still ours
	backoff time.Duration
	// origin is what the accepted conns share: the handler's route and,
	// when the listener is bound to one address (not a wildcard), their
	// local address; else Local is nil and each conn asks getsockname.
	origin *fdconn.Origin
	// inherits: TCP options were set on the listener and accepted conns
	// inherit them (Linux), so they cost no syscall per conn.
	inherits bool
}

// watch makes l serve the listener.
func (ln *listener) watch(l *loop) error {
	ln.l = l
	return l.watch(ln.fd, ln, poller.Readable)
}

// ready implements watcher: conns are waiting.
func (ln *listener) ready(int, poller.Event) { ln.l.accept(ln) }

// close implements endpoint.
func (ln *listener) close() {
	unix.Close(ln.fd)
	ln.unlink.Remove()
}

// accept takes conns until EAGAIN (or a bound, to let other fds run), and
// hands each to the loop chosen by the balancer.
func (l *loop) accept(ln *listener) {
	e := l.engine
	for i := 0; i < maxAcceptsPerWakeup; i++ {
		fd, peer, err := socket.Accept(ln.fd, ln.network, &l.acceptBuf)
		switch err {
		case nil:
		case unix.EAGAIN:
			ln.backoff = 0
			return
		case unix.ECONNABORTED, unix.EPROTO, unix.EPERM,
			// Linux's accept4 also passes on pending network errors of
			// the new conn; its man page says to retry, as for EAGAIN.
			unix.ENETDOWN, unix.ENOPROTOOPT, unix.EHOSTDOWN, unix.EHOSTUNREACH,
			unix.EOPNOTSUPP, unix.ENETUNREACH:
			continue // the peer gave up before we accepted: skip it
		default:
			// Out of fds or memory, or an error we do not know: the
			// listener stays readable, so pause it rather than spin.
			l.pauseAccept(ln, err)
			return
		}
		if !e.tryAdmit() {
			l.rejected(ln.addr, fd)
			continue
		}
		l.handOff(e.newConn(fd, ln, &peer))
	}
}

// pauseAccept takes the listener out of the poller for a while.
func (l *loop) pauseAccept(ln *listener, cause error) {
	ln.backoff = min(max(2*ln.backoff, acceptBackoffMin), acceptBackoffMax)
	l.stats.backoffs.Add(1)
	l.log.Warn("accept paused", "addr", ln.addr, "err", cause, "retry_in", ln.backoff)
	l.poller.Modify(ln.fd, 0)
	l.after(ln.backoff, func() {
		// The same listener, not another fd that took its number.
		if l.watchers.get(ln.fd) == watcher(ln) {
			l.poller.Modify(ln.fd, poller.Readable)
		}
	})
}

// handOff gives a new conn to the loop the balancer picks.
func (l *loop) handOff(c *fdconn.FD) {
	ip := c.PeerIP()
	var peer net.Addr
	if ip == nil {
		peer = c.RemoteAddr() // stored, not built
	}
	target := l.engine.pick(ip, peer)
	select {
	case <-l.engine.stopping:
		// The other loops may have drained and ended: this one still
		// serves (it accepts), and its drain closes c gracefully.
		target = l
	default:
	}
	c.SetOwner(&target.shared)
	if target == l {
		target.register(c)
		return
	}
	// The target stays alive until it has the conn: as a drain begins it
	// could otherwise end (no conns, draining) before the task runs.
	target.handoffs.Add(1)
	if err := target.Post(func() { target.handoffs.Add(-1); target.register(c) }); err != nil {
		target.handoffs.Add(-1)
		c.SetOwner(&l.shared)
		l.register(c) // the target has ended: serve it here
	}
}

// newConn wraps an accepted fd, applying the socket options.
func (e *engine) newConn(fd int, ln *listener, peer *socket.Peer) *fdconn.FD {
	origin := ln.origin
	if peer.IsInet() {
		if !ln.inherits {
			e.setTCPOptions(fd)
		}
		if origin.Local == nil {
			// A wildcard listener: the conn's local address is its own.
			if lsa, err := unix.Getsockname(fd); err == nil {
				origin = &fdconn.Origin{Local: socket.Addr(ln.network, lsa), Handler: ln.origin.Handler}
			}
		}
	}
	// The owner is set once the balancer has picked a loop.
	return fdconn.NewAcceptedFD(fd, origin, peer)
}

// setTCPOptions applies the TCP options to a conn, or to a listener whose
// conns inherit them.
func (e *engine) setTCPOptions(fd int) {
	o := e.opts
	if o.TCPNoDelay {
		socket.SetNoDelay(fd, true)
	}
	socket.SetKeepAlive(fd, o.KeepAlive)
	socket.SetBuffers(fd, o.SocketRecvBuf, o.SocketSendBuf)
}

// pick chooses the loop for a new conn. The source hash is of the peer's IP
// when there is one, else of its address.
func (e *engine) pick(ip []byte, peer net.Addr) *loop {
	if len(e.loops) == 1 {
		return e.loops[0]
	}
	var l *loop
	switch e.opts.LoadBalancing {
	case LeastConns:
		l = e.loops[0]
		for _, cand := range e.loops[1:] {
			if cand.open.Load() < l.open.Load() {
				l = cand
			}
		}
	case SourceHash:
		h := fnv.New32a()
		if ip != nil {
			h.Write(ip)
		} else {
			switch a := peer.(type) {
			case *net.TCPAddr:
				h.Write(a.IP)
			case nil:
			default:
				h.Write([]byte(a.String()))
			}
		}
		l = e.loops[int(h.Sum32()%uint32(len(e.loops)))]
	default:
		l = e.loops[int(e.next.Add(1)%uint64(len(e.loops)))]
	}
	return l
}
