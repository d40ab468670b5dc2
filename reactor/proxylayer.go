package reactor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
)

// ProxyMode says whether the conns a ProxyLayer serves must start with a
// PROXY protocol header.
type ProxyMode int

const (
	// ProxyRequired closes a conn that does not start with a valid header.
	ProxyRequired ProxyMode = iota + 1
	// ProxyOptional reads a header if the first bytes carry its signature
	// and passes anything else on as data, with the socket's addresses.
	ProxyOptional
)

// String is the mode's name in an address query (?proxy=required).
func (m ProxyMode) String() string {
	switch m {
	case ProxyRequired:
		return "required"
	case ProxyOptional:
		return "optional"
	}
	return "ProxyMode(?)"
}

// ParseProxyMode parses the value of an address's proxy query parameter.
func ParseProxyMode(s string) (ProxyMode, error) {
	switch s {
	case "required":
		return ProxyRequired, nil
	case "optional":
		return ProxyOptional, nil
	}
	return 0, fmt.Errorf("%w: proxy=%q (want required or optional)", ErrBadAddress, s)
}

// Errors a ProxyLayer gives its reject hook (besides the proxyproto errors
// for malformed headers).
var (
	// ErrProxyHeaderTimeout: the header was not complete by its deadline.
	ErrProxyHeaderTimeout = errors.New("reactor: PROXY header timeout")
	// ErrProxyUntrusted: a PROXY header, or in required mode any conn,
	// from a peer outside the trusted networks.
	ErrProxyUntrusted = errors.New("reactor: PROXY header from an untrusted peer")
	// ErrProxyNoTrust: a PROXY layer was configured without saying whom it
	// trusts (WithProxyTrusted or WithProxyTrustAny). NewProxyLayer and
	// Start return it: without a trust list any client that reaches the
	// listener could claim any address.
	ErrProxyNoTrust = errors.New("reactor: PROXY layer without trusted networks")
)

// DefaultProxyHeaderTimeout bounds the wait for a conn's PROXY header.
const DefaultProxyHeaderTimeout = 5 * time.Second

// ProxyOption configures a ProxyLayer.
type ProxyOption func(*proxyConfig)

type proxyConfig struct {
	headerTimeout time.Duration
	idleTimeout   time.Duration
	parser        proxyproto.Parser
	trusted       []netip.Prefix
	trustAny      bool
	log           *slog.Logger
	onReject      func(c conn.Conn, err error)
}

// WithProxyHeaderTimeout bounds the time from accept to a complete header
// (default DefaultProxyHeaderTimeout). It is a deadline, not an idle
// timeout: a peer trickling bytes does not extend it. In optional mode it
// also bounds the wait for the first byte.
func WithProxyHeaderTimeout(d time.Duration) ProxyOption {
	return func(c *proxyConfig) { c.headerTimeout = d }
}

// WithProxyIdleTimeout is the conn's idle timeout once its header is in: the
// layer arms the conn's idle timer for the header deadline, then sets it to
// d (0: none). Give it the engine's WithIdleTimeout.
func WithProxyIdleTimeout(d time.Duration) ProxyOption {
	return func(c *proxyConfig) { c.idleTimeout = d }
}

// WithProxyMaxHeader bounds a version 2 header's length field (default
// proxyproto.DefaultMaxV2Length); version 1 is always at most 107 bytes.
func WithProxyMaxHeader(n int) ProxyOption {
	return func(c *proxyConfig) { c.parser.MaxV2Length = n }
}

// WithProxyMaxTLVs bounds a version 2 header's TLVs (default
// proxyproto.DefaultMaxTLVs); a header with more closes its conn.
func WithProxyMaxTLVs(n int) ProxyOption {
	return func(c *proxyConfig) { c.parser.MaxTLVs = n }
}

// WithProxyTrusted accepts headers only from peers in nets (the load
// balancers' networks). In required mode a conn from elsewhere is closed at
// once; in optional mode it may still send plain data, but a header from it
// closes it. Peers without an IP address (unix sockets) are trusted: only
// processes that may open the socket's file reach them.
//
// A layer needs this or WithProxyTrustAny: NewProxyLayer and Start refuse
// one that says neither (ErrProxyNoTrust), except on a unix:// or
// tls+unix:// listener, which Start trusts as if WithProxyTrustAny.
func WithProxyTrusted(nets ...netip.Prefix) ProxyOption {
	return func(c *proxyConfig) { c.trusted = append(c.trusted, nets...) }
}

