//go:build linux

package uringbackend

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

// A completion's user data is its kind in the top byte and, below, the id
// of what it is for: a conn (per loop, never reused while the conn has an
// operation in flight) or a listener's index.
const (
	kindAccept = iota + 1
	kindRecv
	kindSend
	kindWake
	kindCancel
	kindPollIn  // a UDP socket's multishot poll for input (id: index in packets)
	kindPollOut // a UDP socket's one-shot poll for output
	kindFIFO    // a well-known FIFO's multishot poll (id: index in fifos)
)

func userData(kind uint8, id uint32) uint64 { return uint64(kind)<<56 | uint64(id) }

const (
	ringEntries = 1024
	// bufCount provided buffers of at most maxBufSize bytes each (less
	// with a smaller WithReadBufferSize): 1 MiB per loop, whatever the
	// number of conns. An incremental ring fills them one after another,
	// so light traffic touches few pages; bulk input in time touches all.
	// Larger buffers would cut the completions of bulk input and add to
	// that memory.
	bufCount   = 64
	maxBufSize = 16 << 10
	// acceptBackoff is the pause of a listener after EMFILE or ENFILE.
	acceptBackoff = 10 * time.Millisecond
	// bulkOutput is the output past which a conn counts as streaming: its
	// multishot receive is cancelled, and receives of one buffer at a
	// time serve it until its output is all sent. A multishot receive
	// takes all a fast peer sends within one io_uring_enter, and the
	// output of handling it all at once grew buffers of hundreds of KiB
	// per conn, allocated and freed again and again: echo of 16 KiB
	// messages, 16 in flight, ran at 0.3x of receives of one buffer.
	bulkOutput = 64 << 10
	// streamInput is the input past which a conn counts as streaming,
	// given to one OnTraffic: from then on its receives take one buffer
	// each (see WithMultishotReceive).
	streamInput = 8 << 10
	// settleWait bounds how long io_uring_enter waits for a completion
	// beyond those its submission posts at once (see run), should one of
	// those come later: a send that finds the socket full after all. It is
	// also how long a busy loop waits before it may sleep (waitTimeout).
	settleWait = 50 * time.Microsecond
	// maxBatchWait bounds the completions an enter waits for beyond
	// those its submission posts (see run). With 100 conns at one
	// message in flight, 4 took the system calls per message from 0.37
	// to 0.20 at no cost in CPU or messages/s.
	maxBatchWait = 4
	// yieldEvery is how often, at most, the loop yields to the scheduler;
	// below the runtime's 10ms forcePreemptNS.
	yieldEvery = 5 * time.Millisecond
	// exitWait bounds how long an exiting loop waits for the kernel to
	// cancel its last operations.
	exitWait = time.Second
)

var clockBase = time.Now()

func monotime() int64 { return int64(time.Since(clockBase)) }

// listener is a listening socket with a multishot accept armed on it.
type listener struct {
	fd      int
	addr    net.Addr // bound
	local   *addrBox // every conn's local address; nil: ask per conn (wildcard bind)
	network string
	unlink  *socket.UnixPath // the unix socket file to remove on close, if still ours
	route   *route
	armed   bool // a multishot accept is in flight
	waiting bool // backing off after EMFILE
	closed  bool
	// shared: inherited (an upgrade's, systemd's), so another process may
	// accept on the same socket: at a stop its backlog is swept and
	// served, not left behind (see sweepBacklog).
	shared bool
}

// loop is one goroutine with one ring and the conns it owns.
type loop struct {
	id  int
	e   *engine
	log *slog.Logger
	r   *ring.Ring
	br  *ring.BufRing

	efd       int
	efdBuf    *[8]byte // the eventfd read's target, written by the kernel
	wakeArmed bool

	mu          sync.Mutex
	tasks       []func()
	spare       []func()
	tasksClosed bool
	pending     atomic.Bool // tasks posted since the loop last took them

	timers    timerHeap
	sweepAt   int // the heap length at which addTimer sweeps it next
	timerSeq  uint64
	conns     connTable
	listeners []*listener
	packets   []*packetConn       // UDP sockets
	fifos     []*fifoListener     // well-known FIFOs (fifo.go)
	dirty     []*uconn            // conns to sync at the end of the iteration
	moveTo    *loop               // the loop a callback asked its conn to move to (move.go)
	moves     []pendingMove       // conns whose receive must end before they move
	pool      []*[]byte           // output buffers for the next writes (getBuf)
	pooled    int                 // bytes of capacity in pool
	handoffs  atomic.Int32        // accepted conns another loop is handing to this one
	closeFds  []int               // fds to close once the cancels naming them are submitted
	peerBuf   unix.RawSockaddrAny // getpeername's scratch
	rest      []byte              // readRest's buffer
	cut       []*uconn            // conns whose OnTraffic waits for the rest of a cut receive
	peerLen   uint32
	backlog   []ring.CQE // completions reaped while the ring was full (getSQE)
	inflight  int        // operations in the ring
	expect    uint32     // completions the next submission posts at once
	batch     uint32     // completions beyond expect the next enter waits for (see run)
	// busy: the last enter gave completions, so the next one waits at
	// most settleWait before one that may sleep for long. As on the native loop, which polls after a
	// busy wakeup, a loop under load then seldom parks its thread: at 1 in
	// flight that took context switches from 0.26 to 0.13-0.16 per message
	// and server CPU per message to about 0.9× of always sleeping (bench,
	// 5 alternating rounds). Only looking (a wait of 0) instead spun: 0.65-
	// 0.80 enters per message against 0.36-0.39, at more CPU per message.
	busy      bool
	spinUntil int64 // monotime until which the loop only looks (WithBusyPoll)
	yieldAt   int64 // monotime of the next runtime.Gosched
	now       int64

	// packetsMore: UDP sockets whose last read stopped at
	// maxDatagramsPerWakeup, read on after the next enter (packet.go).
	packetsMore []*packetConn

	open    atomic.Int64
	dialing atomic.Int32
	stats   counters

	draining bool // no more listening: the loop ends with its last conn
	closing  bool // stopping: conns are closed (else a drain only told them)
	forced   error
	exited   bool
}

