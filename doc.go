// Package evloop is an embeddable event-loop (reactor) framework for Go.
//
// One goroutine per loop waits on a readiness poller (epoll, poll(2) or
// kqueue), owns a set of nonblocking file descriptors, and calls the
// application's reactor.Handler when bytes arrive, when a connection opens or
// closes, and on timers. The same handler runs unchanged on gnet/v2 through
// package reactor/gnetbackend.
//
// The packages, each one idea:
//
//	poller/   readiness: the Poller interface and its epoll, poll(2), kqueue backends
//	conn/     the Conn contract: the interface, its errors and AsyncCallback
//	codec/    framing (line, delimiter, fixed, length-field); depends on conn alone
//	codec/resp/    RESP2 (Redis) requests and replies
//	codec/framed/  runs a handler of whole frames (OnFrame) on an engine
//	proxyproto/    the PROXY protocol v1/v2: incremental parser and encoder
//	fifo/     named-pipe transport: the well-known FIFO handshake and a client Dial
//	reactor/  Handler, Engine, listen specs, options, loops, fd watchers, accept, dial, timers, shutdown
//	reactor/gnetbackend/  the same Handler on gnet/v2
//	internal/fdconn/      the native conn over nonblocking fds (seen only by reactor)
//
// This package holds only documentation and the end-to-end test suite.
package evloop
