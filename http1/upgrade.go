package http1

import (
	"crypto/tls"
	"errors"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// The upgrade path (RFC 9110 §7.8): a handler that accepts an Upgrade
// request (WebSocket's opening handshake) answers 101 Switching Protocols
// and hands the conn to another reactor.Handler. The server writes the 101,
// stops parsing HTTP on that conn, and from then on passes every callback
// of the conn (OnTraffic, OnDrained, OnStop, OnClose) to that handler, as
// if it had been the conn's handler from the start: its OnOpen runs right
// after the 101 is written, and an OnTraffic follows at once when bytes of
// the new protocol came with the request.

// ErrNoUpgrade is returned by ResponseWriter.Upgrade for a request the
// conn cannot be handed over after: no Upgrade header (Request.Upgrade),
// HTTP/1.0, or responses to earlier requests still awaited (they would
// follow the 101 into the new protocol).
var ErrNoUpgrade = errors.New("http1: this request cannot upgrade the conn")

// Upgrade answers the request with 101 Switching Protocols and hands the
// conn to h once the 101 is written. The response carries the fields the
// handler added (Upgrade: with the protocol's name, say, and the
// protocol's own) and Connection: Upgrade, which the server writes; the
// status and body are ignored. Call it on the loop, in the handler, and
// not with Defer.
//
// h sees a conn.Conn whose Context and SetContext are its own (the server
// keeps its state beside it); the conn's other methods, its TLS state
// included, are the transport's.
func (w *ResponseWriter) Upgrade(h reactor.Handler) error {
	cs := w.cs
	if h == nil || !w.req.Upgrade || w.req.Minor == 0 || w.deferred != nil || cs.first != nil || cs.closing {
		return ErrNoUpgrade
	}
	w.resp.status = 101
	w.resp.body = w.resp.body[:0]
	w.resp.fields = append(w.resp.fields, "Connection: Upgrade\r\n"...)
	w.upgrade, w.upOwn = h, false
	return nil
}

// UpgradeAsContext is Upgrade for a handler that is made for this one
// conn and keeps its state in itself: h becomes the conn's context, so
// that nothing stands between h and the transport's conn. h sees that
// conn as it is (its TLS state included) and must leave the context
// alone: Context returns h, and SetContext would take the conn from the
// server. Upgrade puts a 64-byte wrapper in between instead, which gives
// h a context of its own; a protocol whose conns idle by the ten
// thousand (WebSocket) saves it here.
func (w *ResponseWriter) UpgradeAsContext(h reactor.Handler) error {
	if err := w.Upgrade(h); err != nil {
		return err
	}
	w.upOwn = true
	return nil
}

// upgradeTo writes the 101 and marks the conn as handed over; serve ends
// its parsing and calls the new handler's OnOpen once the 101 is written.
func (cs *connState) upgradeTo(w *ResponseWriter) {
	w.resp.close = false
	cs.emit(w.resp.appendHead(cs.scratch(), cs.srv.serverField, 0), true, false)
	cs.up, cs.upOwn = w.upgrade, w.upOwn
	w.upgrade, w.upOwn = nil, false
}

// openUpgraded is the end of the serve that wrote the 101: the conn now
// belongs to the upgrade's handler. The conn's HTTP state is dropped: from
// here on its context is the upgradedConn, which the server's callbacks
// pass on, so that a long-lived upgraded conn (a WebSocket) holds nothing
// of HTTP's.
func (cs *connState) openUpgraded() reactor.Action {
	c := cs.c
	if cs.deferred != nil {
		cs.deferred.cancel() // every Deferred of the conn is done: none is left to cancel later
	}
	c.SetIdleTimeout(0) // the new protocol keeps its own time
	h, own := cs.up, cs.upOwn
	cs.recycle() // cs is not to be touched from here on
	if own {
		c.SetContext(h)
		return opened(h, c)
	}
	u := &upgradedConn{Conn: c, h: h}
	u.self = u
	if _, ok := c.(conn.TLSInfo); ok {
		u.self = &upgradedTLSConn{u}
	}
	c.SetContext(u)
	return opened(u.h, u.self)
}

// recycle gives the state of a conn that upgraded to the server's next
// conn, when nothing can reach it any more (no Deferred ever had its
// context, no body or response is in progress): a conn that upgrades
// (WebSocket) then leaves no HTTP state behind as garbage.
func (cs *connState) recycle() {
	if cs.deferred != nil || cs.body != nil || cs.det != nil || cs.flushed != nil || cs.first != nil {
		return
	}
	s := cs.srv
	*cs = connState{}
	s.states.Put(cs)
}

// opened runs the upgrade handler's OnOpen, and its OnTraffic if bytes of
// the new protocol came with the request.
func opened(h reactor.Handler, c conn.Conn) reactor.Action {
	a := h.OnOpen(c)
	if a == reactor.None && c.InboundBuffered() > 0 {
		a = h.OnTraffic(c)
	}
	return a
}

// upgradedConn is the conn as an upgrade's handler sees it (the
// transport's, with a context of its own), and the server's context of an
// upgraded conn: the handler it passes the callbacks to.
type upgradedConn struct {
	conn.Conn
	ctx  any
	h    reactor.Handler
	self conn.Conn // this conn as h sees it (upgradedTLSConn over TLS)
}

// Context implements conn.Conn: the upgrade handler's value.
func (u *upgradedConn) Context() any { return u.ctx }

// SetContext implements conn.Conn: the upgrade handler's value.
func (u *upgradedConn) SetContext(v any) { u.ctx = v }

// upgradedTLSConn is an upgradedConn over a TLS conn: it passes the TLS
// state on (conn.TLSInfo), so wss handlers see it.
type upgradedTLSConn struct{ *upgradedConn }

// ConnectionState implements conn.TLSInfo.
func (u *upgradedTLSConn) ConnectionState() tls.ConnectionState {
	return u.Conn.(conn.TLSInfo).ConnectionState()
}