type counters struct {
	accepted, closed, rejected, wakeups, backoffs, panics, overflows atomic.Int64
	bytesIn, bytesOut, writeEAGAIN, outbound                         atomic.Int64
}

func newLoop(id int, e *engine) (*loop, error) {
	l := &loop{id: id, e: e, log: e.log.With("loop", id), efd: -1, efdBuf: new([8]byte)}
	var err error
	flags := uint32(ring.SetupCoopTaskrun)
	if singleIssuer {
		flags = ring.SetupSingleIssuer | ring.SetupDeferTaskrun | ring.SetupRDisabled
	}
	l.r, err = ring.New(ringEntries, flags)
	if err != nil {
		return nil, err
	}
	size := e.o.ReadBufferSize
	if size <= 0 || size > maxBufSize {
		size = maxBufSize
	}
	l.br, err = l.r.NewBufRing(0, bufCount, size)
	if err != nil {
		l.release()
		return nil, err
	}
	l.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		l.release()
		return nil, os.NewSyscallError("eventfd", err)
	}
	l.now = monotime()
	return l, nil
}

// release frees the ring, its buffers and the eventfd.
func (l *loop) release() {
	if l.br != nil {
		l.br.Close()
		l.br = nil
	}
	if l.r != nil {
		l.r.Close()
		l.r = nil
	}
	l.mu.Lock()
	if l.efd >= 0 {
		unix.Close(l.efd)
		l.efd = -1
	}
	l.tasksClosed = true
	l.mu.Unlock()
}

// getSQE returns an SQE, submitting what is queued when the ring is full.
// When the kernel takes nothing (its completion queue is full), the ready
// completions are moved to the backlog, which the loop handles before its
// next reap: handling them here could re-enter whatever asked for the SQE.
func (l *loop) getSQE() *ring.SQE {
	for {
		if s := l.r.GetSQE(); s != nil {
			l.inflight++
			return s
		}
		if _, err := l.r.Submit(); err != nil {
			l.log.Error("io_uring submit", "err", err)
		}
		if s := l.r.GetSQE(); s != nil {
			l.inflight++
			return s
		}
		l.r.Reap(func(c ring.CQE) { l.backlog = append(l.backlog, c) })
	}
}

func (l *loop) cancel(ud uint64) {
	l.expect++
	s := l.getSQE()
	s.Opcode, s.Addr, s.UserData = ring.OpAsyncCancel, ud, userData(kindCancel, 0)
}

func (l *loop) armWake() {
	s := l.getSQE()
	s.Opcode, s.Fd, s.Len, s.UserData = ring.OpRead, int32(l.efd), 8, userData(kindWake, 0)
	s.Addr = uint64(uintptr(unsafe.Pointer(&l.efdBuf[0])))
	s.Off = ^uint64(0)
	l.wakeArmed = true
}

func (l *loop) armAccept(i int) {
	ln := l.listeners[i]
	s := l.getSQE()
	s.Opcode, s.Fd, s.Ioprio, s.UserData = ring.OpAccept, int32(ln.fd), ring.AcceptMultishot, userData(kindAccept, uint32(i))
	s.OpFlags = unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK
	ln.armed = true
}

// singleIssuer sets rings up with SINGLE_ISSUER|DEFER_TASKRUN, each loop
// goroutine locked to its OS thread (the ring is enabled from that thread,
// which then is the only one that may submit). Measured against
// COOP_TASKRUN without the lock (bench compare, echo, 100 conns × 64 B, one
// run on the 2 loaded cores): server CPU per message 0.85× at 1 in flight
// and 0.87× at 16 in flight. The completions' task work runs when the loop
// asks for events, not by interrupting it, and the thread stays hot. A
// variable so that the two can be compared again.
var singleIssuer = true

func (l *loop) run() {
	if singleIssuer {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := l.r.EnableRings(); err != nil {
			l.log.Error("io_uring enable", "err", err)
		}
	}
	defer l.exit()
	l.armWake()
	for {
		l.sync()
		if l.draining && l.open.Load() == 0 && l.dialing.Load() == 0 && l.handoffs.Load() == 0 && !l.accepting() {
			return
		}
		if len(l.closeFds) > 0 {
			// The cancels naming these fds go first: a closed fd's number
			// can be reused at once, by this loop's next accept.
			if _, err := l.r.Submit(); err != nil {
				l.log.Error("io_uring submit", "err", err)
			}
			for _, fd := range l.closeFds {
				unix.Close(fd)
			}
			l.closeFds = l.closeFds[:0]
		}
		// The completions of this submission's sends and cancels are
		// posted as it is submitted, so waiting for one completion would
		// return at once, for a second io_uring_enter to wait for input.
		// Waiting for more than those makes one enter per iteration: for
		// as many as the last iteration brought (up to maxBatchWait), so
		// that a busy loop takes its input in batches, but for settleWait
		// at most (min_wait), after which one is enough: a lone conn's
		// request is not kept waiting for others.
		expect := l.expect
		l.expect = 0
		if _, err := l.r.SubmitAndWaitMin(max(l.batch, 1)+expect, settleWait, l.waitTimeout()); err != nil {
			l.log.Error("io_uring_enter failed; loop stops", "err", err)
			l.forceCloseAll(err)
			l.sync()
			return
		}
		l.now = monotime()
		l.stats.wakeups.Add(1)
		more := l.packetsMore
		l.packetsMore = nil
		for len(l.backlog) > 0 {
			b := l.backlog
			l.backlog = nil
			for _, c := range b {
				l.complete(c)
			}
		}
		reaped := l.r.Reap(l.complete)
		l.runCut()
		l.readMorePackets(more)
		l.busy = reaped > 0
		l.batch = uint32(min(max(reaped-int(expect), 1), maxBatchWait))
		if l.busy && l.e.o.BusyPoll > 0 {
			l.spinUntil = l.now + int64(l.e.o.BusyPoll)
		}
		l.runTasks()
		l.runTimers()
		if l.now >= l.yieldAt {
			// As on the native loop (reactor/loop.go, yieldEvery): the
			// loop's enters get their P back on the fast path, so it never
			// passes through the scheduler by itself, and after 10ms sysmon
			// would take it for a long-running goroutine and go back to its
			// 20us tick. A yield every few milliseconds keeps sysmon away.
			l.yieldAt = l.now + int64(yieldEvery)
			runtime.Gosched()
		}
	}
}

