package reactor

// route is the handler that serves the conns of one listener or dial, kept
// in their shared fdconn.Origin. With a protocol layer it is the layer, which
// wraps the application's handler; OnBoot, OnTick and OnShutdown never go
// through a route but to the engine's root handler.
type route struct {
	handler Handler
	drainer DrainHandler // handler, if it wants OnDrained
	stopper StopHandler  // handler, if it wants OnStop
	eofer   EOFHandler   // handler, if it wants OnEOF
}

func newRoute(h Handler) *route {
	r := &route{handler: h}
	r.drainer, _ = h.(DrainHandler)
	r.stopper, _ = h.(StopHandler)
	r.eofer, _ = h.(EOFHandler)
	return r
}
