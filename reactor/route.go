package reactor

import "github.com/evloop/evloop/internal/fdconn"

// route is the handler that serves the conns of one listener or dial, kept
// in their shared fdconn.Origin. With a protocol layer it is the layer, which
// wraps the application's handler; OnBoot, OnTick and OnShutdown never go
// through a route but to the engine's root handler.
type route struct {
	handler Handler
	drainer DrainHandler // handler, if it wants OnDrained
	stopper StopHandler  // handler, if it wants OnStop
}

func newRoute(h Handler) *route {
	r := &route{handler: h}
	r.drainer, _ = h.(DrainHandler)
	r.stopper, _ = h.(StopHandler)
	return r
}

// routeOf is the route of a conn of this loop's engine.
func (l *loop) routeOf(c *fdconn.FD) *route {
	if r, ok := c.Origin().Handler.(*route); ok && r != nil {
		return r
	}
	return l.root
}
