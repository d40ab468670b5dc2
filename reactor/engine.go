package reactor

import (
	"context"
	"net"
)

// Engine is a running set of loops, as returned by Start. It is also what
// a Backend implements: Start wraps the backend's engine, and the wrapper
// adds what every backend shares (the TLS layer of a Dial("tls"), the
// layers' counters in Stats), so a backend calls no hook of reactor's.
type Engine interface {
	// Addrs returns the bound listener addresses (port 0 resolved).
	Addrs() []net.Addr
	// Dial starts a nonblocking connect; OnOpen or OnClose reports the
	// outcome. It is DialHandler with the root handler.
	Dial(network, addr string) error
	// DialHandler is Dial with the conn served by h rather than by the
	// root handler (nil: the root handler): how a protocol package (an
	// HTTP or WebSocket client) dials with a handler of its own, whatever
	// the application's root handler is. The networks are tcp, tcp4,
	// tcp6, unix, and tls and tls+unix, which wrap h in a TLS client layer
	// (WithDialTLS). A backend's engine is only asked for the stream
	// networks, and always with a handler.
	DialHandler(network, addr string, h Handler) error
	// Conns is the number of open conns.
	Conns() int
	// Stats returns counters summed over loops, and per loop.
	Stats() Stats
	// Drain begins a stop that lets conns end on their own: the engine
	// stops accepting and dialing, calls OnStop on every open conn (see
	// StopHandler) and serves them on. It returns nil once they have all
	// closed (the engine then finishes as after Stop: OnShutdown, Done), or
	// ctx's cause once ctx ends, leaving the rest open: Stop after it
	// closes them gracefully. This is how an upgraded server's old process
	// keeps the requests in flight on persistent conns: the client's
	// request that the old process has not read yet is still answered.
	Drain(ctx context.Context) error
	// Stop stops accepting, flushes and closes every conn (OnStop, then
	// OnClose each), calls OnShutdown and returns once every loop
	// goroutine has exited: nil, or the error conns were forced closed
	// with. ctx bounds the drain: conns still flushing when it ends are
	// closed with ctx's error (context.Cause: a context cancelled with a
	// cause gives that cause).
	//
	// Stop returns by ctx's end plus a grace of 100 ms, whether or not the
	// conns are all closed by then: closing a conn costs the kernel tens of
	// microseconds, so a million take longer than any drain timeout. Stop
	// then returns ctx's error, and the engine finishes on its own: it
	// forces the rest closed (each still gets exactly one OnClose), calls
	// OnShutdown and closes Done. Wait on Done before counting fds or
	// goroutines. A Stop called once the engine is done returns at once,
	// with nil or the error conns were forced closed with. Stop waits for
	// the loops, so a callback must not call it (it would wait for
	// itself): return the Shutdown action instead.
	Stop(ctx context.Context) error
	// Stopping is closed once the engine has begun to stop (Stop, Drain, a
	// Shutdown action, a stop signal): a handler that serves a request
	// may check it to say it is the last one (HTTP's "Connection: close").
	Stopping() <-chan struct{}
	// Done is closed once the engine has stopped, whether by Stop or by a
	// callback returning Shutdown.
	Done() <-chan struct{}
}

// Backend starts engines. The native backend is the default; gnetbackend.New
// returns another.
//
// A backend implements Start and the Engine it returns, and nothing else:
// reactor attaches the layers each address asks for before Start sees the
// specs, and wraps the engine Start returns, adding what every backend
// shares. The engine must call root's OnBoot (with itself) before it
// serves, call OnStop (StopHandler) on each conn as its stop begins, and
// be asked DialHandler only for tcp, tcp4, tcp6 and unix.
type Backend interface {
	// Start binds each spec's address, calls root's OnBoot and serves, as
	// Start does. The conns of a spec (and the datagrams of a udp one) go
	// to the spec's Handler; OnBoot, OnTick and OnShutdown go to root.
	// Backends are started by reactor (WithBackend), not called directly.
	Start(root Handler, specs []ListenSpec, o *Options) (Engine, error)
	// Name is the backend's name ("native", "gnet").
	Name() string
}

// ListenSpec is one address to listen on and the Handler that serves what
// arrives there. A protocol layer (TLS, the PROXY protocol) is a Handler
// that receives the raw conn's callbacks and presents a wrapped conn.Conn to
// the Handler it wraps; StartSpecs attaches the layers an address asks for
// (its Query) before the backend sees the spec.
type ListenSpec struct {
	Addr    Addr
	Handler Handler // OnOpen, OnTraffic, OnClose (and OnDrained) of this listener's conns
}
