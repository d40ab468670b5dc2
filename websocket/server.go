package websocket

import (
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// Handler is the application's side of WebSocket conns. Its callbacks run
// on the conn's loop and must not block.
type Handler interface {
	// OnOpen runs once the opening handshake has completed.
	OnOpen(c *Conn)
	// OnMessage runs for each whole text or binary message. data is valid
	// only during the call (it may be the conn's own input buffer): copy
	// what you keep.
	OnMessage(c *Conn, op Opcode, data []byte)
	// OnClose runs exactly once per opened conn: with nil after a closing
	// handshake with code 1000, 1001 or none, a *CloseError for another
	// code from the peer, an *Error (errors.Is ErrProtocol,
	// ErrInvalidUTF8, ErrMessageTooBig) for a violation by the peer,
	// ErrPongTimeout, ErrSlowReceiver, or the transport's error.
	OnClose(c *Conn, err error)
}

// BaseHandler has no-op callbacks; embed it and override what you need.
type BaseHandler struct{}

// OnOpen does nothing.
func (BaseHandler) OnOpen(*Conn) {}

// OnMessage does nothing.
func (BaseHandler) OnMessage(*Conn, Opcode, []byte) {}

// OnClose does nothing.
func (BaseHandler) OnClose(*Conn, error) {}

// Defaults of Options.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	// DefaultMaxBacklog is how far a conn's output may fall behind (bytes
	// written that the peer has not taken) before it is cut off.
	DefaultMaxBacklog = 4 << 20
)

// Options configure a Server (and a client conn: the fields that apply).
// The zero value gives the defaults.
type Options struct {
	// Policy is what the opening handshake accepts: subprotocols, the
	// origin check, permessage-deflate.
	Policy
	// Path, if set, is the only request path served; others get 404.
	Path string
	// MaxMessage bounds a message's size, as received and after
	// inflating (default DefaultMaxMessage); past it the conn is closed
	// with 1009, before the message is buffered.
	MaxMessage int
	// MaxRequestHead bounds the opening request's head (default
	// DefaultMaxRequestHead; past it, 431).
	MaxRequestHead int
	// HandshakeTimeout bounds the opening handshake from the conn's open
	// (default DefaultHandshakeTimeout): a client that stalls is closed.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's Close frame once this
	// side has sent its own, and a client's wait for the server to close
	// the transport once the closing handshake is done (default
	// DefaultCloseTimeout).
	CloseTimeout time.Duration
	// PingInterval, if set, sends a ping at that interval; a conn whose
	// pong has not arrived by the next ping is closed (ErrPongTimeout).
	PingInterval time.Duration
	// KeepRequest keeps the opening request (Conn.Request) for the conn's
	// life. By default it is dropped once OnOpen returns, so that an idle
	// conn holds no copy of its request's headers: take what you need
	// (Origin, a cookie, the path) in OnOpen.
	KeepRequest bool
	// MaxBacklog bounds the output a conn may hold that its peer has not
	// taken (conn.OutboundBuffered) plus what other goroutines queued for
	// it; a write past it cuts the conn off (ErrSlowReceiver): the
	// message is dropped, the conn closes once flushed or after
	// CloseTimeout without progress. A message written or queued while
	// nothing else waits goes whatever its size (the engine's
	// WithMaxOutbound bounds it). Default DefaultMaxBacklog.
	MaxBacklog int
}

func (o *Options) withDefaults() Options {
	d := *o
	if d.MaxMessage <= 0 {
		d.MaxMessage = DefaultMaxMessage
	}
	if d.MaxRequestHead <= 0 {
		d.MaxRequestHead = DefaultMaxRequestHead
	}
	if d.HandshakeTimeout <= 0 {
		d.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if d.CloseTimeout <= 0 {
		d.CloseTimeout = DefaultCloseTimeout
	}
	if d.MaxBacklog <= 0 {
		d.MaxBacklog = DefaultMaxBacklog
	}
	if d.Compression != nil {
		c := *d.Compression
		if c.Threshold == 0 {
			c.Threshold = DefaultCompressThreshold
		}
		if c.Level < -2 || c.Level > 9 {
			c.Level = 0 // not a flate level: the default
		}
		d.Compression = &c
	}
	return d
}

// Server serves WebSocket on the conns of a listener: it is a
// reactor.Handler that reads the opening request off each conn, answers
// it, and then speaks WebSocket to the application's Handler. Give it to
// reactor.Start (or a ListenSpec); on tls:// and ?proxy= addresses the
// reactor's layers sit below it, so wss:// and PROXY work unchanged.
//
// Given to reactor directly, Server reads the request head itself
// (bounded by MaxRequestHead and HandshakeTimeout) and answers anything
// but a WebSocket handshake with an error status: an address that serves
// WebSocket only. To serve pages and WebSocket on one address, route the
// endpoint's requests from an http1.Server to ServeHTTP1 (upgrade.go).
type Server struct {
	reactor.BaseHandler
	o  Options
	ep endpoint // h, and o's address
}

// NewServer returns a Server calling h, with o's settings.
func NewServer(h Handler, o Options) *Server {
	s := &Server{o: o.withDefaults()}
	s.ep = endpoint{h: h, o: &s.o}
	return s
}

// OnOpen implements reactor.Handler: it starts the handshake's clock.
func (s *Server) OnOpen(raw conn.Conn) reactor.Action {
	c := newConn(raw, &s.ep, true)
	raw.SetContext(c)
	c.deadline(&c.deadlines().handshake, s.o.HandshakeTimeout)
	return reactor.None
}

// OnTraffic implements reactor.Handler.
func (s *Server) OnTraffic(raw conn.Conn) reactor.Action {
	c, ok := raw.Context().(*Conn)
	if !ok {
		raw.Discard(-1)
		return reactor.Close
	}
	return c.traffic()
}

// OnClose implements reactor.Handler.
func (s *Server) OnClose(raw conn.Conn, err error) {
	if c, ok := raw.Context().(*Conn); ok {
		c.closed(err)
	}
}

// OnStop implements reactor.StopHandler: an open conn of a stopping engine
// gets a Close frame with 1001 (going away) ahead of the engine's close.
//
// What other goroutines queued for the conn goes out first, then what the
// Handler's OnStop writes (StopHandler), then the Close frame.
func (s *Server) OnStop(raw conn.Conn) {
	if c, ok := raw.Context().(*Conn); ok {
		c.stop("server stopping")
	}
}

// StopHandler is a Handler that has a last word for its open conns as
// the engine stops (or drains for an upgrade): OnStop runs on the conn's
// loop before the Close frame with 1001 goes out, and may still write.
type StopHandler interface {
	OnStop(c *Conn)
}

// stop sends 1001 to an open conn of a stopping engine.
func (c *Conn) stop(reason string) {
	if c.state != stateOpen {
		return
	}
	c.runQueue()
	if sh, ok := c.ep.h.(StopHandler); ok && c.state == stateOpen {
		sh.OnStop(c)
	}
	if c.state == stateOpen {
		c.setCause(nil)
		c.sendClose(CloseGoingAway, reason)
	}
}

var (
	_ reactor.Handler     = (*Server)(nil)
	_ reactor.StopHandler = (*Server)(nil)
)
