//go:build linux

package uringbackend

import (
	"net"

	"github.com/evloop/evloop/reactor"
)

// Moving a conn to another loop (reactor.MoveBySource): behind a load
// balancer, the PROXY layer asks for the conn to move to the loop that
// SourceHash picks for the real client once the header is in. The move is
// finished after the callback that asked for it returns: the conn leaves
// this loop's table, timers and dirty list, and the target loop gives it a
// slot, arms its receive and calls its OnTraffic. It moves only once the
// ring holds no operation of it, so that no completion can reach the wrong
// loop: a conn with output is not moved, and its multishot receive is
// cancelled first. Until that receive's final completion the conn is
// moving: what arrives waits in its input, nothing is sent, and then it
// goes (moveOn).

// MoveBySource implements reactor.SourceMover.
func (c *uconn) MoveBySource(src net.Addr) bool {
	l := c.l
	e := l.e
	if c.released() || c.moving || c.sendInflight || c.OutboundBuffered() > 0 || l.draining ||
		e.o.LoadBalancing != reactor.SourceHash || len(e.loops) < 2 {
		return false
	}
	target := e.pick(src)
	if target == l {
		return false
	}
	l.moveTo = target
	return true
}

// finishMove completes a move asked for during c's callback; it reports
// whether c moved (and is no longer this loop's).
func (l *loop) finishMove(c *uconn) bool {
	target := l.moveTo
	if target == nil {
		return false
	}
	l.moveTo = nil
	if c.released() {
		return false
	}
	if c.recvArmed {
		c.moving = true
		l.moves = append(l.moves, pendingMove{c, target})
		if !c.recvCancel {
			l.cancel(userData(kindRecv, c.id))
			c.recvCancel = true
		}
		return true
	}
	l.handOver(c, target)
	return true
}

// pendingMove is a conn waiting for its receive's final completion to
// move to loop to.
type pendingMove struct {
	c  *uconn
	to *loop
}

// moveOn goes on with c's move once its receive has ended.
func (l *loop) moveOn(c *uconn) {
	c.moving = false
	var target *loop
	for i, m := range l.moves {
		if m.c == c {
			target = m.to
			l.moves = append(l.moves[:i], l.moves[i+1:]...)
			break
		}
	}
	if c.released() || target == nil {
		l.forgetIfDone(c)
		return
	}
	l.handOver(c, target)
}

// handOver moves c, which has no operation in the ring, to target.
func (l *loop) handOver(c *uconn, target *loop) {
	l.conns.remove(c.id)
	l.forgetTimers(c)
	if c.dirty {
		for i, d := range l.dirty {
			if d == c {
				l.dirty = append(l.dirty[:i], l.dirty[i+1:]...)
				break
			}
		}
		c.dirty = false
	}
	c.id = 0
	target.open.Add(1) // keeps the target alive until it adopts c
	l.open.Add(-1)
	c.l = target
	if err := target.Post(func() { target.adoptMoved(c) }); err != nil {
		// The target has ended, so the engine stops: close it here.
		target.open.Add(-1)
		l.open.Add(1)
		c.l = l
		c.id = l.conns.add(c)
		l.teardown(c, reactor.ErrEngineStopped)
	}
}

// adoptMoved takes a conn that moved here in, and lets its route go on.
func (l *loop) adoptMoved(c *uconn) {
	c.id = l.conns.add(c)
	if c.idle > 0 {
		c.armIdle(c.lastActive + int64(c.idle))
	}
	a := l.callTraffic(c)
	l.retain(c)
	if l.finishMove(c) || c.released() {
		return
	}
	l.act(c, a)
	if c.readEOF { // the peer's EOF came while the conn was moving
		l.closeConn(c, nil)
	}
	if l.draining && !c.released() {
		l.drainConn(c)
	}
	l.touch(c)
}

// forgetTimers drops c's idle timer entries from the heap (it leaves this
// loop; they would run on this loop's goroutine).
func (l *loop) forgetTimers(c *uconn) {
	kept := l.timers[:0]
	for _, t := range l.timers {
		if t.conn != c {
			kept = append(kept, t)
		}
	}
	clear(l.timers[len(kept):])
	l.timers = kept
	l.timers.init()
}
