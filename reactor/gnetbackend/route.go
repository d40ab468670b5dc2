//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"sync"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/reactor"
)

// route is the handler that serves the conns of one listener or dial (a
// reactor.ListenSpec's Handler, or the one given to DialHandler). OnBoot,
// OnTick and OnShutdown go to the engine's root handler instead.
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

// routes finds an accepted conn's listener by the address gnet gives the
// conn: the listener's, as written (planListeners makes these distinct).
type routes struct {
	byKey   map[string]*route // routeKey -> route; written at boot, then read only
	byAddr  sync.Map          // gnet's listener net.Addr (one pointer per listener) -> *route
	only    *route            // the route, when there is one listener
	fallbck *route
}

// routeKey is the string of the address gnet gives the conns of p.
func routeKey(p listenerPlan) (string, bool) {
	if p.network == "unix" {
		return p.address, true
	}
	return gnetListenerKey(p)
}

// accepted is the route of a conn gnet accepted (or a datagram it read).
func (rs *routes) accepted(gc gnet.Conn) *route {
	if rs.only != nil {
		return rs.only
	}
	la := gc.LocalAddr()
	if la == nil {
		return rs.fallbck
	}
	if v, ok := rs.byAddr.Load(la); ok {
		return v.(*route)
	}
	r, ok := rs.byKey[la.String()]
	if !ok {
		r = rs.fallbck
	}
	rs.byAddr.Store(la, r)
	return r
}
