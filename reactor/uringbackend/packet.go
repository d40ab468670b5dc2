//go:build linux

package uringbackend

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

// UDP sockets are served as on the native backend, with the ring as their
// poller: a multishot poll for input, then recvfrom(2) until EAGAIN (at most
// maxDatagramsPerWakeup); sendto(2) at once, queueing what the kernel does
// not take and flushing it on a one-shot poll for output. A datagram needs
// its sender's address, which a plain receive into a provided buffer does
// not give; UDP is not where io_uring's batching pays.

// maxDatagramsPerWakeup bounds the datagrams one socket delivers per poll
// completion, so that one busy socket cannot starve the loop's conns.
const maxDatagramsPerWakeup = 256

var errNoPeer = errors.New("uringbackend: no datagram received yet: no peer to write to")

// packetConn is a UDP socket, the conn.Conn (and reactor.PacketConn) of its
// datagrams: RemoteAddr is the sender of the one being delivered.
type packetConn struct {
	l      *loop
	idx    uint32 // in l.packets
	route  *route
	fd     int
	family int
	local  net.Addr
	buf    []byte

	from socket.RawSockaddr
	peer atomic.Pointer[packetPeer]
	in   []byte
	ctx  any

	queue    []queuedDatagram
	queued   int
	inArmed  bool
	outArmed bool
	gather   []byte
	closed   atomic.Bool
	errLogs  int
	more     bool // in l.packetsMore
}

type packetPeer struct {
	raw  socket.RawSockaddr
	addr *net.UDPAddr
}

type queuedDatagram struct {
	to socket.RawSockaddr
	p  []byte
}

var _ reactor.PacketConn = (*packetConn)(nil)

// listenUDP binds a udp address on one loop (spread over the loops) or,
// with ReusePort, on every loop.
func (e *engine) listenUDP(a reactor.Addr, r *route) error {
	owners := []*loop{e.loops[len(e.addrs)%len(e.loops)]}
	if e.o.ReusePort {
		owners = e.loops
	}
	target := a.Target
	for i, l := range owners {
		fd, bound, family, err := socket.ListenPacket(a.Scheme, target, e.o.ReusePort)
		if err != nil {
			return fmt.Errorf("reactor: %s: %w", a, err)
		}
		e.adoptPacket(l, fd, bound, family, r)
		if i == 0 {
			e.addrs = append(e.addrs, bound)
			target = bound.String()
		}
	}
	return nil
}

func (e *engine) adoptPacket(l *loop, fd int, local net.Addr, family int, r *route) {
	recv := e.o.SocketRecvBuf
	if recv <= 0 {
		recv = reactor.DefaultUDPRecvBuffer
	}
	socket.RaiseRecvBuffer(fd, recv)
	socket.SetBuffers(fd, 0, e.o.SocketSendBuf)
	size := max(e.o.ReadBufferSize, reactor.MaxDatagram) // a socket's buffer takes any datagram whole
	pc := &packetConn{l: l, idx: uint32(len(l.packets)), route: r, fd: fd, family: family, local: local, buf: make([]byte, size)}
	l.packets = append(l.packets, pc)
}

func (l *loop) armPoll(pc *packetConn, out bool) {
	s := l.getSQE()
	s.Opcode, s.Fd = ring.OpPollAdd, int32(pc.fd)
	if out {
		s.OpFlags, s.UserData = unix.POLLOUT, userData(kindPollOut, pc.idx)
		pc.outArmed = true
		return
	}
	s.OpFlags, s.Len, s.UserData = unix.POLLIN, ring.PollAddMulti, userData(kindPollIn, pc.idx)
	pc.inArmed = true
}

// syncPackets arms the polls the loop's UDP sockets need.
func (l *loop) syncPackets() {
	for _, pc := range l.packets {
		if pc.closed.Load() {
			continue
		}
		if !pc.inArmed {
			l.armPoll(pc, false)
		}
		if len(pc.queue) > 0 && !pc.outArmed {
			l.armPoll(pc, true)
		}
	}
}

