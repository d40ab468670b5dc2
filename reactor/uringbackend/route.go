//go:build linux

package uringbackend

import "github.com/evloop/evloop/reactor"

// route is the handler serving a listener's (or a dial's) conns, with the
// optional extensions it implements looked up once.
type route struct {
	h       reactor.Handler
	drainer reactor.DrainHandler // h, if it wants OnDrained
	stopper reactor.StopHandler  // h, if it wants OnStop
}

func newRoute(h reactor.Handler) *route {
	r := &route{h: h}
	r.drainer, _ = h.(reactor.DrainHandler)
	r.stopper, _ = h.(reactor.StopHandler)
	return r
}
