package reactor

import (
	"crypto/tls"
	"fmt"
	"net"
)

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
		pl, err := NewProxyLayer(h, mode, opts...)
		if err != nil {
			return a, nil, err
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
	return TLSOptions{MaxInbound: o.MaxInbound, WriteHigh: o.WriteHigh, Logger: o.Logger,
		Counters: &f.tls, engine: f}
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

// WithTLS serves tls:// and tls+unix:// addresses with cfg, which holds the
// certificate (Certificates, or GetCertificate / GetConfigForClient, which
// is how certificates are reloaded without a restart).
func WithTLS(cfg *tls.Config) Option { return func(o *Options) { o.TLS = cfg } }

// WithDialTLS is the client config of Dial("tls", ...) and Dial("tls+unix",
// ...): roots, client certificates, ALPN. Without it (or with no
// ServerName in it) the server's certificate is verified against the host
// name dialed and the system's roots.
func WithDialTLS(cfg *tls.Config) Option { return func(o *Options) { o.DialTLS = cfg } }
