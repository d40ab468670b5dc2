// Package reactor runs event loops: it accepts and dials connections, reads
// and writes them without blocking, and calls an application's Handler.
//
// One goroutine per loop waits on a poller, owns a set of conns and calls the
// Handler for them; other goroutines reach a loop only through its task queue.
// Each fd a loop polls has one watcher in the loop's fd table: a conn, either
// half of a FIFO pair, a listener, a UDP socket, a FIFO's request pipe or a
// connect in progress. The conns of a listener are served by its
// ListenSpec's Handler (StartSpecs; Start gives every listener the same
// one), so that a protocol layer can wrap the application's Handler per
// listener; OnBoot, OnTick and OnShutdown go to the root Handler. The same
// Handler runs on the gnet/v2 backend (package gnetbackend).
//
// # Where to start
//
// Write a Handler: embed BaseHandler, which has no-op callbacks, and
// override OnTraffic (and OnOpen, OnClose, ... as needed). Serve it with
// Run, which blocks until its context ends, or Start, which returns the
// running Engine (Addrs, Dial, Stats, Drain, Stop). Addresses are strings
// such as tcp://127.0.0.1:7000 (ParseAddr lists the forms); options are
// the With functions, and WithInternetProfile sets bounds for a server
// strangers reach. ExampleStart, ExampleRun, ExampleEngine_Dial and
// ExampleEngine_Drain are runnable; ExampleNewTLSServer and
// ExampleNewProxyLayer wire the TLS and PROXY layers by hand, and
// ExampleForward writes a layer of one's own on the public seam (Forward,
// StopHandler, StartSpecs, Engine.DialHandler, Engine.Stopping,
// MoveBySource).
package reactor

import (
	"errors"
	"time"

	"github.com/evloop/evloop/conn"
)

// Action is what a callback asks the engine to do next.
type Action int

const (
	// None continues as usual.
	None Action = iota
	// Close closes this connection once its pending output is flushed.
	Close
	// Shutdown stops the engine gracefully.
	Shutdown
)

// String names the action.
func (a Action) String() string {
	switch a {
	case None:
		return "None"
	case Close:
		return "Close"
	case Shutdown:
		return "Shutdown"
	}
	return "Action(?)"
}

// Handler is the application side of an engine. All callbacks but OnBoot and
// OnShutdown run on a loop goroutine and must not block.
type Handler interface {
	// OnBoot runs once, when the engine is listening and before it serves.
	OnBoot(e Engine) Action
	// OnOpen runs when a conn is accepted or dialed; it may write a greeting.
	OnOpen(c conn.Conn) Action
	// OnTraffic runs when inbound bytes are buffered in c (or after c.Wake).
	OnTraffic(c conn.Conn) Action
	// OnClose runs exactly once per opened conn, with nil on a clean EOF or
	// Close, or with the cause.
	OnClose(c conn.Conn, err error)
	// OnTick runs on the first loop when WithTicker is set; it returns the
	// delay until the next tick.
	OnTick() (next time.Duration, a Action)
	// OnShutdown runs once, after every conn has closed.
	OnShutdown(e Engine)
}

// DrainHandler is an optional Handler extension for backpressure. When a
// conn's buffered output passes the high watermark (WithWriteWatermarks) the
// loop stops reading it; once the output falls to the low watermark, reading
// resumes and OnDrained is called: the moment to produce more output. A
// handler can also ask at any time with Conn.OutboundBuffered.
type DrainHandler interface {
	OnDrained(c conn.Conn) Action
}

// EOFHandler is an optional Handler extension: how a handler keeps a conn
// open for writing after its peer ended its stream (shutdown(SHUT_WR), as
// nc -N does once its input is sent, or a close whose FIN comes first). A
// Handler without it gets what Close means: the conn closes once its
// output is flushed, and an answer still being made on another goroutine
// (an HTTP response a worker prepares, say) would be lost.
//
// OnEOF runs on the conn's loop after the OnTraffic for the last bytes the
// peer sent. It returns Close to close the conn once its output is flushed,
// as without OnEOF, or None to keep it open for writing: nothing more is
// read, and the conn closes when the handler says so (conn.Close, or the
// Close action of a later callback, a Wake's OnTraffic say), at its idle
// timeout, or when the engine stops. Shutdown stops the engine, as from
// any callback, and closes the conn.
//
// The native and io_uring backends call it; gnet closes a conn at its
// peer's EOF by itself (docs/backends.md). Every layer (TLS, the PROXY
// protocol, the conn log, ProxySender, and any layer embedding Forward)
// passes it on to the handler inside it, with the conn that handler sees.
type EOFHandler interface {
	OnEOF(c conn.Conn) Action
}

// StopHandler is an optional Handler extension: how a handler learns that
// the engine stops, so that a protocol can say goodbye at a safe point
// (HTTP answers its next request with "Connection: close" and closes an
// idle keep-alive conn, WebSocket sends a close frame with 1001, a chat
// room a notice).
//
// OnStop runs once per open conn, on its loop, when the engine begins to
// stop: Stop, a Shutdown action, a stop signal, or Drain. After Stop (and
// the others but Drain) the engine closes the conn gracefully right after
// OnStop, so what OnStop writes goes out ahead of the close, as with
// Close. After Drain the conn serves on until it closes, by either side,
// or until Stop closes what is left (without a second OnStop). A conn the
// engine closes at once (past Stop's deadline) gets no OnStop, and a conn
// that opens while the engine stops gets its OnStop as it opens.
//
// Every layer (TLS, the PROXY protocol, the conn log, ProxySender, and any
// layer embedding Forward) passes OnStop on to the handler inside it, with
// the conn that handler sees.
type StopHandler interface {
	OnStop(c conn.Conn)
}

// BaseHandler has no-op callbacks; embed it and override what you need.
type BaseHandler struct{}

// OnBoot does nothing.
func (BaseHandler) OnBoot(Engine) Action { return None }

// OnOpen does nothing.
func (BaseHandler) OnOpen(conn.Conn) Action { return None }

// OnTraffic discards what arrived, so a handler that forgets to consume
// cannot grow the inbound buffer without bound.
func (BaseHandler) OnTraffic(c conn.Conn) Action {
	c.Discard(-1)
	return None
}

// OnClose does nothing.
func (BaseHandler) OnClose(conn.Conn, error) {}

// OnTick asks for the next tick in one second.
func (BaseHandler) OnTick() (time.Duration, Action) { return time.Second, None }

// OnShutdown does nothing.
func (BaseHandler) OnShutdown(Engine) {}

// Errors callers can test with errors.Is.
var (
	// ErrEngineStopped is returned by Engine calls after Stop.
	ErrEngineStopped = errors.New("reactor: engine stopped")
	// ErrIdleTimeout is the OnClose cause of a conn closed for idleness.
	ErrIdleTimeout = errors.New("reactor: idle timeout")
	// ErrPanic wraps a panic recovered from a callback; the conn is closed
	// with it.
	ErrPanic = errors.New("reactor: handler panicked")
	// ErrTooManyConns is logged when a conn over WithMaxConns is closed
	// before OnOpen (the handler never sees such a conn).
	ErrTooManyConns = errors.New("reactor: too many connections")
	// ErrUnsupported is returned for an option or call a backend cannot honour.
	ErrUnsupported = errors.New("reactor: unsupported by this backend")
	// ErrBadAddress is returned for an address that cannot be parsed.
	ErrBadAddress = errors.New("reactor: bad address")
	// ErrDialTimeout is the OnClose cause of a dial that did not connect in time.
	ErrDialTimeout = errors.New("reactor: dial timeout")
)
