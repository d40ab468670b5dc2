package conn

// LoopYielder is a conn whose loop can give its processor to the goroutines
// that the running callback made runnable, such as a worker it handed a
// request: they run now on the loop's processor while the loop waits in
// the runtime's queue, where otherwise the Go runtime would wake another
// thread to take them over. On a virtual machine such a wakeup costs
// microseconds of CPU: the net/http adapter (http1.NetHTTP) yields after
// each request it hands to a worker, and served 1.17-1.32x the requests
// per second at 0.86x the CPU per request under wrk's json load (256
// conns, native backend, 2 cores).
//
// The conns of the native and gnet backends implement it, and the TLS and
// PROXY layers pass it on to the conn under them (doing nothing if that
// one does not implement it). The io_uring backend's conns do not: its
// loop is locked to its OS thread, which would hand the processor over and
// take it back, two thread switches. Call it on the conn's loop, from a
// callback, when a goroutine is waiting to run: it costs a trip through
// the scheduler.
type LoopYielder interface {
	YieldLoop()
}
