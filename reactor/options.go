package reactor

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/evloop/evloop/poller"
)

// LoadBalancing picks the loop that serves a newly accepted conn.
type LoadBalancing int

// Load-balancing strategies.
const (
	RoundRobin LoadBalancing = iota // each loop in turn
	LeastConns                      // the loop with the fewest open conns
	SourceHash                      // a hash of the peer address: one peer, one loop
)

// Defaults, also listed in the table of docs/limits.md.
const (
	DefaultReadBufferSize = 64 << 10 // bytes read per read(2) call
	DefaultWriteLow       = 256 << 10
	DefaultWriteHigh      = 1 << 20
	DefaultMaxInbound     = 64 << 20 // unconsumed inbound bytes per conn
	DefaultDrainTimeout   = 5 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	// DefaultLingerTimeout: see WithLingerTimeout.
	DefaultLingerTimeout = 2 * time.Second
)

// DefaultMaxOutbound bounds the output one conn may buffer (see
// WithMaxOutbound): 64 times the high watermark, so a handler that heeds
// backpressure never meets it, and as much as a conn may buffer inbound.
const DefaultMaxOutbound = 64 << 20

// Options is the resolved configuration an engine starts with. Backends read
// it; applications set it with Option functions.
type Options struct {
	Loops          int
	Backend        Backend
	Poller         poller.Kind
	LoadBalancing  LoadBalancing
	ReusePort      bool
	TCPNoDelay     bool
	KeepAlive      time.Duration
	ReadBufferSize int
	WriteLow       int
	WriteHigh      int
	IdleTimeout    time.Duration
	MaxConns       int
	MaxInbound     int
	MaxOutbound    int
	Ticker         bool
	Logger         *slog.Logger
	Signals        []os.Signal
	DrainTimeout   time.Duration
	DialTimeout    time.Duration
	LingerTimeout  time.Duration
	SocketRecvBuf  int
	SocketSendBuf  int
	BusyPoll       time.Duration

	// TLS serves tls:// addresses (WithTLS); DialTLS is Dial("tls")'s
	// client config (WithDialTLS).
	TLS, DialTLS *tls.Config

	proxy []ProxyOption // WithProxy

	// tlsBounds holds the handshake bounds of WithTLSHandshakeTimeout and
	// WithTLSMaxHandshakes.
	tlsBounds TLSOptions
}

// Option sets one field of Options.
type Option func(*Options)

