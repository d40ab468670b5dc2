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

// WithMultishotReceive keeps a multishot receive on every conn, streams
// included, which serves it until it is paused, closed or has output
// pending past 64 KiB.
//
// By default a conn gets a multishot receive until it streams (a receive
// of 8 KiB or more, or output pending past 64 KiB), and receives of one
// buffer, armed after each completion, from then on. Multishot receives
// answer request/response traffic in bursts (kv under redis-benchmark -P
// 16: 1.3-1.7x the requests/s of receives of one buffer), but are slower
// for streams: within one io_uring_enter a multishot receive takes all a
// fast peer sends, and echo of 16 KiB messages, 16 in flight, ran at
// about 0.3x the MiB/s of receives of one buffer with this option.
// docs/backends.md has the figures.
func WithMultishotReceive() Option { return func(b *Backend) { b.multishot = true } }

// Name returns "uring".
func (Backend) Name() string { return "uring" }
