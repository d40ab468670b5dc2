package reactor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// DefaultUDPRecvBuffer is the SO_RCVBUF a UDP socket asks for unless
// WithSocketBuffers sets one: bursts wait in the kernel while the loop is
// busy instead of being dropped. Best effort: the kernel may grant less
// (Linux caps it at net.core.rmem_max for unprivileged processes).
const DefaultUDPRecvBuffer = 4 << 20

// maxDatagramsPerWakeup bounds the datagrams one socket delivers per poller
// wakeup, so that a flood on it cannot starve the loop's other fds.
// Level-triggered readiness brings the loop back for the rest.
const maxDatagramsPerWakeup = 256

// MaxDatagram covers the largest UDP payload (65,507 bytes over IPv4,
// 65,527 over IPv6 without jumbograms): a UDP socket reads into a buffer
// this large when the loop's read buffer (WithReadBufferSize) is smaller,
// since recvfrom cuts a longer datagram short without a word. Every
// backend that reads its own UDP sockets uses it.
const MaxDatagram = 64 << 10

// ErrDatagramDropped is returned by a datagram write that neither the
// kernel nor the socket's queue (bounded by the high write watermark) could
// take. UDP may drop; it just says so.
var ErrDatagramDropped = errors.New("reactor: datagram dropped: send queue full")

// PacketConn is the conn.Conn a handler sees for a UDP socket (udp://
// addresses). One PacketConn per socket is reused for every datagram:
//
//   - OnTraffic runs once per datagram; the inbound bytes are that datagram
//     (truncated to WithReadBufferSize), and what the handler leaves
//     unconsumed is dropped when OnTraffic returns.
//   - RemoteAddr is the datagram's sender, and Write sends one datagram
//     back to it (sendto). Writev sends its buffers as one datagram.
//   - OnOpen and OnClose are never called: there is no connection. Close
//     and the Close action do nothing; the socket lives until the engine
//     stops. ShutdownWrite and SetIdleTimeout return ErrUnsupported.
//   - Context is per socket, not per sender.
//   - AsyncWrite and AsyncWritev from another goroutine go to the sender of
//     the latest datagram at the time of the call; use AsyncWriteTo to name
//     the peer.
//
// Receiving allocates nothing per datagram except a new sender's address
// (a run of datagrams from one sender shares one).
type PacketConn interface {
	conn.Conn
	// WriteTo sends p as one datagram to addr, a *net.UDPAddr (loop only).
	WriteTo(p []byte, addr net.Addr) (int, error)
	// AsyncWriteTo sends p to addr from the loop (any goroutine). p must
	// not change until done is called (done may be nil).
	AsyncWriteTo(p []byte, addr net.Addr, done conn.AsyncCallback) error
}

// packetConn is the native PacketConn: a UDP socket owned by one loop.
type packetConn struct {
	l      *loop
	h      Handler // the listener's
	fd     int
	family int
	local  net.Addr

	from socket.RawSockaddr         // recvfrom's scratch
	buf  []byte                     // its buffer when the loop's is below MaxDatagram
	peer atomic.Pointer[packetPeer] // sender of the current (or latest) datagram
	in   []byte                     // the datagram being delivered
	ctx  any

	queue       []queuedDatagram // datagrams the kernel would not take yet
	queued      int              // their bytes
	writeArmed  bool
	gather      []byte // Writev's scratch
	closed      atomic.Bool
	readErrLogs int
}

// packetPeer is one sender, in both forms: raw for replies, net.Addr for
// the handler. Immutable once published.
type packetPeer struct {
	raw  socket.RawSockaddr
	addr *net.UDPAddr
}

type queuedDatagram struct {
	to socket.RawSockaddr
	p  []byte
}

func (e *engine) listenUDP(a Addr, r *route) error {
	owners := []*loop{e.nextOwner()}
	if e.opts.ReusePort {
		owners = e.loops
	}
	target := a.Target
	for i, l := range owners {
		fd, bound, family, err := socket.ListenPacket(a.Scheme, target, e.opts.ReusePort)
		if err != nil {
			return fmt.Errorf("reactor: %s: %w", a, err)
		}
		if err := e.adoptPacket(l, fd, bound, family, r); err != nil {
			return err
		}
		if i == 0 {
			e.addrs = append(e.addrs, bound)
			target = bound.String() // port 0: every loop binds the port the first got
		}
	}
	return nil
}

// adoptPacket makes l serve the UDP socket fd; on failure fd is closed.
func (e *engine) adoptPacket(l *loop, fd int, local net.Addr, family int, r *route) error {
	recv := e.opts.SocketRecvBuf
	if recv <= 0 {
		recv = DefaultUDPRecvBuffer
	}
	if got := socket.RaiseRecvBuffer(fd, recv); got < recv {
		l.log.Debug("udp receive buffer smaller than asked", "addr", local, "asked", recv, "got", got)
	}
	socket.SetBuffers(fd, 0, e.opts.SocketSendBuf)
	pc := &packetConn{l: l, h: r.handler, fd: fd, family: family, local: local}
	if err := l.watch(fd, pc, poller.Readable); err != nil {
		unix.Close(fd)
		return err
	}
	return nil
}