// accepting: a listener's accept has not given its last completion yet.
func (l *loop) accepting() bool {
	for _, ln := range l.listeners {
		if ln.armed {
			return true
		}
	}
	return false
}

// waitTimeout is how long io_uring_enter may wait: not at all with tasks
// posted or while busy-polling, settleWait after an iteration with
// completions (busy), until the next timer, or without limit.
func (l *loop) waitTimeout() time.Duration {
	if l.pending.Load() || l.now < l.spinUntil || len(l.packetsMore) > 0 {
		return 0
	}
	if l.busy {
		return settleWait
	}
	if len(l.timers) == 0 {
		return -1
	}
	return max(time.Duration(l.timers[0].when-monotime()), 0)
}

// sync arms what the iteration's events call for: each touched conn's
// send and receive, closes that are due, listeners' accepts.
func (l *loop) sync() {
	if !l.wakeArmed && !l.exited {
		l.armWake()
	}
	for i := 0; i < len(l.dirty); i++ {
		c := l.dirty[i]
		c.dirty = false
		l.syncConn(c)
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
	if !l.draining {
		for i, ln := range l.listeners {
			if !ln.armed && !ln.waiting && !ln.closed {
				l.armAccept(i)
			}
		}
		l.syncPackets()
		l.syncFIFOs()
	}
}

// Output buffers: a loop keeps up to maxPooled of them, those of at most
// maxPooledCap bytes, maxPooledBytes in all, for the conns' next writes, so
// that steady traffic (TLS records of 16 KiB included) allocates nothing
// per message.
const (
	maxPooled      = 1024
	maxPooledCap   = 64 << 10
	maxPooledBytes = 1 << 20
)

// getBuf is an empty output buffer.
func (l *loop) getBuf() *[]byte {
	if n := len(l.pool); n > 0 {
		b := l.pool[n-1]
		l.pool[n-1] = nil
		l.pool = l.pool[:n-1]
		l.pooled -= cap(*b)
		return b
	}
	return new([]byte)
}

// putBuf takes back an output buffer nothing refers to any more (nil: none).
func (l *loop) putBuf(b *[]byte) {
	if b == nil || cap(*b) > maxPooledCap || l.pooled+cap(*b) > maxPooledBytes || len(l.pool) >= maxPooled {
		return
	}
	*b = (*b)[:0]
	l.pool = append(l.pool, b)
	l.pooled += cap(*b)
}

func (l *loop) touch(c *uconn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

func (l *loop) complete(cqe ring.CQE) {
	kind, id := uint8(cqe.UserData>>56), uint32(cqe.UserData)
	switch kind {
	case kindWake:
		l.inflight--
		l.wakeArmed = false
	case kindCancel:
		l.inflight--
	case kindAccept:
		l.accepted(int(id), cqe)
	case kindFIFO:
		l.fifoReady(id, cqe)
	case kindPollIn, kindPollOut:
		l.polled(cqe, kind == kindPollOut)
	case kindRecv:
		// A multishot receive: completions with CQEFMore leave it armed.
		final := cqe.Flags&ring.CQEFMore == 0
		if final {
			l.inflight--
		}
		c := l.conns.get(id)
		if c == nil {
			l.br.Drop(cqe)
			return
		}
		if final {
			c.ops--
			c.recvArmed, c.recvCancel = false, false
		}
		l.received(c, cqe)
		if c.l != l {
			return // its callback moved it to another loop (move.go)
		}
		if final {
			if c.moving {
				l.moveOn(c)
				return
			}
			l.forgetIfDone(c)
			if !c.released() {
				l.touch(c) // re-armed at sync if c still wants input
			}
		}
	case kindSend:
		l.inflight--
		c := l.conns.get(id)
		if c == nil {
			return
		}
		c.ops--
		c.sendInflight = false
		l.sent(c, cqe)
		l.forgetIfDone(c)
	}
}

// forgetIfDone drops a released conn once the kernel holds nothing of it.
func (l *loop) forgetIfDone(c *uconn) {
	if c.released() && c.ops == 0 {
		l.conns.remove(c.id)
	}
}

// accepted handles a multishot accept's completion.
func (l *loop) accepted(i int, cqe ring.CQE) {
	ln := l.listeners[i]
	final := cqe.Flags&ring.CQEFMore == 0
	if final {
		l.inflight--
		ln.armed = false // sync re-arms it
	}
	switch {
	case cqe.Res >= 0 && ln.closed && !ln.shared:
		unix.Close(int(cqe.Res)) // accepted as the accept was cancelled: the stop refuses it
	case cqe.Res >= 0:
		l.serveAccepted(ln, int(cqe.Res))
	default:
		switch err := syscall.Errno(-cqe.Res); err {
		case unix.ECANCELED:
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			l.stats.backoffs.Add(1)
			l.log.Warn("accept paused", "err", err)
			if ln.armed {
				l.cancel(userData(kindAccept, uint32(i)))
			}
			ln.waiting = true
			l.after(acceptBackoff, func() { ln.waiting = false })
		default:
			l.log.Warn("accept", "err", err)
		}
	}
	if final && ln.closed && ln.shared {
		l.sweepBacklog(ln)
		unix.Close(ln.fd)
	}
}

// sweepBacklog accepts, once its multishot accept is gone, the conns left in
// a closed shared listener's backlog, and serves them to the drain like any
// other. The accept's wait on the socket is exclusive (one waiter woken per
// connection): a wakeup that reached it while it was being cancelled is lost
// to every other waiter, such as the accept of the process that took the
// listener over in an upgrade, and the conn would wait in the backlog for
// the next one. After the cancel no wakeup can be lost: a conn that comes
// later wakes the other waiters. A listener of the engine's own is closed
// as the native engine closes it: what its backlog holds is refused.
func (l *loop) sweepBacklog(ln *listener) {
	if l.exited {
		return
	}
	for {
		fd, _, err := unix.Accept4(ln.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			return
		}
		l.serveAccepted(ln, fd)
	}
}

// serveAccepted gives an accepted fd to the loop the balancing picks. A conn
// accepted while the loop drains (its accept completed before the cancel)
// is served to the drain too, not reset.
func (l *loop) serveAccepted(ln *listener, fd int) {
	if l.exited {
		unix.Close(fd)
		return
	}
	if !l.e.admit() {
		l.stats.rejected.Add(1) // before the close: the peer's EOF may be seen at once
		unix.Close(fd)
		l.log.Warn("conn refused", "err", reactor.ErrTooManyConns)
		return
	}
	c := &uconn{fd: fd, route: ln.route, local: ln.local}
	l.setPeer(c, ln.network)
	if c.local == nil {
		if sa, err := unix.Getsockname(fd); err == nil {
			c.local = &addrBox{socket.Addr(ln.network, sa)}
		}
	}
	l.handOut(c)
}

// handOut serves a new conn on the loop the balancer picks (this one while
// draining).
func (l *loop) handOut(c *uconn) {
	t := l
	if !l.draining {
		var hashed net.Addr
		if l.e.o.LoadBalancing == reactor.SourceHash {
			hashed = c.RemoteAddr()
		}
		t = l.e.pick(hashed)
	}
	c.l = t
	if t == l {
		l.register(c)
		return
	}
	// The target stays alive until it has the conn: while a drain begins
	// it may otherwise end (no conns, draining) before the task runs.
	t.handoffs.Add(1)
	if t.Post(func() { t.handoffs.Add(-1); t.register(c) }) != nil {
		t.handoffs.Add(-1)
		c.l = l
		l.register(c) // the target has ended: serve it here
	}
}

// setPeer records an accepted conn's peer: an IP address inline, without
// allocating (a multishot accept returns no address, so getpeername(2) asks
// for it into the loop's scratch), anything else as a net.Addr.
func (l *loop) setPeer(c *uconn, network string) {
	l.peerLen = unix.SizeofSockaddrAny
	_, _, errno := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(c.fd), uintptr(unsafe.Pointer(&l.peerBuf)), uintptr(unsafe.Pointer(&l.peerLen)))
	if errno == 0 {
		switch l.peerBuf.Addr.Family {
		case unix.AF_INET:
			sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&l.peerBuf))
			c.peer = socket.InetAddr{Port: ntohs(sa.Port), Family: 4}
			copy(c.peer.IP[:], sa.Addr[:])
			return
		case unix.AF_INET6:
			if sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&l.peerBuf)); sa.Scope_id == 0 {
				c.peer = socket.InetAddr{IP: sa.Addr, Port: ntohs(sa.Port), Family: 6}
				return
			}
		}
	}
	if sa, err := unix.Getpeername(c.fd); err == nil {
		c.setRemote(socket.Addr(network, sa))
	} else if network == "unix" {
		c.setRemote(&net.UnixAddr{Net: "unix"})
	}
}

