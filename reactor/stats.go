package reactor

// The counters an engine reports (Engine.Stats): its loops', and its
// layers' (TLS handshakes, PROXY headers).

// Stats are an engine's counters. Loop holds one entry per loop; the other
// fields are their sums.
type Stats struct {
	LoopStats
	Loop []LoopStats
	// TLS counts the handshakes of the engine's TLS layers (tls://
	// listeners and Dial("tls")).
	TLS TLSStats
	// Proxy sums the counters of the PROXY protocol layers of the
	// engine's ?proxy= listeners.
	Proxy ProxyStats
}

// LoopStats are one loop's counters.
type LoopStats struct {
	Open             int64 // conns open now
	Accepted         int64 // conns accepted (and dialed) since start
	Closed           int64 // conns closed since start
	Rejected         int64 // conns closed at once for WithMaxConns
	BytesIn          int64
	BytesOut         int64
	WriteEAGAIN      int64 // writes the kernel did not take whole
	OutboundBuffered int64 // bytes waiting for the kernel now
	Wakeups          int64 // returns from the poller's Wait
	AcceptBackoffs   int64 // times accept paused on EMFILE/ENFILE
	Panics           int64 // callbacks that panicked
	// OutboundOverflows counts conns closed with conn.ErrOutboundTooLarge:
	// a write would have buffered more than WithMaxOutbound.
	OutboundOverflows int64
}

// Add adds o's counters to s; backends use it to sum their loops.
func (s *LoopStats) Add(o LoopStats) {
	s.Open += o.Open
	s.Accepted += o.Accepted
	s.Closed += o.Closed
	s.Rejected += o.Rejected
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.WriteEAGAIN += o.WriteEAGAIN
	s.OutboundBuffered += o.OutboundBuffered
	s.Wakeups += o.Wakeups
	s.AcceptBackoffs += o.AcceptBackoffs
	s.Panics += o.Panics
	s.OutboundOverflows += o.OutboundOverflows
}

// TLSStats are a snapshot of TLSCounters.
type TLSStats struct {
	Handshakes           int64 // handshakes completed
	HandshakeFailures    int64 // handshakes that failed or timed out
	HandshakesRejected   int64 // conns closed for MaxHandshakes or MaxHandshakesPerSource
	HandshakesInProgress int64 // handshakes running now
}

// ProxyStats are a ProxyLayer's counters, since it was made.
type ProxyStats struct {
	Headers     int64 // conns opened with a valid header
	Passthrough int64 // conns opened without one (optional mode)
	Malformed   int64 // conns closed for an invalid or truncated header
	Timeouts    int64 // conns closed for a header not complete in time
	Untrusted   int64 // conns refused for an untrusted peer
	Aborted     int64 // conns closed by their peer before sending a byte
}

// add adds o's counters to s: the front sums its PROXY layers.
func (s *ProxyStats) add(o ProxyStats) {
	s.Headers += o.Headers
	s.Passthrough += o.Passthrough
	s.Malformed += o.Malformed
	s.Timeouts += o.Timeouts
	s.Untrusted += o.Untrusted
	s.Aborted += o.Aborted
}
