package reactor

import "time"

// The bounds of WithInternetProfile.
const (
	InternetMaxConns       = 10000           // conns open at once (redis's maxclients)
	InternetIdleTimeout    = 2 * time.Minute // without traffic either way
	InternetMaxInbound     = 256 << 10       // unconsumed inbound bytes per conn
	InternetMaxOutbound    = 4 << 20         // buffered outbound bytes per conn
	InternetWriteLow       = 16 << 10        // backpressure ends below this
	InternetWriteHigh      = 48 << 10        // backpressure begins above this
	InternetReadBufferSize = 16 << 10        // bytes one read(2) may bring in
)

// WithInternetProfile sets the bounds for a server that strangers can
// reach, in place of the defaults, which suit a server behind a trusted
// front (no conn cap, no idle timeout, megabytes per conn): WithMaxConns,
// WithIdleTimeout, WithMaxInbound, WithMaxOutbound, WithWriteWatermarks and
// WithReadBufferSize, to the Internet* values. Options after it override
// any of them. The examples serve with it (their -profile flag).
//
// What a conn can make the server hold is then bounded, and so is the
// whole, at InternetMaxConns of them:
//
//   - a silent conn, or one that trickles bytes, holds its conn record
//     (about 1 KiB with the runtime's share) and its input until the
//     handler consumes it, at most InternetMaxInbound; the idle timeout
//     ends the silent ones;
//   - a peer that sends requests and never reads the replies holds at most
//     InternetWriteHigh plus one read's reply (64 KiB for an echo) while
//     reading is paused: the rest waits in kernel buffers, outside the
//     process (on the gnet backend, which reads on, its unread input is
//     held too, up to InternetMaxInbound, where it is closed);
//   - a handler that writes without heeding backpressure (one huge reply,
//     a broadcast) is cut off at InternetMaxOutbound, with
//     conn.ErrOutboundTooLarge.
//
// The smaller watermarks and read buffer cost a busy bulk transfer some
// throughput (more reads and more pauses per megabyte); a server that
// needs it may raise them after this option.
func WithInternetProfile() Option {
	return func(o *Options) {
		o.MaxConns = InternetMaxConns
		o.IdleTimeout = InternetIdleTimeout
		o.MaxInbound = InternetMaxInbound
		o.MaxOutbound = InternetMaxOutbound
		o.WriteLow, o.WriteHigh = InternetWriteLow, InternetWriteHigh
		o.ReadBufferSize = InternetReadBufferSize
	}
}