// ntohs reads a port in network byte order.
func ntohs(port uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&port))
	return uint16(b[0])<<8 | uint16(b[1])
}

// register opens c on this loop: OnOpen, then its first receive.
func (l *loop) register(c *uconn) {
	if l.exited {
		unix.Close(c.fd)
		l.e.unadmit()
		return
	}
	c.l = l
	c.id = l.conns.add(c)
	l.open.Add(1)
	l.stats.accepted.Add(1)
	c.lastActive = l.now
	c.registered = true
	if d := l.e.o.IdleTimeout; d > 0 {
		c.SetIdleTimeout(d)
	}
	a := l.callOpen(c)
	if l.finishMove(c) {
		return
	}
	if !c.released() {
		l.act(c, a)
	}
	if l.draining && !c.released() {
		l.drainConn(c)
	}
	l.touch(c)
}

// failDial reports a dial that did not connect: OnClose, no OnOpen.
func (l *loop) failDial(c *uconn, err error) {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	c.state.Store(stateReleased)
	l.e.unadmit()
	defer func() {
		if r := recover(); r != nil {
			l.stats.panics.Add(1)
			l.log.Error("OnClose panicked", "panic", r)
		}
	}()
	c.route.h.OnClose(c, err)
}

// received handles a receive's completion (the caller re-arms the
// receive after its final one).
func (l *loop) received(c *uconn, cqe ring.CQE) {
	if c.released() {
		l.br.Drop(cqe)
		return
	}
	if cqe.Res < 0 {
		l.br.Drop(cqe)
		switch err := syscall.Errno(-cqe.Res); err {
		case unix.ENOBUFS, unix.EAGAIN, unix.EINTR, unix.ECANCELED:
			// No buffer free now, or cancelled: armed again if wanted.
		default:
			if c.lingering() {
				l.teardown(c, nil)
				return
			}
			if !l.flushCut(c) {
				return
			}
			l.teardown(c, fmt.Errorf("read: %w", os.NewSyscallError("recv", err)))
		}
		return
	}
	if cqe.Res == 0 {
		l.br.Drop(cqe)
		if !l.flushCut(c) {
			return
		}
		c.readEOF = true
		if c.lingering() {
			l.teardown(c, nil)
			return
		}
		if !c.moving {
			l.peerEOF(c)
		}
		return
	}
	data, done, cut := l.br.TakeCut(cqe)
	if cut && !c.recvMulti && !c.lingering() {
		data = l.readRest(c, data)
	}
	l.stats.bytesIn.Add(int64(len(data)))
	if c.state.Load() != stateOpen {
		// Closing (flushing) or lingering: native reads no more for the
		// handler after a Close, and a receive still armed here brings
		// input nobody is given, so it is dropped, not kept in c.in.
		if done {
			l.br.Recycle(cqe.BufferID())
		}
		return
	}
	c.lastActive = l.now
	if len(c.in) == 0 {
		c.in, c.inView = data, true
	} else {
		c.in = append(c.in, data...)
	}
	if cut && c.recvMulti && cqe.Flags&ring.CQEFMore != 0 && !c.cut {
		// A multishot receive cut short by its buffer's end (see
		// readRest): the rest is most likely in the next completion of
		// this reap, so OnTraffic waits for it, and runs after the reap
		// at the latest (runCut).
		l.retain(c)
		if done {
			l.br.Recycle(cqe.BufferID())
		}
		c.cut = true
		l.cut = append(l.cut, c)
		return
	}
	c.cut = false
	n := len(c.in)
	a, ran := l.traffic(c)
	if done {
		l.br.Recycle(cqe.BufferID())
	}
	l.afterTraffic(c, a, n, ran)
}

