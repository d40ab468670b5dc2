package main

import (
	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/codec/framed"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// handler serves a room on an engine. The codec adapter splits each conn's
// input into lines for the room (and forwards OnOpen and OnClose to it);
// handler adds one step in front: every OnTraffic, including the ones that
// other loops' Wake calls cause, first delivers what was queued for the conn.
type handler struct {
	*framed.Adapter
	room *room
}

// newHandler returns the reactor.Handler that serves r.
func newHandler(r *room) *handler {
	return &handler{Adapter: framed.New(r, codec.NewLine(r.cfg.MaxLine)), room: r}
}

// OnTraffic delivers queued lines to c, then hands c's input to the codec.
func (h *handler) OnTraffic(c conn.Conn) reactor.Action {
	m, ok := c.Context().(*member)
	if !ok {
		c.Discard(-1)
		return reactor.Close
	}
	if a := h.room.deliver(m); a != reactor.None {
		c.Discard(-1)
		return a
	}
	a := h.Adapter.OnTraffic(c)
	if a == reactor.Close && !m.closing {
		// The room asked for no close, so the codec did: a line over
		// MaxLine. The adapter offers no hook for its decode errors, which
		// only OnClose sees, after the conn is gone; tell the client now.
		return h.room.lineTooLong(m)
	}
	return a
}

// OnStop says goodbye to c's client as the engine stops, or drains for an
// upgrade, and closes c (see room.shutdown).
func (h *handler) OnStop(c conn.Conn) {
	if m, ok := c.Context().(*member); ok {
		h.room.shutdown(m)
	}
}

var (
	_ reactor.Handler     = (*handler)(nil)
	_ reactor.StopHandler = (*handler)(nil)
)
