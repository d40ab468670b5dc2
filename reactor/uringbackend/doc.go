// Package uringbackend is an evloop backend on Linux io_uring: one ring per
// loop goroutine, multishot accept, receives into a ring of provided
// buffers (a conn with nothing to read holds no buffer; multishot receives
// with WithMultishotReceive), the sends of a loop iteration submitted
// together in the same io_uring_enter that waits for the next completions,
// and other goroutines' tasks (Wake, AsyncWrite, Close) delivered through
// an eventfd read kept armed in the ring. Select it with
// reactor.WithBackend(uringbackend.New()); the examples take -backend
// uring.
//
// Where io_uring cannot be used (another OS, a kernel without it, a
// seccomp profile that refuses it, kernel.io_uring_disabled set) Start
// fails with an error wrapping reactor.ErrUnsupported that says why;
// nothing falls back to epoll. WithPoller, which it does not serve, fails
// Start the same way. docs/backends.md lists what differs from the native
// backend, and docs/design.md how a completion maps onto the handler.
package uringbackend