// peerEOF acts on the peer's end of stream, as native's: the conn closes
// once flushed, unless its handler's OnEOF keeps it open for writing
// (reactor.EOFHandler); no receive is armed again after EOF (readEOF).
func (l *loop) peerEOF(c *uconn) {
	if h, ok := c.route.h.(reactor.EOFHandler); ok {
		a := l.callEOF(h, c)
		if c.released() {
			return
		}
		if a == reactor.None && c.state.Load() == stateOpen {
			l.touch(c)
			return
		}
		l.act(c, a)
	}
	l.closeConn(c, nil)
}

func (l *loop) callEOF(h reactor.EOFHandler, c *uconn) (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "OnEOF", r)
			a = reactor.None
		}
	}()
	return h.OnEOF(c)
}

// flushCut runs the OnTraffic that a cut receive's input of c waits for
// (see runCut), before the EOF or error that ended the receive closes c:
// native reads that input, and its handler answers it, before it reads
// the EOF. It reports whether c is still this loop's and open.
func (l *loop) flushCut(c *uconn) bool {
	if c.cut {
		c.cut = false
		n := len(c.in)
		a, ran := l.traffic(c)
		l.afterTraffic(c, a, n, ran)
	}
	return c.l == l && !c.released()
}

// traffic runs OnTraffic for c's input, unless the conn is held, paused,
// moving or closing, and copies what it left out of the provided buffer.
// It reports whether OnTraffic ran.
func (l *loop) traffic(c *uconn) (reactor.Action, bool) {
	a, ran := reactor.None, false
	// Input that arrives while the conn is held (PauseRead), above the
	// high watermark or moving waits in c.in: the cancel of its receive is
	// on its way, and a multishot receive may have brought more in the
	// same reap. Native stops reading at once there; so OnTraffic does
	// not run again until the conn resumes (deliverHeld).
	if !c.held && !c.paused && !c.moving && c.state.Load() == stateOpen {
		a, ran = l.callTraffic(c), true
		c.unseen = false
	} else if len(c.in) > 0 {
		c.unseen = true
	}
	l.retain(c)
	return a, ran
}

// runCut runs, after a reap, OnTraffic for the conns whose input a
// multishot receive cut short and no later completion of the reap
// continued.
func (l *loop) runCut() {
	for i, c := range l.cut {
		l.cut[i] = nil
		if !c.released() {
			l.flushCut(c)
		}
	}
	l.cut = l.cut[:0]
}

// afterTraffic acts on what OnTraffic answered; n is the input it was
// given, ran whether it ran. Only input a handler was given and left
// counts against MaxInbound, as on native: what a receive brought while
// the conn was held, paused or moving waits for OnTraffic (deliverHeld),
// bounded by the receive that was in flight.
func (l *loop) afterTraffic(c *uconn, a reactor.Action, n int, ran bool) {
	if l.finishMove(c) || c.released() || c.moving {
		return
	}
	if max := l.e.o.MaxInbound; ran && max > 0 && len(c.in) > max {
		l.teardown(c, conn.ErrInboundTooLarge)
		return
	}
	l.act(c, a)
	if bulk := c.OutboundBuffered() > bulkOutput; c.recvMulti && (bulk || n >= streamInput) {
		// The conn streams (see bulkOutput, streamInput): its multishot
		// receive goes, for receives of one buffer from now on (with
		// WithMultishotReceive, until its output is sent).
		c.streams = true
		if c.recvArmed && !c.recvCancel && (bulk || !l.e.multishot) {
			l.cancel(userData(kindRecv, c.id))
			c.recvCancel = true
		}
	}
	l.touch(c)
}

// readRest takes what the socket holds beyond a receive that its provided
// buffer cut short, with a plain nonblocking recv, so that OnTraffic sees
// the bytes the peer sent together as native's one read would. An
// incremental buffer ends wherever the receives before it left it, so a
// small message is cut in two there; handled in two OnTraffic calls it
// went out as two sends, and the second, small one waited for the peer's
// delayed ACK: 40 ms stalls, once in a few thousand round trips of a
// 6-byte echo, and a redis-benchmark pipeline at a third of native's rate.
// data moves into the loop's rest buffer, a view that retain copies from
// like a provided buffer. The conn's receive is not armed (receives of one
// buffer), so nothing else reads the socket meanwhile.
func (l *loop) readRest(c *uconn, data []byte) []byte {
	if want := max(2*len(data), l.br.Size()); cap(l.rest) < want {
		l.rest = make([]byte, want)
	}
	buf := l.rest[:cap(l.rest)]
	n := copy(buf, data)
	for n < len(buf) {
		m, err := unix.Read(c.fd, buf[n:])
		if m <= 0 || err != nil {
			break // EAGAIN: it was all; EOF or an error: the next receive says so
		}
		n += m
	}
	return buf[:n:n]
}

