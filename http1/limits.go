package http1

import "time"

// Limits bound what one request may make the server hold or wait for. A
// zero field takes its default (the Default* constants); the README's
// limits table lists them.
type Limits struct {
	// MaxTargetBytes caps the request-target; past it: 414.
	MaxTargetBytes int
	// MaxHeaderBytes caps the request head (request line, fields and the
	// empty line; leading empty lines count) and, separately, a chunked
	// body's trailer section; past it: 431.
	MaxHeaderBytes int
	// MaxHeaderFields caps the number of field lines in the head (and in
	// the trailers); past it: 431.
	MaxHeaderFields int
	// MaxBodyBytes caps a body, declared (Content-Length) or decoded
	// (chunked); past it: 413. Bodies are held whole until the handler
	// runs, so this bounds the memory of one request.
	MaxBodyBytes int64
	// MaxChunkLineBytes caps one chunk-size line with its extensions; past
	// it: 400.
	MaxChunkLineBytes int
	// MaxPipeline caps the requests of one conn that are read but not yet
	// answered; the conn stops reading until one is (conn.ReadPauser: on
	// gnet the further requests wait in its buffer, within MaxInbound).
	MaxPipeline int
	// HeaderTimeout is a deadline from a request's first byte to the end of
	// its head (a client sending a byte a second is closed at it: slowloris).
	HeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive conn that sends no next request.
	IdleTimeout time.Duration
	// BodyTimeout closes a conn whose body makes no progress for this long
	// while the server waits for it.
	BodyTimeout time.Duration
	// MaxOutbound is the buffered response bytes of a conn past which it
	// parses no further requests until they drain (a client that never
	// reads its responses; one that reads nothing for IdleTimeout is
	// closed). Keep it at or above the engine's high write watermark
	// (reactor.WithWriteWatermarks): reading resumes at the low one.
	MaxOutbound int
}

// Defaults of Limits.
const (
	DefaultMaxTargetBytes    = 8 << 10
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxHeaderFields   = 100
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxChunkLineBytes = 4 << 10
	DefaultMaxPipeline       = 64
	DefaultHeaderTimeout     = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultMaxOutbound       = 1 << 20
	// maxMethodBytes: no method this server could implement is longer.
	maxMethodBytes = 32
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxTargetBytes, DefaultMaxTargetBytes)
	def(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&l.MaxHeaderFields, DefaultMaxHeaderFields)
	def(&l.MaxChunkLineBytes, DefaultMaxChunkLineBytes)
	def(&l.MaxPipeline, DefaultMaxPipeline)
	def(&l.MaxOutbound, DefaultMaxOutbound)
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&l.HeaderTimeout, DefaultHeaderTimeout)
	dur(&l.IdleTimeout, DefaultIdleTimeout)
	dur(&l.BodyTimeout, DefaultBodyTimeout)
	return l
}
