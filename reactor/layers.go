package reactor

import (
	"fmt"
	"sync"
)

// layered returns the handler for the conns of a: h, wrapped by the layers
// a asks for. It is where a layer is attached to a listener. The PROXY
// header comes first on the wire, so its layer is the outermost; the debug
// log of conns is the innermost, to show what the handler sees.
func layered(a Addr, h Handler, o *Options) (Handler, error) {
	h = withConnLog(h, o.Logger)
	if m := a.Query.Get("proxy"); a.Query.Has("proxy") {
		mode, err := ParseProxyMode(m)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, a)
		}
		opts := append([]ProxyOption{WithProxyIdleTimeout(o.IdleTimeout), WithProxyLogger(o.Logger)}, o.proxy...)
		pl, err := NewProxyLayer(h, mode, opts...)
		if err != nil {
			return nil, err
		}
		o.layers.addProxy(pl)
		h = pl
	}
	return h, nil
}

// layerSet is what an engine's layers count, for Stats.
type layerSet struct {
	mu      sync.Mutex
	proxies []*ProxyLayer
}

func (ls *layerSet) addProxy(p *ProxyLayer) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.proxies = append(ls.proxies, p)
}

// AddLayerStats adds the counters of the engine's protocol layers (the
// PROXY protocol's) to s. Backends call it from Engine.Stats.
func (o *Options) AddLayerStats(s *Stats) {
	ls := &o.layers
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, p := range ls.proxies {
		s.Proxy.add(p.Stats())
	}
}

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
