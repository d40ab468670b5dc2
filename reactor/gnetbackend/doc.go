// Package gnetbackend runs a reactor.Handler on github.com/panjf2000/gnet/v2.
//
//	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(gnetbackend.New()))
//
// gnet is linked only into programs that import this package. The handler is
// the same one the native backend runs: gnet's engine and gnet.Conn are
// adapted to reactor.Engine and conn.Conn, and what gnet lacks is either
// emulated on top of it or refused with an error wrapping
// reactor.ErrUnsupported. Nothing is silently ignored.
//
// # Options
//
//	WithLoops(n)          gnet.WithNumEventLoop(n) + WithMulticore(n > 1); n > 256 is refused (gnet's cap)
//	WithLoadBalancing     RoundRobin, LeastConnections, SourceAddrHash
//	WithReusePort         gnet.WithReusePort; gnet drops it when any address is unix, and
//	                      on darwin/netbsd/openbsd with several loops. Port 0 is resolved
//	                      before gnet binds so every loop's listener gets the same port.
//	WithTCPNoDelay        gnet.WithTCPNoDelay(TCPNoDelay|TCPDelay)
//	WithKeepAlive(d)      gnet.WithTCPKeepAlive(d) + WithTCPKeepInterval(d), in whole seconds (at least 1)
//	WithReadBufferSize(n) gnet.WithReadBufferCap(n); gnet rounds up to a power of two, at least 1 KiB
//	WithSocketBuffers     gnet.WithSocketRecvBuffer / WithSocketSendBuffer
//	WithTicker            OnTick on gnet's ticker goroutine (see Differences)
//	WithLogger            gnet's logging.Logger adapted to slog; gnet's Info chatter goes to Debug
//	WithIdleTimeout       emulated: a per-conn timer checks the conn on its loop
//	WithMaxConns          emulated: over the cap, the conn is closed in OnOpen before the handler sees it
//	WithMaxInbound        emulated: checked after each OnTraffic; over it the conn closes with conn.ErrInboundTooLarge
//	WithDrainTimeout      bounds the drain after a Shutdown action
//	WithDialTimeout       bounds Engine.Dial
//	WithPoller            Auto, or the poller gnet really uses on this OS (epoll on Linux,
//	                      kqueue on the BSDs and darwin); any other kind: Start fails (ErrUnsupported)
//	WithWriteWatermarks   emulated: above high, input is held back from OnTraffic (gnet reads
//	                      on, into its buffer, bounded by WithMaxInbound); at low, OnDrained
//	                      and then OnTraffic for what was held back.
//	WithSignals           not read by this backend: signal handling belongs to package reactor,
//	                      which must apply it to the Engine any backend returns.
//
// # Addresses
//
// tcp://, tcp4://, tcp6://, udp://, udp4://, udp6:// and unix:///path map to
// gnet's protocol addresses and are served together with gnet.Rotate. A unix
// path containing '?' or '#' cannot pass through gnet's URL parsing and is
// refused with reactor.ErrBadAddress. fifo://, fd:// and systemd:// are
// refused with reactor.ErrUnsupported.
//
// A unix path follows the native backend's rules: a stale socket file is
// replaced, anything else at the path refused, and Stop removes the path
// only while it is still the socket bound. gnet itself removes whatever is
// at its path when it binds and when it stops, so it binds a private name
// beside the path and OnBoot moves the socket into place. Abstract names
// (unix://@name) are refused with reactor.ErrUnsupported: gnet would remove
// a file named "@name" in the working directory.
//
// Engine.Addrs reports the addresses the kernel really bound (port 0
// resolved): gnet does not expose them, so they are read with getsockname on
// a duplicate of each listener (gnet.Engine.DupListener) while OnBoot runs.
//
// # Conn
//
// Read, Peek, Next, Discard, InboundBuffered, Write, Writev and
// OutboundBuffered call gnet.Conn's, with evloop's edge cases fixed up: n == 0
// in Peek, Next and Discard means nothing (gnet treats it as "all"), Read on an
// empty buffer returns conn.ErrNoData (or io.EOF once closed), and Writev does
// not modify the caller's slice. Writev and AsyncWritev pass at most 1024
// buffers to gnet at a time (gnet gives them all to one writev(2), which
// fails past IOV_MAX). AsyncWrite and AsyncWritev hop onto the loop through
// gnet's AsyncWritev of nothing (the high-priority queue, so one goroutine's
// writes stay in order) and write there as Write does, so a write queued
// before ShutdownWrite or a close fails with conn.ErrWriteShut or
// conn.ErrClosed, as on the native backend (gnet's own would write to the
// shut socket and close the conn on EPIPE); the callback gets the evloop
// conn. Wake runs OnTraffic in a
// loop task (gnet.EventLoop.Execute), not through gnet's Wake, whose
// OnTraffic cannot be told from a read's: it is never held back. LocalAddr,
// RemoteAddr and Fd are captured at open.
//
// Emulated on top of gnet:
//   - Close and the Close action flush first: gnet closes at once and drops
//     what the kernel does not take, so the conn stops being served, and its
//     loop polls OutboundBuffered (1 ms, backing off to 10 ms) and closes it
//     once empty.
//   - ShutdownWrite: shutdown(2) with SHUT_WR once output is flushed, polled
//     the same way; later writes fail with conn.ErrWriteShut.
//   - SetIdleTimeout and WithIdleTimeout: a time.AfterFunc per conn posts a
//     check to the conn's loop, which closes it with reactor.ErrIdleTimeout.
//     Activity is what the native backend counts: input once the handler
//     may see it (not input held back, nor input a closing conn drops),
//     writes, and output the kernel takes, seen when the flush poll or the
//     idle check looks (so a conn may live up to one timeout longer).
//   - Write watermarks and reactor.DrainHandler's OnDrained: once a conn's
//     output passes the high watermark, input is no longer handed to
//     OnTraffic, and output is polled the same way; when it is back at the
//     low one, OnDrained runs, then OnTraffic with what arrived meanwhile, a
//     read's worth at a time. Until then every callback (a Wake's OnTraffic,
//     OnDrained, an async write's) sees only the input in front of it.
//   - Context and SetContext keep the handler's value in the adapter; gnet's
//     own context slot holds the adapter, allocated once in OnOpen.
//
// # Lifecycle
//
// OnBoot runs once, on gnet's boot, after every listener is bound and before
// Start returns. OnOpen, OnTraffic and OnClose run on gnet's loops; OnClose
// runs exactly once per opened conn, with nil for a clean EOF or Close and
// the cause otherwise. Callbacks that panic are recovered: the conn closes
// with an error wrapping reactor.ErrPanic and the loop keeps serving.
//
// Stop and the Shutdown action drain as the native backend does: every conn
// is closed once flushed (OnClose each), conns still flushing when the
// deadline passes are closed with its error, then gnet's engine is stopped and
// waited for, OnShutdown runs, and Done is closed. gnet is stopped by shutting
// its TCP listening sockets down (each listener holds one extra fd, a
// duplicate, while the engine runs): gnet.Engine.Stop alone ends the loops
// before the main reactor, and a conn accepted in between would be left open
// with no loop to serve or close it. Unix listeners cannot be stopped that
// way, and keep that race.
//
// Engine.Dial runs on a gnet.Client created on first use, with the same
// handler: the connect runs on a goroutine of its own (bounded by
// WithDialTimeout), then the socket is enrolled into one of the client's
// loops and OnOpen runs there. A dial that fails is reported, as by the
// native backend, with OnClose (no OnOpen) and a *net.OpError wrapping the
// cause (reactor.ErrDialTimeout, reactor.ErrEngineStopped, the connect's
// error); that OnClose runs on the dialing goroutine, not on a loop. Only
// tcp, tcp4, tcp6 and unix can be dialed; other networks return
// ErrUnsupported.
//
// # Differences from the native backend
//
//   - No kernel-level backpressure (see WithWriteWatermarks): gnet keeps
//     reading a conn whose output is past the high watermark, so its input
//     piles up in gnet's buffer, up to WithMaxInbound (then the conn is
//     closed with conn.ErrInboundTooLarge), where the native backend stops
//     reading and lets TCP flow control slow the peer down.
//   - When a peer half-closes or closes, gnet closes the conn at once; output
//     the kernel has not yet taken is written once, nonblocking, and the rest
//     is lost. The native backend flushes it first, and asks an
//     EOFHandler's OnEOF whether to keep the conn open for writing; gnet
//     calls no OnEOF.
//   - A conn closing (Close, or the Close action) with output pending is still
//     read by gnet; what arrives is discarded without calling OnTraffic.
//   - OnTick runs on gnet's ticker goroutine, not on a loop, so it may run at
//     the same time as other callbacks.
//   - During a drain gnet still accepts; new conns are closed at once (the
//     handler never sees them) instead of being refused by a closed listener.
//   - If gnet's engine stops by itself (for example, gnet treats EMFILE from
//     accept as fatal), every conn closes, OnShutdown runs and Done is
//     closed; the native backend backs off and keeps serving.
//   - Stats counts Open, Accepted, Closed, Rejected, BytesIn, Panics and
//     BytesOut (bytes accepted by Write and friends, not yet necessarily taken
//     by the kernel); WriteEAGAIN, OutboundBuffered, Wakeups and
//     AcceptBackoffs stay 0. Stats.Loop has one entry per gnet loop that has
//     served a conn, in order of first use; a panic in OnTick counts in the
//     first entry.
//   - Peek(n) with n above what is buffered returns what there is together
//     with io.ErrShortBuffer, as conn.Conn documents.
//   - udp:// listeners: gnet has no UDP conns, so OnTraffic runs once per
//     datagram with a conn that was never opened and is never closed (no
//     OnOpen, no OnClose, not counted by Conns). Write sends a datagram to the
//     sender; unconsumed bytes are dropped after the callback; AsyncWrite
//     sends at once. Close, ShutdownWrite, SetIdleTimeout and Wake on it
//     return ErrUnsupported, and the Close action is ignored.
//   - gnet keeps one process-wide default logger, which each engine replaces
//     with its own adapter.
//
// # Goroutines
//
// Stop returns after gnet's loop and ticker goroutines have exited. gnet's
// package init starts an ants worker pool that lives for the whole process;
// tests using goleak should ignore
// github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers and
// github.com/panjf2000/ants/v2.(*poolCommon).ticktock.
package gnetbackend
