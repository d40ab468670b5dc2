package reactor

import (
	"context"
	"sync"
	"sync/atomic"
)

// front is the Engine that Start returns, on every backend. It wraps the
// engine the backend returned and does, once for all backends, what
// reactor's layers need of an engine: a Dial on a TLS network gets its TLS
// client layer, Stats adds the layers' counters, and the TLS layers learn
// from it whether the engine stops or drains. A backend therefore only
// implements Engine (and Backend) and calls nothing of reactor's.
//
// The handlers see the front too: the backend boots the root handler
// through rootHandler, which hands the application's OnBoot and OnShutdown
// the front instead of the backend's engine.
type front struct {
	// Engine is the backend's, from its OnBoot on (set there, before
	// the backend serves, so that the loops see it).
	Engine
	o    *Options
	root Handler // the application's root handler

	// draining is set by Drain and cleared by Stop: a conn told of the stop
	// serves on, so a TLS layer sends no close_notify yet.
	draining atomic.Bool

	// The layers attached to the listeners, for Stats.
	tls     TLSCounters
	mu      sync.Mutex
	proxies []*ProxyLayer
}

// rootHandler is the root handler a backend runs: the application's, with
// the front in place of the backend's engine in OnBoot and OnShutdown.
// Every other callback is Forward's: a backend may serve conns with the
// root handler (a Dial with no handler of its own).
type rootHandler struct {
	Forward
	f *front
}

// OnBoot implements Handler: the front learns its engine, and the
// application gets the front.
func (r *rootHandler) OnBoot(e Engine) Action {
	if r.f.Engine == nil {
		r.f.Engine = e
	}
	return r.Next.OnBoot(r.f)
}

// OnShutdown implements Handler.
func (r *rootHandler) OnShutdown(Engine) { r.Next.OnShutdown(r.f) }

// DialHandler implements Engine: the layers of network (tls, tls+unix)
// wrap h, and the backend dials the transport under them.
func (f *front) DialHandler(network, address string, h Handler) error {
	network, h, err := f.dialLayers(network, address, h)
	if err != nil {
		return err
	}
	return f.Engine.DialHandler(network, address, h)
}

// Dial implements Engine: DialHandler with the root handler.
func (f *front) Dial(network, address string) error { return f.DialHandler(network, address, nil) }

// Stats implements Engine: the backend's counters and the layers'.
func (f *front) Stats() Stats {
	s := f.Engine.Stats()
	s.TLS = f.tls.Stats()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.proxies {
		s.Proxy.add(p.Stats())
	}
	return s
}

// Drain implements Engine.
func (f *front) Drain(ctx context.Context) error {
	f.draining.Store(true)
	return f.Engine.Drain(ctx)
}

// Stop implements Engine.
func (f *front) Stop(ctx context.Context) error {
	f.draining.Store(false)
	return f.Engine.Stop(ctx)
}

func (f *front) addProxy(p *ProxyLayer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proxies = append(f.proxies, p)
}

// stopping tells whether the engine has begun to stop (or drain). A TLS
// conn it closes then without a word from the peer was closed by the
// engine, not cut short.
func (f *front) stopping() bool {
	if f.Engine == nil {
		return false
	}
	select {
	case <-f.Engine.Stopping():
		return true
	default:
		return false
	}
}

// drainingOnly tells whether the engine drains without closing its conns
// (Drain, and no Stop yet): a conn told of the stop serves on.
func (f *front) drainingOnly() bool { return f.draining.Load() }
