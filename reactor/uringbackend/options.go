package uringbackend

import "github.com/evloop/evloop/reactor"

// Backend starts engines on io_uring. The zero value is ready to use: New
// with no options.
type Backend struct {
	multishot bool
}

// Option configures the backend (New).
type Option func(*Backend)

// New returns the io_uring backend, for reactor.WithBackend.
func New(opts ...Option) reactor.Backend {
	var b Backend
	for _, o := range opts {
		o(&b)
	}
	return b
}

// WithMultishotReceive arms one multishot receive per conn, which serves
// it until it is paused, closed or has output pending past 64 KiB, instead
// of a receive of one buffer armed after each completion (the default).
//
// It saves an SQE per message, but measured no less CPU per message on
// echo of 64-byte messages here (1 and 16 in flight, within the noise),
// and it is slower for streams: within one io_uring_enter a multishot
// receive takes all a fast peer sends, and echo of 16 KiB messages, 16 in
// flight, ran at about 0.3x the MiB/s of receives of one buffer. So it is
// off by default; docs/backends.md has the figures.
func WithMultishotReceive() Option { return func(b *Backend) { b.multishot = true } }

// Name returns "uring".
func (Backend) Name() string { return "uring" }