// NewOptions applies opts over the defaults.
func NewOptions(opts ...Option) *Options {
	o := &Options{
		Loops:          runtime.NumCPU(),
		TCPNoDelay:     true,
		ReadBufferSize: DefaultReadBufferSize,
		WriteLow:       DefaultWriteLow,
		WriteHigh:      DefaultWriteHigh,
		MaxInbound:     DefaultMaxInbound,
		MaxOutbound:    DefaultMaxOutbound,
		DrainTimeout:   DefaultDrainTimeout,
		DialTimeout:    DefaultDialTimeout,
		LingerTimeout:  DefaultLingerTimeout,
	}
	for _, opt := range opts {
		opt(o)
	}
	if o.Loops < 1 {
		o.Loops = 1
	}
	if o.ReadBufferSize < 512 {
		o.ReadBufferSize = 512
	}
	if o.WriteHigh < 1 {
		o.WriteHigh = DefaultWriteHigh
	}
	if o.WriteLow < 0 || o.WriteLow > o.WriteHigh {
		o.WriteLow = o.WriteHigh / 4
	}
	if o.LingerTimeout <= 0 {
		o.LingerTimeout = DefaultLingerTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// WithLoops sets the number of event loops (default runtime.NumCPU()).
func WithLoops(n int) Option { return func(o *Options) { o.Loops = n } }

// WithBackend runs the engine on another backend, such as gnetbackend.New().
func WithBackend(b Backend) Option { return func(o *Options) { o.Backend = b } }

// WithPoller selects the readiness API of the native backend (default Auto).
func WithPoller(k poller.Kind) Option { return func(o *Options) { o.Poller = k } }

// WithLoadBalancing picks how accepted conns are spread over loops.
func WithLoadBalancing(lb LoadBalancing) Option { return func(o *Options) { o.LoadBalancing = lb } }

// WithReusePort gives every loop its own SO_REUSEPORT listener, so the kernel
// spreads conns; load balancing is then the kernel's.
func WithReusePort(on bool) Option { return func(o *Options) { o.ReusePort = on } }

// WithTCPNoDelay sets TCP_NODELAY on TCP conns (default on, as in package net).
func WithTCPNoDelay(on bool) Option { return func(o *Options) { o.TCPNoDelay = on } }

// WithKeepAlive enables TCP keep-alive probes with period d (0: off).
func WithKeepAlive(d time.Duration) Option { return func(o *Options) { o.KeepAlive = d } }

// WithReadBufferSize sets how many bytes one read(2) may bring in (default 64 KiB).
func WithReadBufferSize(n int) Option { return func(o *Options) { o.ReadBufferSize = n } }

// WithWriteWatermarks sets backpressure: above high buffered outbound bytes
// the loop stops reading the conn until output falls below low.
func WithWriteWatermarks(low, high int) Option {
	return func(o *Options) { o.WriteLow, o.WriteHigh = low, high }
}

// WithIdleTimeout closes conns after d without traffic (0: never).
func WithIdleTimeout(d time.Duration) Option { return func(o *Options) { o.IdleTimeout = d } }

// WithMaxConns caps open conns (0: no cap); conns over the cap are accepted
// and closed at once, before OnOpen.
func WithMaxConns(n int) Option { return func(o *Options) { o.MaxConns = n } }

// WithMaxInbound caps unconsumed inbound bytes per conn; a peer past it is
// closed with conn.ErrInboundTooLarge (default 64 MiB; 0: no cap).
func WithMaxInbound(n int) Option { return func(o *Options) { o.MaxInbound = n } }

// WithMaxOutbound caps the output a conn may buffer, waiting for its peer to
// read it (default DefaultMaxOutbound, 64 MiB; 0 or less: no cap), as
// redis's client-output-buffer-limit does. A Write, Writev or async write
// that would leave more buffered fails with conn.ErrOutboundTooLarge, and
// the conn is closed at once with that cause: what it has buffered is
// dropped (the peer may have received the start of the failed write, as
// much as the kernel took). LoopStats.OutboundOverflows counts such closes.
// For a TLS conn the bound is on the ciphertext.
//
// The high watermark (WithWriteWatermarks) keeps a handler that writes in
// answer to input below the cap: reading stops above it. The cap is for
// what backpressure does not stop: one reply far larger than the peer
// reads, or writes that do not wait for input (AsyncWrite from other
// goroutines, a broadcast, OnTick) to a peer that reads slowly or never.
func WithMaxOutbound(n int) Option { return func(o *Options) { o.MaxOutbound = n } }

// WithTicker makes the engine call Handler.OnTick.
func WithTicker(on bool) Option { return func(o *Options) { o.Ticker = on } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithSignals makes the engine stop gracefully on any of sigs; a second
// signal forces the stop.
func WithSignals(sigs ...os.Signal) Option { return func(o *Options) { o.Signals = sigs } }

// WithLingerTimeout bounds how long a conn closed gracefully (Close, the
// Close action, a stop) waits, once its output is flushed and its write
// half shut, for the peer's end of stream before its socket is closed
// (default DefaultLingerTimeout; 0: the default). Input that arrives
// meanwhile is discarded: closing a socket with unread input would send the
// peer an RST, and its kernel would drop the reply it has not read yet. A
// peer that closes its end ends the wait at once. Every backend honours it.
func WithLingerTimeout(d time.Duration) Option { return func(o *Options) { o.LingerTimeout = d } }

// WithDrainTimeout bounds how long a graceful stop (Run's, a Shutdown
// action's, a signal's) waits for output to flush (default 5s; 0 or less: no
// bound).
func WithDrainTimeout(d time.Duration) Option { return func(o *Options) { o.DrainTimeout = d } }

// WithDialTimeout bounds Engine.Dial, name lookup included (default 10s; 0
// or less: no bound but the kernel's own connect timeout).
func WithDialTimeout(d time.Duration) Option { return func(o *Options) { o.DialTimeout = d } }

// WithSocketBuffers sets SO_RCVBUF and SO_SNDBUF on new sockets (0: kernel default).
func WithSocketBuffers(recv, send int) Option {
	return func(o *Options) { o.SocketRecvBuf, o.SocketSendBuf = recv, send }
}

// WithBusyPoll makes each loop of the native and io_uring backends poll
// without blocking for up to d after its last event before it sleeps in
// the kernel
// (default 0: it sleeps as soon as a poll finds nothing; 0 or less: off).
//
// A request that arrives within d then finds the loop awake: neither side
// pays for waking the loop's thread, which a peer on another CPU pays in
// its own CPU time (on a virtual machine a wakeup is an inter-processor
// interrupt, and an exit to the hypervisor). A loop serving a steady stream
// of small requests, such as redis-benchmark at -P 1, then handles more of
// them per second; the cost is up to d of CPU per quiet moment, spent even
// when no request comes. Values of 20 to 100 microseconds suit loopback and
// local networks. An io_uring loop looks with io_uring_enter calls that do
// not wait. The gnet backend refuses it (gnet's loop blocks in its own
// epoll_wait).
func WithBusyPoll(d time.Duration) Option { return func(o *Options) { o.BusyPoll = max(d, 0) } }

// DrainDeadline is when a graceful stop starting now gives up waiting for
// output: now plus DrainTimeout, or the zero Time (no bound).
func (o *Options) DrainDeadline() time.Time {
	if o.DrainTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(o.DrainTimeout)
}

// DrainContext is the context for a graceful stop starting now: bounded by
// DrainTimeout, if it is positive.
func (o *Options) DrainContext() (context.Context, context.CancelFunc) {
	return withDeadline(context.Background(), o.DrainDeadline())
}

// DialDeadline is when a dial starting now times out, or the zero Time.
func (o *Options) DialDeadline() time.Time {
	if o.DialTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(o.DialTimeout)
}

// withDeadline is context.WithDeadline, where the zero Time means none.
func withDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	if d.IsZero() {
		return context.WithCancel(parent)
	}
	return context.WithDeadline(parent, d)
}
