package reactor

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/evloop/evloop/conn"
)

// layered returns the address the backend binds for a, and the handler for
// its conns: h, wrapped by the layers a asks for. It is where a layer is
// attached to a listener. Layers nest in wire order: the PROXY header comes
// before any TLS byte, so its layer is the outermost; the debug log of
// conns is the innermost, to show what the handler sees.
func layered(a Addr, h Handler, o *Options) (Addr, Handler, error) {
	h = withConnLog(h, o.Logger)
	if tr, ok := a.tlsTransport(); ok {
		if o.TLS == nil {
			return a, nil, fmt.Errorf("%w: %s needs a certificate: WithTLS(cfg)", ErrBadAddress, a)
		}
		h = NewTLSServer(h, o.TLS, o.tlsOptions())
		a = tr
	}
	if m := a.Query.Get("proxy"); a.Query.Has("proxy") {
		mode, err := ParseProxyMode(m)
		if err != nil {
			return a, nil, fmt.Errorf("%w (in %s)", err, a)
		}
		opts := append([]ProxyOption{WithProxyIdleTimeout(o.IdleTimeout), WithProxyLogger(o.Logger)}, o.proxy...)
		pl, err := NewProxyLayer(h, mode, opts...)
		if err != nil {
			return a, nil, err
		}
		o.layers.addProxy(pl)
		h = pl
	}
	return a, h, nil
}

// DialLayers is for backends: it maps a Dial's network to the one the
// backend connects with, and wraps h (the handler the dialed conn would
// have: the root handler or DialHandler's) in the layers the network asks
// for: "tls" dials tcp and "tls+unix" dials unix, with a TLS client layer
// that verifies the server as WithDialTLS's config says (by default, the
// host's name against the system's roots).
func (o *Options) DialLayers(network, address string, h Handler) (string, Handler, error) {
	var transport string
	switch network {
	case "tls":
		transport = "tcp"
	case "tls+unix":
		transport = "unix"
	default:
		return network, h, nil
	}
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
	return transport, NewTLSClient(h, o.DialTLS, name, o.tlsOptions()), nil
}

// tlsOptions are the bounds of the engine's TLS layers: one handshake cap
// and one set of counters for all of them.
func (o *Options) tlsOptions() TLSOptions {
	t := TLSOptionsFrom(o).withHandshakeBounds(o.tlsBounds)
	t.Counters = &o.layers.tls
	t.engineStopping = o.stopping
	return t
}

// StopHandler is an optional Handler extension for protocol layers. When
// the engine stops (Stop, or a Shutdown action) and closes its open conns
// once flushed, it first calls OnStop on each, on its loop: the layer's
// last word (TLS's close_notify) then goes out ahead of the close, as with
// Close. Conns the stop closes at once (past the drain deadline) get no
// OnStop.
type StopHandler interface {
	OnStop(c conn.Conn)
}

// layerSet is what an engine's layers count, for Stats.
type layerSet struct {
	mu       sync.Mutex
	proxies  []*ProxyLayer
	tls      TLSCounters
	stopping atomic.Bool // see BeginStop
}

func (ls *layerSet) addProxy(p *ProxyLayer) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.proxies = append(ls.proxies, p)
}

// AddLayerStats adds the counters of the engine's protocol layers (TLS and
// the PROXY protocol) to s. Backends call it from Engine.Stats.
func (o *Options) AddLayerStats(s *Stats) {
	ls := &o.layers
	s.TLS = ls.tls.Stats()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, p := range ls.proxies {
		s.Proxy.add(p.Stats())
	}
}

// BeginStop is for backends: they call it when a stop begins. The layers
// then know that a conn closed without a word from its peer was closed by
// the engine, not cut short by the peer (a TLS conn is not truncated).
func (o *Options) BeginStop() { o.layers.stopping.Store(true) }

func (o *Options) stopping() bool { return o.layers.stopping.Load() }

func (s *ProxyStats) add(o ProxyStats) {
	s.Headers += o.Headers
	s.Passthrough += o.Passthrough
	s.Malformed += o.Malformed
	s.Timeouts += o.Timeouts
	s.Untrusted += o.Untrusted
	s.Aborted += o.Aborted
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