// ready reads datagrams until EAGAIN (or the per-wakeup bound) and flushes
// queued output once the socket is writable again.
func (pc *packetConn) ready(_ int, ev poller.Event) {
	if ev&poller.Writable != 0 {
		pc.flushQueue()
	}
	if ev&(poller.Readable|poller.Error|poller.Hangup) == 0 {
		return
	}
	buf := pc.l.shared.ReadBuf
	if len(buf) < MaxDatagram {
		if pc.buf == nil {
			pc.buf = make([]byte, MaxDatagram)
		}
		buf = pc.buf
	}
	for i := 0; i < maxDatagramsPerWakeup && !pc.closed.Load(); i++ {
		n, err := socket.Recvfrom(pc.fd, buf, &pc.from)
		switch err {
		case nil:
		case unix.EAGAIN:
			return
		case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENETDOWN, unix.EMSGSIZE:
			// An ICMP error for an earlier send, reported (and cleared) by
			// this read: not about the socket itself. Go on reading.
			continue
		default:
			// Unexpected; log a few, and let the next wakeup try again.
			if pc.readErrLogs < 10 {
				pc.readErrLogs++
				pc.l.log.Warn("udp read failed", "addr", pc.local, "err", err)
			}
			return
		}
		pc.setPeer()
		pc.l.shared.BytesIn.Add(int64(n))
		pc.deliver(buf[:n])
	}
}

// setPeer publishes the sender of the datagram just read, reusing the
// previous one when it is the same sender.
func (pc *packetConn) setPeer() {
	if cur := pc.peer.Load(); cur != nil && cur.raw.Equal(&pc.from) {
		return
	}
	pc.peer.Store(&packetPeer{raw: pc.from, addr: pc.from.UDPAddr()})
}

// deliver calls OnTraffic with in as the inbound bytes.
func (pc *packetConn) deliver(in []byte) {
	pc.in = in
	a := pc.callTraffic()
	pc.in = nil
	if a == Shutdown {
		pc.l.engine.shutdownAsync()
	}
}