// WithProxyTrustAny accepts headers from every peer. Use it only where
// nothing but the balancers can reach the listener (a private network, a
// firewall): any client that connects directly can otherwise claim any
// source address. An empty trust list meant this until ErrProxyNoTrust.
func WithProxyTrustAny() ProxyOption {
	return func(c *proxyConfig) { c.trustAny = true }
}

// WithProxyLogger logs each refused conn at debug level (default: the
// default slog logger).
func WithProxyLogger(l *slog.Logger) ProxyOption {
	return func(c *proxyConfig) { c.log = l }
}

// WithProxyRejectHook calls f on the conn's loop for each conn the layer
// closes before the next handler sees it, with the raw conn and the cause:
// a proxyproto error (malformed header; proxyproto.ErrTruncated if the peer
// closed inside one), ErrProxyHeaderTimeout or ErrProxyUntrusted. f must not
// block.
func WithProxyRejectHook(f func(c conn.Conn, err error)) ProxyOption {
	return func(c *proxyConfig) { c.onReject = f }
}

// ProxyLayer is a Handler that reads a PROXY protocol header at the start
// of each conn and then hands the conn on to the next Handler: next's
// OnOpen runs once the header is consumed, and the conn next sees reports
// the header's addresses from RemoteAddr and LocalAddr (a LOCAL or UNKNOWN
// header keeps the socket's own) and the header from ProxyHeader. A conn
// the layer closes before that never reaches next (no OnOpen, no OnClose).
//
// It uses only the Handler and conn.Conn contracts, so it serves on every
// backend. Put it in front of the handler of the stream listeners that
// receive the protocol (not UDP, not conns the engine dials: a dial that
// fails reaches next's OnClose as it is).
//
// Until the header is in, next knows nothing of the conn; in optional mode
// that includes the wait for the client's first byte, so a protocol where
// the server speaks first (SMTP, SSH) needs ProxyRequired. The engine's load
// balancing chose the conn's loop at accept, from the balancer's address.
type ProxyLayer struct {
	next    Handler
	drainer DrainHandler
	stopper StopHandler // next, if it wants OnStop (a TLS layer)
	eofer   EOFHandler  // next, if it wants OnEOF
	mode    ProxyMode
	cfg     proxyConfig

	headers, passthrough, malformed, timeouts, untrusted, aborted atomic.Int64
}

// NewProxyLayer wraps next in a PROXY protocol layer of the given mode.
func NewProxyLayer(next Handler, mode ProxyMode, opts ...ProxyOption) (*ProxyLayer, error) {
	if mode != ProxyRequired && mode != ProxyOptional {
		return nil, fmt.Errorf("reactor: PROXY layer mode %d", mode)
	}
	l := &ProxyLayer{next: next, mode: mode}
	l.drainer, _ = next.(DrainHandler)
	l.stopper, _ = next.(StopHandler)
	l.eofer, _ = next.(EOFHandler)
	l.cfg.headerTimeout = DefaultProxyHeaderTimeout
	for _, o := range opts {
		o(&l.cfg)
	}
	if l.cfg.headerTimeout <= 0 {
		return nil, fmt.Errorf("reactor: PROXY header timeout %v", l.cfg.headerTimeout)
	}
	if !l.cfg.trustAny && len(l.cfg.trusted) == 0 {
		return nil, fmt.Errorf("%w: say whom to trust, WithProxyTrusted(balancers' networks...) or WithProxyTrustAny()", ErrProxyNoTrust)
	}
	if l.cfg.log == nil {
		l.cfg.log = slog.Default()
	}
	return l, nil
}

// Stats returns the layer's counters; safe from any goroutine.
func (l *ProxyLayer) Stats() ProxyStats {
	return ProxyStats{
		Headers:     l.headers.Load(),
		Passthrough: l.passthrough.Load(),
		Malformed:   l.malformed.Load(),
		Timeouts:    l.timeouts.Load(),
		Untrusted:   l.untrusted.Load(),
		Aborted:     l.aborted.Load(),
	}
}

// ProxyHeader returns the PROXY header a conn was opened with, nil if it
// had none (or is not served by a ProxyLayer). A conn type that wraps
// another can forward it by implementing ProxyInfo.
func ProxyHeader(c conn.Conn) *proxyproto.Header {
	if p, ok := c.(ProxyInfo); ok {
		return p.ProxyHeader()
	}
	return nil
}

