package reactor

import (
	"time"

	"github.com/evloop/evloop/conn"
)

// Forward is the base of a layer: a Handler that wraps another one, Next,
// and changes some of its callbacks (TLS, the PROXY protocol, a log, a
// protocol package's own layers). Every callback of Forward passes on to
// Next unchanged, the optional ones (OnDrained, OnStop, OnEOF) too when
// Next has them, so a layer that embeds Forward overrides only what it
// changes and loses no callback on the way: the engine's stop reaches the
// application through any number of layers.
//
// A layer that presents a conn of its own to Next (a decrypting conn, say)
// overrides every per-conn callback (OnOpen, OnTraffic, OnClose, OnDrained,
// OnStop) to pass that conn on; a layer that passes the engine's conn
// through unchanged overrides only those it needs.
//
// The engine asks whether a listener's handler wants OnDrained and OnStop
// once, when it starts, so a layer embedding Forward always gets them;
// Forward's cost is an interface assertion per OnDrained and OnStop, which
// are rare.
type Forward struct {
	Next Handler
}

// OnBoot implements Handler: it is Next's.
func (f Forward) OnBoot(e Engine) Action { return f.Next.OnBoot(e) }

// OnOpen implements Handler: it is Next's.
func (f Forward) OnOpen(c conn.Conn) Action { return f.Next.OnOpen(c) }

// OnTraffic implements Handler: it is Next's.
func (f Forward) OnTraffic(c conn.Conn) Action { return f.Next.OnTraffic(c) }

// OnClose implements Handler: it is Next's.
func (f Forward) OnClose(c conn.Conn, err error) { f.Next.OnClose(c, err) }

// OnTick implements Handler: it is Next's.
func (f Forward) OnTick() (time.Duration, Action) { return f.Next.OnTick() }

// OnShutdown implements Handler: it is Next's.
func (f Forward) OnShutdown(e Engine) { f.Next.OnShutdown(e) }

// OnDrained implements DrainHandler: it is Next's, if Next has one.
func (f Forward) OnDrained(c conn.Conn) Action {
	if d, ok := f.Next.(DrainHandler); ok {
		return d.OnDrained(c)
	}
	return None
}

// OnStop implements StopHandler: it is Next's, if Next has one.
func (f Forward) OnStop(c conn.Conn) {
	if s, ok := f.Next.(StopHandler); ok {
		s.OnStop(c)
	}
}

// OnEOF implements EOFHandler: it is Next's, if Next has one; else Close,
// what the engine does for a handler without it.
func (f Forward) OnEOF(c conn.Conn) Action {
	if h, ok := f.Next.(EOFHandler); ok {
		return h.OnEOF(c)
	}
	return Close
}

var (
	_ Handler      = Forward{}
	_ DrainHandler = Forward{}
	_ StopHandler  = Forward{}
	_ EOFHandler   = Forward{}
)
