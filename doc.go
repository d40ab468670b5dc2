// Package evloop is an embeddable event-loop (reactor) framework for Go.
//
// One goroutine per loop waits on a readiness poller (epoll, poll(2) or
// kqueue), owns a set of nonblocking file descriptors, and calls the
// application's reactor.Handler when bytes arrive, when a connection opens or
// closes, and on timers. The same handler runs unchanged on gnet/v2 through
// package reactor/gnetbackend.
//
// Start with package reactor: write a Handler (embed reactor.BaseHandler and
// override OnTraffic), then serve it with reactor.Run, which blocks, or
// reactor.Start, which returns the running Engine. ExampleStart, ExampleRun
// and ExampleEngine_Dial there are runnable; the repository's README and
// docs/ directory are the manual.
//
// The packages, each one idea:
//
//	poller/        readiness: the Poller interface and its epoll, poll(2), kqueue backends
//	conn/          the Conn contract: the interface, its errors, AsyncCallback, TLSInfo
//	codec/         framing (line, delimiter, fixed, length-field); depends on conn alone
//	codec/resp/    RESP2 (Redis) requests and replies
//	codec/framed/  runs a handler of whole frames (OnFrame) on an engine
//	proxyproto/    the PROXY protocol v1/v2: incremental parser and encoder
//	fifo/          named-pipe transport: the well-known FIFO handshake and a client Dial
//	reactor/       Handler, Engine, listen specs, options, layers (TLS, PROXY), loops, accept, dial, timers, shutdown
//	reactor/gnetbackend/  the same Handler on gnet/v2
//	reactor/systemd/      systemd:// addresses (socket activation), by blank import
//	upgrade/       zero-downtime upgrades: the listening sockets passed to a new process
//	metrics/prom/  Engine.Stats as a Prometheus collector
//	internal/fdconn/      the native conn over nonblocking fds (seen only by reactor)
//	examples/      echo, chat and kv servers
//	bench/         the load generator and side-by-side comparison
//
// This package holds only documentation and the end-to-end test suite.
package evloop
