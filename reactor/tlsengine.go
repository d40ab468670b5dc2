package reactor

import "time"

// The engine's bounds on the handshakes of its TLS layers (tls:// and
// tls+unix:// listeners, Dial("tls")), which share one cap.

// WithTLSHandshakeTimeout bounds each TLS handshake of the engine's layers:
// whole from the conn's open (default DefaultHandshakeTimeout), and
// firstByte the wait for the peer's first byte (default
// DefaultHandshakeFirstByteTimeout; negative: whole only). Past either the
// conn is closed (a dial fails with ErrHandshakeTimeout). Zero keeps a
// default.
func WithTLSHandshakeTimeout(whole, firstByte time.Duration) Option {
	return func(o *Options) {
		o.tlsBounds.HandshakeTimeout, o.tlsBounds.HandshakeFirstByteTimeout = whole, firstByte
	}
}

// WithTLSMaxHandshakes caps the TLS handshakes in progress over all the
// engine's layers (default DefaultMaxHandshakes; negative: no cap), and
// those of its tls:// listeners from one source address, an IPv4 address or
// an IPv6 /64 (default a quarter of total; negative: no per-source cap). A
// conn over either cap is closed at once, before its handshake, and counted
// in Stats().TLS.HandshakesRejected. Zero keeps a default.
func WithTLSMaxHandshakes(total, perSource int) Option {
	return func(o *Options) {
		o.tlsBounds.MaxHandshakes, o.tlsBounds.MaxHandshakesPerSource = total, perSource
	}
}

// withHandshakeBounds is t with the handshake bounds of b.
func (t TLSOptions) withHandshakeBounds(b TLSOptions) TLSOptions {
	t.HandshakeTimeout, t.HandshakeFirstByteTimeout = b.HandshakeTimeout, b.HandshakeFirstByteTimeout
	t.MaxHandshakes, t.MaxHandshakesPerSource = b.MaxHandshakes, b.MaxHandshakesPerSource
	return t
}
