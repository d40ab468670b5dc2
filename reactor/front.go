package reactor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
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

	// done, with WithSignals, closes once the backend's engine is done and
	// the signal watcher has ended (nil: the backend's Done is the front's).
	done chan struct{}

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

// Done implements Engine.
func (f *front) Done() <-chan struct{} {
	if f.done != nil {
		return f.done
	}
	return f.Engine.Done()
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

// layered returns the address the backend binds for a, and the handler for
// its conns: h, wrapped by the layers a asks for. It is where a layer is
// attached to a listener. Layers nest in wire order: the PROXY header comes
// before any TLS byte, so its layer is the outermost; the debug log of
// conns is the innermost, to show what the handler sees.
func (f *front) layered(a Addr, h Handler) (Addr, Handler, error) {
	o := f.o
	h = withConnLog(h, o.Logger)
	if tr, ok := a.tlsTransport(); ok {
		if o.TLS == nil {
			return a, nil, fmt.Errorf("%w: %s needs a certificate: WithTLS(cfg)", ErrBadAddress, a)
		}
		h = NewTLSServer(h, o.TLS, f.tlsOptions())
		a = tr
	}
	if m := a.Query.Get("proxy"); a.Query.Has("proxy") {
		mode, err := ParseProxyMode(m)
		if err != nil {
			return a, nil, fmt.Errorf("%w (in %s)", err, a)
		}
		opts := append([]ProxyOption{WithProxyIdleTimeout(o.IdleTimeout), WithProxyLogger(o.Logger)}, o.proxy...)
		if a.Scheme == "unix" {
			// Only local processes that may open the socket's file
			// connect: they are trusted as a balancer is.
			opts = append(opts, WithProxyTrustAny())
		}
		pl, err := NewProxyLayer(h, mode, opts...)
		if err != nil {
			return a, nil, fmt.Errorf("%s: %w", a, err)
		}
		f.addProxy(pl)
		h = pl
	}
	return a, h, nil
}

// dialLayers maps a Dial's network to the one the backend connects with,
// and wraps h (the handler the dialed conn has: the root handler or
// DialHandler's) in the layers the network asks for: "tls" dials tcp and
// "tls+unix" dials unix, with a TLS client layer that verifies the server
// as WithDialTLS's config says (by default, the host's name against the
// system's roots). Other networks pass unchanged, with h.
func (f *front) dialLayers(network, address string, h Handler) (string, Handler, error) {
	var transport string
	switch network {
	case "tls":
		transport = "tcp"
	case "tls+unix":
		transport = "unix"
	default:
		return network, h, nil
	}
	o := f.o
	name := ""
	if transport == "tcp" {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return "", nil, fmt.Errorf("%w: dial %s %q: %v", ErrBadAddress, network, address, err)
		}
		if o.DialTLS == nil || o.DialTLS.ServerName == "" {
			name = host
		}
	}
	if h == nil {
		h = f.root
	}
	return transport, NewTLSClient(h, o.DialTLS, name, f.tlsOptions()), nil
}

// tlsOptions are the bounds of the engine's TLS layers: one handshake cap
// and one set of counters for all of them, and the engine's state.
func (f *front) tlsOptions() TLSOptions {
	o := f.o
	t := TLSOptions{MaxInbound: o.MaxInbound, WriteHigh: o.WriteHigh, Logger: o.Logger,
		Counters: &f.tls, engine: f}
	return t.withHandshakeBounds(o.tlsBounds)
}

// WithProxy sets the PROXY protocol layer's options (header timeout, header
// bound, trusted networks, ...) for every listener whose address asks for
// it with ?proxy=required or ?proxy=optional.
func WithProxy(opts ...ProxyOption) Option {
	return func(o *Options) { o.proxy = append(o.proxy, opts...) }
}

// WithTLS serves tls:// and tls+unix:// addresses with cfg, which holds the
// certificate (Certificates, or GetCertificate / GetConfigForClient, which
// is how certificates are reloaded without a restart).
func WithTLS(cfg *tls.Config) Option { return func(o *Options) { o.TLS = cfg } }

// WithDialTLS is the client config of Dial("tls", ...) and Dial("tls+unix",
// ...): roots, client certificates, ALPN. Without it (or with no
// ServerName in it) the server's certificate is verified against the host
// name dialed and the system's roots.
func WithDialTLS(cfg *tls.Config) Option { return func(o *Options) { o.DialTLS = cfg } }
