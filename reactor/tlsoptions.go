package reactor

import (
	"log/slog"
	"time"
)

// TLSOptions bound and observe a TLSLayer. The zero value gives the
// defaults.
type TLSOptions struct {
	// HandshakeTimeout bounds each handshake from the conn's open (default
	// DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// HandshakeFirstByteTimeout bounds the wait for the peer's first byte
	// of the handshake, from the conn's open, within HandshakeTimeout: a
	// peer that sends nothing gives its slot back sooner (default
	// DefaultHandshakeFirstByteTimeout; negative: HandshakeTimeout only).
	HandshakeFirstByteTimeout time.Duration
	// MaxHandshakes caps handshakes in progress over all layers sharing
	// Counters (default DefaultMaxHandshakes; negative: no cap).
	MaxHandshakes int
	// MaxHandshakesPerSource caps a server's handshakes in progress from
	// one source, an IPv4 address or an IPv6 /64, over all layers sharing
	// Counters; peers without an IP address (unix sockets) are not bound
	// by it (default: a quarter of MaxHandshakes, at least 1, and none
	// without MaxHandshakes; negative: no per-source cap). Client layers
	// ignore it.
	MaxHandshakesPerSource int
	// MaxInbound caps decrypted bytes the handler leaves unconsumed; past it
	// the conn is closed with conn.ErrInboundTooLarge (0: no cap), as
	// WithMaxInbound does for plaintext conns.
	MaxInbound int
	// WriteHigh is the engine's high watermark (WithWriteWatermarks): a
	// backlog of received records is decrypted no faster than the raw
	// conn's output drains below it (default DefaultWriteHigh).
	WriteHigh int
	// Logger receives handshake failures at debug level (default
	// slog.Default()).
	Logger *slog.Logger
	// Counters is where the layer counts; layers that share one share the
	// handshake cap (nil: the layer's own).
	Counters *TLSCounters

	// engine is the engine the layer serves, if reactor attached it (nil:
	// never stopping).
	engine tlsEngine
}

// tlsEngine is what a TLS layer asks of the engine it serves in.
type tlsEngine interface {
	// stopping: the engine has begun to stop, so a conn it closes without
	// OnStop (at once, past the drain deadline) sent no close_notify, and
	// its peer's EOF is no truncation.
	stopping() bool
	// drainingOnly: the engine drains (Drain) and a conn told so by
	// OnStop serves on, so no close_notify goes out yet.
	drainingOnly() bool
}

// neverStopping is the tlsEngine of a layer made outside an engine's Start.
type neverStopping struct{}

func (neverStopping) stopping() bool     { return false }
func (neverStopping) drainingOnly() bool { return false }

// Defaults of TLSOptions.
const (
	DefaultHandshakeTimeout          = 10 * time.Second
	DefaultHandshakeFirstByteTimeout = 5 * time.Second
	DefaultMaxHandshakes             = 4096
)