// retain copies unconsumed input out of the provided buffer, which goes
// back to the kernel; a conn with nothing unconsumed holds no buffer.
func (l *loop) retain(c *uconn) {
	if !c.inView {
		if len(c.in) == 0 {
			c.in = nil // an idle conn holds no input buffer
		}
		return
	}
	c.inView = false
	if len(c.in) == 0 || c.released() {
		c.in = nil
		return
	}
	c.in = append([]byte(nil), c.in...)
}

// sent handles a send's completion.
func (l *loop) sent(c *uconn, cqe ring.CQE) {
	if c.released() {
		return
	}
	if cqe.Res < 0 {
		switch err := syscall.Errno(-cqe.Res); err {
		case unix.EAGAIN, unix.EINTR:
			l.touch(c)
		default:
			l.teardown(c, os.NewSyscallError("write", err))
		}
		return
	}
	n := int(cqe.Res)
	if n > 0 {
		l.stats.bytesOut.Add(int64(n))
		l.stats.outbound.Add(-int64(n))
		c.lastActive = l.now
	}
	c.sendOff += int32(n)
	c.congested = int(c.sendOff) < len(*c.sending)
	if c.congested {
		l.stats.writeEAGAIN.Add(1)
	} else {
		l.putBuf(c.sending)
		c.sending, c.sendOff = nil, 0
	}
	l.touch(c)
	if c.paused && c.OutboundBuffered() <= l.e.o.WriteLow {
		c.paused = false
		if d := c.route.drainer; d != nil {
			l.act(c, l.callDrained(d, c))
		}
		l.deliverHeld(c)
	}
}

// deliverHeld gives a conn that resumed below the low watermark the input
// that waited while it was above the high one. Within one io_uring_enter a
// multishot receive takes all the peer sends, up to the loop's free
// provided buffers (1 MiB), before the cancel lands: it is handed over a
// read buffer's worth (WithReadBufferSize) more per OnTraffic, on top of
// what the handler kept, as native reads it, and the rest waits again as
// soon as the conn is above high once more. So the output a peer that
// never reads can make the server hold stays within high plus one read
// buffer, as on native.
//
// A handler that keeps all it was given (a frame longer than a read
// buffer) is given the next read buffer's worth with it, as native's next
// read would, until it has seen all the held input: that input is in
// c.in, not in the socket, so no receive would bring it. Input the handler
// was given before and kept gets no OnTraffic here (as native, which
// resumes reading and calls OnTraffic when more arrives): only a conn
// whose input ends with bytes it was not given (unseen).
func (l *loop) deliverHeld(c *uconn) {
	chunk := max(l.e.o.ReadBufferSize, 1)
	kept := 0 // what the last OnTraffic here was given and left, at the front of c.in
	for c.unseen && len(c.in) > 0 && !c.held && !c.paused && !c.moving && !c.released() && c.state.Load() == stateOpen {
		all := c.in
		n := min(len(all), kept+chunk)
		c.in = all[:n:n]
		a := l.callTraffic(c)
		c.unseen = n < len(all) // the rest was not given
		kept = len(c.in)
		switch {
		case kept == 0:
			c.in = all[n:]
		case &c.in[0] == &all[n-kept]:
			c.in = all[n-kept:] // consumed from the front: still a view of all
		default:
			c.in = append(c.in[:kept:kept], all[n:]...)
		}
		if len(c.in) == 0 {
			c.in = nil
		}
		if l.finishMove(c) || c.released() {
			return
		}
		l.act(c, a)
	}
}

// syncConn submits c's pending output, performs a close or half-close that
// is due, and arms a receive when c wants input.
func (l *loop) syncConn(c *uconn) {
	if c.released() || c.moving {
		return
	}
	if c.overflowed {
		l.teardown(c, conn.ErrOutboundTooLarge)
		return
	}
	if !c.sendInflight {
		if c.sending == nil && c.out != nil {
			c.sending, c.out, c.sendOff = c.out, nil, 0
		}
		if c.sending != nil {
			b := (*c.sending)[c.sendOff:]
			s := l.getSQE()
			s.Opcode, s.Fd, s.UserData = ring.OpSend, int32(c.fd), userData(kindSend, c.id)
			s.Addr = uint64(uintptr(unsafe.Pointer(&b[0])))
			s.Len = uint32(min(len(b), 1<<30))
			s.OpFlags = unix.MSG_NOSIGNAL
			if c.pair { // a pipe's write end
				s.Opcode, s.Fd, s.OpFlags = ring.OpWrite, c.wfd, 0
			}
			if !c.congested {
				l.expect++ // the kernel has room for it: done as submitted
			}
			c.sendInflight = true
			c.ops++
		}
	}
	if !c.sendInflight {
		if c.shutPending {
			c.shutPending, c.writeShut = false, true
			if err := c.shutWrite(); err != nil {
				l.teardown(c, os.NewSyscallError("shutdown", err))
				return
			}
		}
		if c.state.Load() == stateClosing {
			l.finishClose(c)
			if c.released() {
				return
			}
		}
	}
	st := c.state.Load()
	want := st == stateLingering || (st == stateOpen && !c.paused && !c.held && !c.readEOF)
	switch {
	case want && !c.recvArmed:
		// A conn with nothing to send that has not streamed (or any, with
		// WithMultishotReceive) gets a multishot receive, which serves it
		// until it is paused, held, closed or streams (see bulkOutput,
		// streamInput): each arrival is a completion, with no SQE per
		// message. Otherwise a receive of one buffer, armed again after
		// each completion.
		c.recvMulti = (l.e.multishot || !c.streams) && c.OutboundBuffered() == 0
		s := l.getSQE()
		s.Opcode, s.Fd, s.Flags, s.BufGroup, s.UserData = ring.OpRecv, int32(c.fd), ring.SQEBufferSelect, l.br.Group(), userData(kindRecv, c.id)
		switch {
		case c.pair && c.recvMulti: // a pipe's read end: no recv, a read
			s.Opcode = ring.OpReadMultishot
		case c.pair:
			s.Opcode = ring.OpRead
		case c.recvMulti:
			s.Ioprio = ring.RecvMultishot
		}
		c.recvArmed = true
		c.ops++
	case st == stateOpen && (c.paused || c.held) && c.recvArmed && !c.recvCancel:
		// Backpressure: the kernel stops taking input for the conn once the
		// cancel is in (its final completion then re-arms if wanted).
		l.cancel(userData(kindRecv, c.id))
		c.recvCancel = true
	}
}