// polled handles a poll completion of a UDP socket.
func (l *loop) polled(cqe ring.CQE, out bool) {
	pc := l.packets[uint32(cqe.UserData)]
	if out || cqe.Flags&ring.CQEFMore == 0 {
		l.inflight--
		if out {
			pc.outArmed = false
		} else {
			pc.inArmed = false
		}
	}
	if pc.closed.Load() || cqe.Res < 0 {
		return
	}
	if out {
		pc.flushQueue()
		return
	}
	pc.readAll()
}

func (pc *packetConn) readAll() {
	for i := 0; i < maxDatagramsPerWakeup; i++ {
		if pc.closed.Load() {
			return
		}
		n, err := socket.Recvfrom(pc.fd, pc.buf, &pc.from)
		switch err {
		case nil:
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENETDOWN, unix.EMSGSIZE:
			continue
		default:
			if pc.errLogs < 10 {
				pc.errLogs++
				pc.l.log.Warn("udp read failed", "addr", pc.local, "err", err)
			}
			return
		}
		if cur := pc.peer.Load(); cur == nil || !cur.raw.Equal(&pc.from) {
			pc.peer.Store(&packetPeer{raw: pc.from, addr: pc.from.UDPAddr()})
		}
		pc.l.stats.bytesIn.Add(int64(n))
		pc.deliver(pc.buf[:n])
	}
	// The bound ended the reading, not EAGAIN. The multishot poll is
	// edge-triggered: it posts no completion for datagrams already
	// queued, which would wait for the next one to arrive. So the loop
	// reads on after its next enter (which then does not wait), as
	// native's level-triggered poller comes back for them.
	if !pc.more && !pc.closed.Load() {
		pc.more = true
		pc.l.packetsMore = append(pc.l.packetsMore, pc)
	}
}

// readMorePackets reads on from the UDP sockets whose last read stopped at
// maxDatagramsPerWakeup.
func (l *loop) readMorePackets(more []*packetConn) {
	for _, pc := range more {
		pc.more = false
		if !pc.closed.Load() {
			pc.readAll()
		}
	}
}

func (pc *packetConn) deliver(in []byte) {
	pc.in = in
	a := pc.callTraffic()
	pc.in = nil
	if a == reactor.Shutdown {
		pc.l.e.shutdownAsync()
	}
}

func (pc *packetConn) callTraffic() (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			pc.l.panicked(nil, "OnTraffic (datagram)", r)
			a = reactor.None
		}
	}()
	return pc.route.h.OnTraffic(pc)
}

func (pc *packetConn) callDone(done conn.AsyncCallback, err error) {
	defer func() {
		if r := recover(); r != nil {
			pc.l.panicked(nil, "AsyncWrite callback (datagram)", r)
		}
	}()
	done(pc, err)
}

// send writes one datagram to to, or queues it when the kernel's buffer is
// full (up to the high watermark; past it the datagram is dropped).
func (pc *packetConn) send(p []byte, to *socket.RawSockaddr, addr net.Addr) (int, error) {
	if pc.closed.Load() {
		return 0, conn.ErrClosed
	}
	if len(pc.queue) == 0 {
		n, err := socket.Sendto(pc.fd, p, to)
		switch err {
		case nil:
			pc.l.stats.bytesOut.Add(int64(n))
			return n, nil
		case unix.EAGAIN, unix.ENOBUFS:
			pc.l.stats.writeEAGAIN.Add(1)
		default:
			return 0, &net.OpError{Op: "write", Net: "udp", Source: pc.local, Addr: addr, Err: os.NewSyscallError("sendto", err)}
		}
	}
	if high := pc.l.e.o.WriteHigh; high > 0 && pc.queued+len(p) > high {
		return 0, reactor.ErrDatagramDropped
	}
	pc.queue = append(pc.queue, queuedDatagram{to: *to, p: append([]byte(nil), p...)})
	pc.queued += len(p)
	pc.l.stats.outbound.Add(int64(len(p)))
	return len(p), nil
}

func (pc *packetConn) flushQueue() {
	sent := 0
	for _, d := range pc.queue {
		n, err := socket.Sendto(pc.fd, d.p, &d.to)
		if err == unix.EAGAIN || err == unix.ENOBUFS {
			break
		}
		if err == nil {
			pc.l.stats.bytesOut.Add(int64(n))
		} // else: a datagram the network refused; UDP drops it
		sent++
		pc.queued -= len(d.p)
		pc.l.stats.outbound.Add(-int64(len(d.p)))
	}
	clear(pc.queue[:sent])
	pc.queue = pc.queue[sent:]
	if len(pc.queue) == 0 {
		pc.queue = nil
	}
}

