package reactor

import (
	"net"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/poller"
)

// Moving a conn to another loop. A conn is placed on a loop when it is
// accepted, by its peer's address; behind a load balancer that address is
// the balancer's, and the real client's arrives in a PROXY header. So that
// SourceHash balancing hashes the real client, the PROXY layer asks, once
// the header is in and before the conn is opened to the next handler, for
// the conn to move to the loop the balancer picks for the header's source.
//
// The move is completed after the callback that asked for it returns (the
// loop still touches the conn until then): the conn leaves this loop's
// poller and table, and the target loop registers it and calls its route's
// OnTraffic, where the layer goes on. Only socket conns move (native ones,
// and those of a backend whose conns are SourceMovers: io_uring's), only
// before anything was written, and only under SourceHash with several
// loops.

// MoveBySource asks the engine to move raw, a conn it accepted, to the
// loop that SourceHash balancing picks for src: the real client's address,
// when raw's peer is a load balancer that said so (a PROXY header, or a
// header of a layer's own protocol). A layer calls it from raw's OnOpen or
// OnTraffic, before anything was written to raw and before the handler
// inside it has seen the conn. It reports whether raw moves: the layer
// must then leave raw alone, and the new loop calls the layer's OnTraffic
// (with raw's unconsumed bytes, possibly none), where it goes on.
//
// It moves nothing (false) unless the engine balances by SourceHash over
// several loops; nor on the gnet backend (gnet cannot move a conn), while
// the engine stops, with output buffered, or for a conn that is not the
// engine's own (a FIFO pair, a conn a layer made).
func MoveBySource(raw conn.Conn, src net.Addr) bool {
	c, ok := raw.(*fdconn.FD)
	if !ok {
		if m, ok := raw.(SourceMover); ok {
			return m.MoveBySource(src)
		}
		return false
	}
	if c.IsPair() || c.OutboundBuffered() > 0 {
		return false
	}
	l := loopOf(c)
	e := l.engine
	if e.opts.LoadBalancing != SourceHash || len(e.loops) < 2 || l.draining {
		return false
	}
	var ip []byte
	if a, ok := src.(*net.TCPAddr); ok {
		ip = a.IP
		if v4 := a.IP.To4(); v4 != nil {
			ip = v4
		}
	}
	target := e.pick(ip, src)
	if target == l {
		return false
	}
	l.moveTo = target
	return true
}

// SourceMover is a conn of another backend's that can move as
// MoveBySource describes: it moves (true) to the loop its engine's
// SourceHash balancing picks for src, under the same conditions and with
// the same effect, or reports false. The io_uring backend's conns
// implement it; MoveBySource asks a conn that is not native through it.
type SourceMover interface {
	MoveBySource(src net.Addr) bool
}

// finishMove completes a move asked for during c's callback; it reports
// whether c moved (and is no longer this loop's).
func (l *loop) finishMove(c *fdconn.FD) bool {
	target := l.moveTo
	if target == nil {
		return false
	}
	l.moveTo = nil
	if c.IsClosed() {
		return false
	}
	if err := c.Retain(); err != nil {
		l.teardown(c, err)
		return true
	}
	fd := c.ReadFd()
	l.unwatch(fd)
	c.Moving()
	target.open.Add(1) // keeps the target alive until it adopts c
	l.open.Add(-1)
	c.SetOwner(&target.shared)
	if err := target.Post(func() { target.adopt(c) }); err != nil {
		// The target has ended, so the engine stops: close it here.
		target.open.Add(-1)
		l.open.Add(1)
		c.SetOwner(&l.shared)
		l.teardown(c, ErrEngineStopped)
	}
	return true
}

// adopt registers a conn that moved here, and lets its route go on.
func (l *loop) adopt(c *fdconn.FD) {
	fd := c.ReadFd()
	if err := l.watch(fd, watcherOf(c), poller.Readable); err != nil {
		l.log.Warn("adopt moved conn", "fd", fd, "err", err)
		l.teardown(c, err)
		return
	}
	c.Registered()
	if d := c.IdleTimeout(); d > 0 {
		c.SetIdleTimeout(d)
	}
	if l.traffic(c) && l.draining {
		l.drainConn(c)
	}
}