// ProxyInfo is implemented by conns that know their PROXY header.
type ProxyInfo interface {
	ProxyHeader() *proxyproto.Header
}

// OnBoot implements Handler.
func (l *ProxyLayer) OnBoot(e Engine) Action { return l.next.OnBoot(e) }

// OnTick implements Handler.
func (l *ProxyLayer) OnTick() (time.Duration, Action) { return l.next.OnTick() }

// OnShutdown implements Handler.
func (l *ProxyLayer) OnShutdown(e Engine) { l.next.OnShutdown(e) }

// OnOpen implements Handler: it starts waiting for the header.
func (l *ProxyLayer) OnOpen(raw conn.Conn) Action {
	pc := &proxyConn{raw: raw, layer: l}
	raw.SetContext(pc)
	pc.trusted = l.trusts(raw.RemoteAddr())
	if !pc.trusted && l.mode == ProxyRequired {
		l.untrusted.Add(1)
		return pc.reject(ErrProxyUntrusted)
	}
	pc.deadline = time.Now().Add(l.cfg.headerTimeout)
	raw.SetIdleTimeout(l.cfg.headerTimeout)
	if raw.InboundBuffered() > 0 {
		return pc.readHeader()
	}
	return None
}

// OnTraffic implements Handler.
func (l *ProxyLayer) OnTraffic(raw conn.Conn) Action {
	pc, ok := raw.Context().(*proxyConn)
	if !ok {
		return l.next.OnTraffic(raw)
	}
	if pc.state == proxyOpen {
		return l.next.OnTraffic(pc)
	}
	if pc.state == proxyMoving {
		return pc.open()
	}
	if pc.state == proxyRejected {
		raw.Discard(-1)
		return None
	}
	return pc.readHeader()
}

// OnClose implements Handler: next hears only of conns it saw open.
func (l *ProxyLayer) OnClose(raw conn.Conn, err error) {
	pc, ok := raw.Context().(*proxyConn)
	if !ok {
		// Never opened through the layer (a dial that failed).
		l.next.OnClose(raw, err)
		return
	}
	switch pc.state {
	case proxyOpen:
		l.next.OnClose(pc, err)
	case proxyMoving:
		l.aborted.Add(1) // closed (the engine stopping) before it could open
	case proxyAwaiting:
		pc.state = proxyRejected
		switch {
		case errors.Is(err, ErrIdleTimeout):
			l.timeouts.Add(1)
			l.rejected(raw, ErrProxyHeaderTimeout)
		case pc.seen:
			l.malformed.Add(1)
			l.rejected(raw, fmt.Errorf("%w: closed inside the header (%v)", proxyproto.ErrTruncated, err))
		default:
			l.aborted.Add(1)
		}
	}
}

// OnDrained implements DrainHandler.
func (l *ProxyLayer) OnDrained(raw conn.Conn) Action {
	if l.drainer == nil {
		return None
	}
	if pc, ok := raw.Context().(*proxyConn); ok {
		if pc.state != proxyOpen {
			return None
		}
		return l.drainer.OnDrained(pc)
	}
	return l.drainer.OnDrained(raw)
}

// OnEOF implements EOFHandler: it is next's, for conns next saw open (or
// passed through); else the conn closes, as without OnEOF.
func (l *ProxyLayer) OnEOF(raw conn.Conn) Action {
	if l.eofer == nil {
		return Close
	}
	if pc, ok := raw.Context().(*proxyConn); ok {
		if pc.state != proxyOpen {
			return Close
		}
		return l.eofer.OnEOF(pc)
	}
	return l.eofer.OnEOF(raw)
}

// OnStop implements StopHandler: it is next's, for conns next saw open.
func (l *ProxyLayer) OnStop(raw conn.Conn) {
	if l.stopper == nil {
		return
	}
	if pc, ok := raw.Context().(*proxyConn); ok {
		if pc.state == proxyOpen {
			l.stopper.OnStop(pc)
		}
		return
	}
	l.stopper.OnStop(raw)
}

func (l *ProxyLayer) trusts(a net.Addr) bool {
	if l.cfg.trustAny {
		return true
	}
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	default:
		return true // a unix socket: reachable only through the file system
	}
	ip = ip.Unmap()
	for _, p := range l.cfg.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *ProxyLayer) rejected(raw conn.Conn, err error) {
	l.cfg.log.Debug("PROXY layer refused a conn", "remote", raw.RemoteAddr(), "err", err)
	if l.cfg.onReject != nil {
		l.cfg.onReject(raw, err)
	}
}