// callDone runs an async write's done callback; a panic in it is logged and
// counted, and the socket serves on, as for OnTraffic.
func (pc *packetConn) callDone(done conn.AsyncCallback, err error) {
	defer func() {
		if r := recover(); r != nil {
			pc.l.stats.panics.Add(1)
			pc.l.log.Error("async write callback panicked", "addr", pc.local, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	done(pc, err)
}

// callTraffic runs OnTraffic; a panic drops the datagram, is logged and
// counted, and the socket serves on.
func (pc *packetConn) callTraffic() (a Action) {
	defer func() {
		if r := recover(); r != nil {
			pc.l.stats.panics.Add(1)
			pc.l.log.Error("handler panicked on a datagram", "addr", pc.local, "remote", pc.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
			a = None
		}
	}()
	return pc.h.OnTraffic(pc)
}

// send sends p to peer now, or queues it when the kernel is full.
func (pc *packetConn) send(p []byte, to *socket.RawSockaddr, addr net.Addr) (int, error) {
	if pc.closed.Load() {
		return 0, conn.ErrClosed
	}
	if len(pc.queue) == 0 {
		n, err := socket.Sendto(pc.fd, p, to)
		switch err {
		case nil:
			pc.l.shared.BytesOut.Add(int64(n))
			return n, nil
		case unix.EAGAIN, unix.ENOBUFS:
			pc.l.shared.WriteEAGAIN.Add(1)
		default:
			return 0, &net.OpError{Op: "write", Net: "udp", Source: pc.local, Addr: addr, Err: os.NewSyscallError("sendto", err)}
		}
	}
	if high := pc.l.engine.opts.WriteHigh; high > 0 && pc.queued+len(p) > high {
		return 0, ErrDatagramDropped
	}
	pc.queue = append(pc.queue, queuedDatagram{to: *to, p: append([]byte(nil), p...)})
	pc.queued += len(p)
	pc.l.shared.Outbound.Add(int64(len(p)))
	if !pc.writeArmed {
		pc.writeArmed = true
		pc.l.poller.Modify(pc.fd, poller.Readable|poller.Writable)
	}
	return len(p), nil
}

// flushQueue sends queued datagrams until the kernel is full again.
func (pc *packetConn) flushQueue() {
	sent := 0
	for _, d := range pc.queue {
		n, err := socket.Sendto(pc.fd, d.p, &d.to)
		if err == unix.EAGAIN || err == unix.ENOBUFS {
			break
		}
		if err == nil {
			pc.l.shared.BytesOut.Add(int64(n))
		} // else: a datagram the network refused; UDP drops it
		sent++
		pc.queued -= len(d.p)
		pc.l.shared.Outbound.Add(-int64(len(d.p)))
	}
	clear(pc.queue[:sent])
	pc.queue = pc.queue[sent:]
	if len(pc.queue) == 0 {
		pc.queue = nil
		if pc.writeArmed {
			pc.writeArmed = false
			pc.l.poller.Modify(pc.fd, poller.Readable)
		}
	}
}

// close implements endpoint.
func (pc *packetConn) close() {
	if !pc.closed.CompareAndSwap(false, true) {
		return
	}
	unix.Close(pc.fd)
	pc.l.shared.Outbound.Add(-int64(pc.queued))
	pc.queue, pc.queued = nil, 0
}

// ---- conn.Conn ----

var errNoPeer = errors.New("reactor: no datagram received yet: no peer to write to")

func (pc *packetConn) Read(p []byte) (int, error) {
	return fdconn.Read(&pc.in, p, pc.closed.Load())
}

func (pc *packetConn) Peek(n int) ([]byte, error) { return fdconn.Peek(pc.in, n) }
func (pc *packetConn) Next(n int) ([]byte, error) { return fdconn.Next(&pc.in, n) }
func (pc *packetConn) Discard(n int) (int, error) { return fdconn.Discard(&pc.in, n), nil }
func (pc *packetConn) InboundBuffered() int       { return len(pc.in) }

func (pc *packetConn) Write(p []byte) (int, error) {
	peer := pc.peer.Load()
	if peer == nil {
		return 0, errNoPeer
	}
	return pc.send(p, &peer.raw, peer.addr)
}

func (pc *packetConn) Writev(bufs [][]byte) (int, error) {
	peer := pc.peer.Load()
	if peer == nil {
		return 0, errNoPeer
	}
	pc.gather = pc.gather[:0]
	for _, b := range bufs {
		pc.gather = append(pc.gather, b...)
	}
	return pc.send(pc.gather, &peer.raw, peer.addr)
}

func (pc *packetConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("%w: WriteTo a %T", ErrUnsupported, addr)
	}
	var to socket.RawSockaddr
	if err := socket.RawFromUDP(&to, ua, pc.family); err != nil {
		return 0, err
	}
	return pc.send(p, &to, addr)
}

func (pc *packetConn) OutboundBuffered() int { return pc.queued }

func (pc *packetConn) ShutdownWrite() error {
	return fmt.Errorf("%w: ShutdownWrite on a datagram socket", ErrUnsupported)
}

func (pc *packetConn) SetIdleTimeout(time.Duration) error {
	return fmt.Errorf("%w: idle timeouts on a datagram socket", ErrUnsupported)
}

func (pc *packetConn) Context() any        { return pc.ctx }
func (pc *packetConn) SetContext(v any)    { pc.ctx = v }
func (pc *packetConn) LocalAddr() net.Addr { return pc.local }
func (pc *packetConn) Fd() int             { return pc.fd }

func (pc *packetConn) RemoteAddr() net.Addr {
	if peer := pc.peer.Load(); peer != nil {
		return peer.addr
	}
	return nil
}

func (pc *packetConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	peer := pc.peer.Load()
	if peer == nil {
		return errNoPeer
	}
	return pc.post(func() (int, error) { return pc.send(p, &peer.raw, peer.addr) }, done)
}

func (pc *packetConn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	peer := pc.peer.Load()
	if peer == nil {
		return errNoPeer
	}
	return pc.post(func() (int, error) {
		pc.gather = pc.gather[:0]
		for _, b := range bufs {
			pc.gather = append(pc.gather, b...)
		}
		return pc.send(pc.gather, &peer.raw, peer.addr)
	}, done)
}

func (pc *packetConn) AsyncWriteTo(p []byte, addr net.Addr, done conn.AsyncCallback) error {
	return pc.post(func() (int, error) { return pc.WriteTo(p, addr) }, done)
}

func (pc *packetConn) post(write func() (int, error), done conn.AsyncCallback) error {
	if pc.closed.Load() {
		return conn.ErrClosed
	}
	return pc.l.Post(func() {
		_, err := write()
		if done != nil {
			pc.callDone(done, err)
		}
	})
}

// Wake calls OnTraffic with nothing inbound; RemoteAddr is the latest sender.
func (pc *packetConn) Wake() error {
	if pc.closed.Load() {
		return conn.ErrClosed
	}
	return pc.l.Post(func() {
		if !pc.closed.Load() {
			pc.deliver(nil)
		}
	})
}

// Close does nothing: the socket is the engine's and closes when it stops.
func (pc *packetConn) Close() error { return nil }

var _ PacketConn = (*packetConn)(nil)