// closeConn closes c: with err == nil once its output is flushed, with an
// error at once.
func (l *loop) closeConn(c *uconn, err error) {
	if c.released() {
		return
	}
	if err != nil {
		l.teardown(c, err)
		return
	}
	c.state.CompareAndSwap(stateOpen, stateClosing)
	l.touch(c)
}

// finishClose ends a flushed close: the write half is shut and input is
// discarded until the peer's EOF (bounded by the engine's LingerTimeout), so that
// no unread input makes the kernel reset the conn and drop what was just
// written before the peer read it.
func (l *loop) finishClose(c *uconn) {
	// A FIFO pair needs no linger: input left unread in a pipe does not
	// take back what the peer was sent, as a TCP reset does.
	if c.readEOF || c.pair {
		l.teardown(c, nil)
		return
	}
	if !c.writeShut {
		if err := c.shutWrite(); err != nil {
			l.teardown(c, nil)
			return
		}
		c.writeShut = true
	}
	c.state.Store(stateLingering)
	c.in = nil
	l.after(l.e.o.LingerTimeout, func() { l.teardown(c, nil) })
}

// teardown releases c at once: its operations are cancelled, its fd is
// closed once the cancels are submitted, and OnClose runs.
func (l *loop) teardown(c *uconn, cause error) {
	st := c.state.Load()
	if st == stateReleased || !c.state.CompareAndSwap(st, stateReleased) {
		return
	}
	if c.recvArmed && !c.recvCancel {
		l.cancel(userData(kindRecv, c.id))
		c.recvCancel = true
	}
	if c.sendInflight {
		l.cancel(userData(kindSend, c.id))
	}
	l.closeFds = append(l.closeFds, c.fd)
	if c.pair && c.wfd >= 0 {
		l.closeFds = append(l.closeFds, int(c.wfd))
		c.wfd = -1
	}
	if c.inView {
		c.in, c.inView = nil, false
	}
	l.stats.outbound.Add(-int64(c.OutboundBuffered()))
	l.putBuf(c.out)
	c.out = nil
	if !c.sendInflight {
		l.putBuf(c.sending)
		c.sending = nil
	}
	l.open.Add(-1)
	l.stats.closed.Add(1)
	l.callClose(c, cause)
	c.in = nil
	l.e.unadmit()
	l.forgetIfDone(c)
}

func (l *loop) act(c *uconn, a reactor.Action) {
	switch a {
	case reactor.Close:
		l.closeConn(c, nil)
	case reactor.Shutdown:
		l.e.shutdownAsync()
	}
}

// Post runs task on the loop goroutine; safe from any goroutine.
func (l *loop) Post(task func()) error {
	l.mu.Lock()
	if l.tasksClosed {
		l.mu.Unlock()
		return conn.ErrClosed
	}
	l.tasks = append(l.tasks, task)
	if !l.pending.Swap(true) {
		// Under mu: the eventfd is closed under it once the loop is gone.
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], 1)
		unix.Write(l.efd, b[:])
	}
	l.mu.Unlock()
	return nil
}

func (l *loop) runTasks() {
	if !l.pending.Load() {
		return
	}
	l.pending.Store(false)
	l.mu.Lock()
	tasks := l.tasks
	l.tasks, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	for i, t := range tasks {
		t()
		tasks[i] = nil
	}
	l.mu.Lock()
	l.spare = tasks[:0]
	l.mu.Unlock()
}

// exit ends the loop: tasks still queued run (a conn handed over is closed,
// see register), the kernel's last operations are cancelled and reaped, and
// the ring is released.
func (l *loop) exit() {
	l.exited = true
	l.mu.Lock()
	l.tasksClosed = true
	l.mu.Unlock()
	l.pending.Store(true)
	l.runTasks()
	l.closeListeners()
	if l.wakeArmed {
		l.cancel(userData(kindWake, 0))
	}
	l.conns.each(func(c *uconn) {
		if c.recvArmed && !c.recvCancel {
			l.cancel(userData(kindRecv, c.id))
			c.recvCancel = true
		}
		if c.sendInflight {
			l.cancel(userData(kindSend, c.id))
		}
	})
	deadline := monotime() + int64(exitWait)
	for first := true; first || l.inflight > 0 && monotime() < deadline; first = false {
		l.r.Submit()
		for _, fd := range l.closeFds {
			unix.Close(fd)
		}
		l.closeFds = l.closeFds[:0]
		if l.inflight > 0 {
			l.r.SubmitAndWait(1, 50*time.Millisecond)
		}
		l.r.Reap(l.complete)
	}
	for _, fd := range l.closeFds {
		unix.Close(fd)
	}
	for _, ln := range l.listeners {
		if ln.armed && ln.shared { // its cancel did not complete in time
			unix.Close(ln.fd)
		}
	}
	l.release()
	l.e.loopExited()
}

