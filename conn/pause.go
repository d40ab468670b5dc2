package conn

// ReadPauser is a conn whose reading can be paused: input backpressure. A
// handler that cannot take more input now (a request body streamed to a
// consumer that is behind) pauses the conn, and the peer's sends then fill
// the kernel's buffers and the peer's TCP window instead of the process's
// memory. Call it on the conn's loop, as the other methods. The conns of
// the native and io_uring backends implement it, and the TLS and PROXY
// layers pass it on to the conn under them; gnet's conns do not (gnet reads
// whatever arrives), so a handler type-asserts and has a fallback.
//
// Pausing is the application's and independent of the engine's own
// backpressure on output (the watermarks): reading runs only when neither
// holds it.
type ReadPauser interface {
	// PauseRead stops reading: nothing more is taken from the socket, and
	// no OnTraffic comes for new input, until ResumeRead. Input already
	// buffered stays buffered, and the peer's end of stream is seen only
	// once reading resumes. A paused conn still writes, and its idle
	// timeout still runs.
	PauseRead() error
	// ResumeRead takes reading up again. If input is buffered, an
	// OnTraffic follows, as after Wake.
	ResumeRead() error
}