// closePacket stops serving a UDP socket: its polls are cancelled, and the
// fd closed once the cancels are submitted.
func (l *loop) closePacket(pc *packetConn) {
	if !pc.closed.CompareAndSwap(false, true) {
		return
	}
	if pc.inArmed {
		l.cancel(userData(kindPollIn, pc.idx))
	}
	if pc.outArmed {
		l.cancel(userData(kindPollOut, pc.idx))
	}
	if l.r != nil && (pc.inArmed || pc.outArmed) {
		l.closeFds = append(l.closeFds, pc.fd)
	} else {
		unix.Close(pc.fd)
	}
	l.stats.outbound.Add(-int64(pc.queued))
	pc.queue, pc.queued = nil, 0
}

// Read implements conn.Conn.
func (pc *packetConn) Read(p []byte) (int, error) { return fdconn.Read(&pc.in, p, pc.closed.Load()) }

// Peek implements conn.Conn.
func (pc *packetConn) Peek(n int) ([]byte, error) { return fdconn.Peek(pc.in, n) }

// Next implements conn.Conn.
func (pc *packetConn) Next(n int) ([]byte, error) { return fdconn.Next(&pc.in, n) }

// Discard implements conn.Conn.
func (pc *packetConn) Discard(n int) (int, error) { return fdconn.Discard(&pc.in, n), nil }

// InboundBuffered implements conn.Conn.
func (pc *packetConn) InboundBuffered() int { return len(pc.in) }

// Write implements conn.Conn: a datagram to the current sender.
func (pc *packetConn) Write(p []byte) (int, error) {
	peer := pc.peer.Load()
	if peer == nil {
		return 0, errNoPeer
	}
	return pc.send(p, &peer.raw, peer.addr)
}

// Writev implements conn.Conn: one datagram of bufs gathered.
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

// WriteTo implements reactor.PacketConn.
func (pc *packetConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("%w: WriteTo a %T", reactor.ErrUnsupported, addr)
	}
	var to socket.RawSockaddr
	if err := socket.RawFromUDP(&to, ua, pc.family); err != nil {
		return 0, err
	}
	return pc.send(p, &to, addr)
}

// OutboundBuffered implements conn.Conn.
func (pc *packetConn) OutboundBuffered() int { return pc.queued }

// ShutdownWrite implements conn.Conn: unsupported on a datagram socket.
func (pc *packetConn) ShutdownWrite() error {
	return fmt.Errorf("%w: ShutdownWrite on a datagram socket", reactor.ErrUnsupported)
}

// SetIdleTimeout implements conn.Conn: unsupported on a datagram socket.
func (pc *packetConn) SetIdleTimeout(time.Duration) error {
	return fmt.Errorf("%w: idle timeouts on a datagram socket", reactor.ErrUnsupported)
}

// Context implements conn.Conn.
func (pc *packetConn) Context() any { return pc.ctx }

// SetContext implements conn.Conn.
func (pc *packetConn) SetContext(v any) { pc.ctx = v }

// LocalAddr implements conn.Conn.
func (pc *packetConn) LocalAddr() net.Addr { return pc.local }

// Fd implements conn.Conn.
func (pc *packetConn) Fd() int { return pc.fd }

// RemoteAddr implements conn.Conn: the sender of the latest datagram.
func (pc *packetConn) RemoteAddr() net.Addr {
	if peer := pc.peer.Load(); peer != nil {
		return peer.addr
	}
	return nil
}

// AsyncWrite implements conn.Conn.
func (pc *packetConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	peer := pc.peer.Load()
	if peer == nil {
		return errNoPeer
	}
	return pc.post(func() (int, error) { return pc.send(p, &peer.raw, peer.addr) }, done)
}

// AsyncWritev implements conn.Conn.
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

// AsyncWriteTo implements reactor.PacketConn.
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

// Wake implements conn.Conn: OnTraffic with no datagram.
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

// Close implements conn.Conn: a datagram socket closes with its engine.
func (pc *packetConn) Close() error { return nil }