// closeListeners stops accepting: accepts are cancelled and the listening
// sockets closed, and so are the UDP sockets.
func (l *loop) closeListeners() {
	for _, pc := range l.packets {
		l.closePacket(pc)
	}
	for _, fl := range l.fifos {
		l.closeFIFO(fl)
	}
	for i, ln := range l.listeners {
		if ln.closed {
			continue
		}
		ln.closed = true
		switch {
		case ln.armed && l.r != nil && ln.shared:
			// The fd closes with the accept's last completion, after the
			// backlog's sweep.
			l.cancel(userData(kindAccept, uint32(i)))
		case ln.armed && l.r != nil:
			l.cancel(userData(kindAccept, uint32(i)))
			l.closeFds = append(l.closeFds, ln.fd)
		default:
			unix.Close(ln.fd)
		}
		ln.unlink.Remove() // only while it is still the socket we bound; nil for abstract names
	}
}

// tellAll begins a drain: no more accepting, OnStop to every conn.
func (l *loop) tellAll() {
	if l.draining {
		return
	}
	l.draining = true
	l.closeListeners()
	for _, c := range l.snapshotConns() {
		if !c.released() && !c.told {
			l.tellConn(c)
		}
	}
}

// drain begins a stop: no more accepting, then OnStop and a graceful close
// for every conn; conns left at deadline are closed at once.
func (l *loop) drain(deadline time.Time) {
	if l.closing {
		return
	}
	if !l.draining {
		l.closeListeners()
	}
	l.draining, l.closing = true, true
	if !deadline.IsZero() {
		l.after(time.Until(deadline), func() { l.forceCloseAll(context.DeadlineExceeded) })
	}
	for _, c := range l.snapshotConns() {
		l.drainConn(c)
	}
}

func (l *loop) drainConn(c *uconn) {
	if c.released() {
		return
	}
	if !c.told && c.state.Load() == stateOpen {
		l.tellConn(c)
	}
	if l.closing {
		l.closeConn(c, nil)
	}
}

// forceCloseAll closes every conn at once: with cause those whose output
// is cut, with nil those that had it all out (lingering, or nothing to
// send), as native's stopConn does, so that Stop reports the cause only
// when some conn was closed unflushed.
func (l *loop) forceCloseAll(cause error) {
	if l.forced != nil {
		return
	}
	l.forced = cause
	l.drain(time.Time{})
	for _, c := range l.snapshotConns() {
		switch {
		case c.released():
		case c.lingering() || c.OutboundBuffered() == 0:
			l.teardown(c, nil) // its output is all out: nothing is cut
		default:
			l.e.forced(cause)
			l.teardown(c, cause)
		}
	}
}

func (l *loop) snapshotConns() []*uconn {
	cs := make([]*uconn, 0, l.conns.len())
	l.conns.each(func(c *uconn) {
		if !c.released() {
			cs = append(cs, c)
		}
	})
	return cs
}

// tick runs OnTick on the first loop and schedules the next, as native's
// does: none once draining or after a Shutdown, and a delay of 0 or less
// means a millisecond.
func (l *loop) tick() {
	if l.exited || l.draining {
		return
	}
	next, a := l.callTick()
	if a == reactor.Shutdown {
		l.e.shutdownAsync()
		return
	}
	if next <= 0 {
		next = time.Millisecond
	}
	l.after(next, l.tick)
}

func (l *loop) snapshot() reactor.LoopStats {
	s := &l.stats
	return reactor.LoopStats{
		Open: l.open.Load(), Accepted: s.accepted.Load(), Closed: s.closed.Load(), Rejected: s.rejected.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(), WriteEAGAIN: s.writeEAGAIN.Load(),
		OutboundBuffered: s.outbound.Load(), Wakeups: s.wakeups.Load(), AcceptBackoffs: s.backoffs.Load(), Panics: s.panics.Load(),
		OutboundOverflows: s.overflows.Load(),
	}
}

// Callbacks, each guarded: a panic closes the conn (ErrPanic), not the
// process.

func (l *loop) panicked(c *uconn, what string, r any) {
	l.stats.panics.Add(1)
	l.log.Error("handler panicked", "callback", what, "panic", r, "stack", string(debug.Stack()))
	if c != nil {
		l.teardown(c, fmt.Errorf("%w: %v", reactor.ErrPanic, r))
	}
}

func (l *loop) callOpen(c *uconn) (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "OnOpen", r)
			a = reactor.None
		}
	}()
	return c.route.h.OnOpen(c)
}

// callTraffic runs OnTraffic, which is given all of c.in as it stands.
func (l *loop) callTraffic(c *uconn) (a reactor.Action) {
	c.unseen = false
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "OnTraffic", r)
			a = reactor.None
		}
	}()
	return c.route.h.OnTraffic(c)
}

func (l *loop) callDrained(d reactor.DrainHandler, c *uconn) (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "OnDrained", r)
			a = reactor.None
		}
	}()
	return d.OnDrained(c)
}

func (l *loop) tellConn(c *uconn) {
	c.told = true
	s := c.route.stopper
	if s == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "OnStop", r)
		}
	}()
	s.OnStop(c)
}

func (l *loop) callClose(c *uconn, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(nil, "OnClose", r)
		}
	}()
	c.route.h.OnClose(c, err)
}

func (l *loop) callTick() (next time.Duration, a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(nil, "OnTick", r)
			next, a = time.Second, reactor.None
		}
	}()
	return l.e.h.OnTick()
}

// asyncDone runs an AsyncWrite's callback on the loop, guarded.
func (l *loop) asyncDone(c *uconn, done conn.AsyncCallback, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.panicked(c, "AsyncWrite callback", r)
		}
	}()
	done(c, err)
}
