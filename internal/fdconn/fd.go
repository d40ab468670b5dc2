//go:build unix

package fdconn

import (
	"errors"
	"github.com/evloop/evloop/conn"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/socket"
)

// Owner is the event loop side of a native conn: what an FD asks of the loop
// that owns it. The reactor implements it; FD calls it on the loop goroutine
// except for Post.
type Owner interface {
	// SetInterest makes the loop watch fd for reading and/or writing.
	SetInterest(fd int, read, write bool) error
	// Post runs task on the loop goroutine; safe from any goroutine. It
	// returns conn.ErrClosed once the loop has stopped.
	Post(task func()) error
	// CloseConn closes c: with err == nil once its output is flushed, with an
	// error at once. OnClose receives err.
	CloseConn(c *FD, err error)
	// TrafficConn calls the handler's OnTraffic for c (after Wake).
	TrafficConn(c *FD)
	// IdleChanged asks the loop for an idle-timer entry at c's last
	// activity plus its timeout (SetIdleTimeout calls it only when no armed
	// entry would be due by then).
	IdleChanged(c *FD)
	// AsyncDone calls an AsyncWrite's or AsyncWritev's done callback for c
	// on the loop, guarded as the handler's callbacks are: a panic in it
	// closes c, not the process.
	AsyncDone(c *FD, done conn.AsyncCallback, err error)
}

// Shared is what a loop lends to all of its conns: the loop itself (Owner),
// the engine's buffer limits, one read buffer (an idle conn holds no inbound
// memory), writev scratch, the loop's clock and its counters. Keeping these
// here rather than in every FD saves each conn three words. Only the loop
// goroutine writes it; counters are atomic so Stats can be read from anywhere.
type Shared struct {
	Owner       Owner
	Limits      *Limits // nil: no limits
	ReadBuf     []byte
	Now         int64 // the loop clock (monotonic ns), refreshed once per wakeup
	iovs        []unix.Iovec
	BytesIn     atomic.Int64
	BytesOut    atomic.Int64
	WriteEAGAIN atomic.Int64
	Outbound    atomic.Int64 // bytes buffered by all of the loop's conns
}

// Limits are a conn's buffer limits.
type Limits struct {
	WriteLow, WriteHigh int // backpressure watermarks on outbound bytes
	MaxInbound          int // unconsumed inbound bytes before the conn is closed; 0: no cap
}

var noLimits Limits

// Origin is what the conns of one listener (or one dial) share: their local
// address and the engine's handler for them. Conns point to it rather than
// holding either, which keeps FD in its size class.
type Origin struct {
	// Local is every conn's local address; for a listener bound to a
	// wildcard IP, where each conn has its own, the conn gets an Origin of
	// its own.
	Local net.Addr
	// Handler is the engine's, opaque to the conn: the loop stores its
	// handler for these conns here.
	Handler any
}

// FD is the native Conn over nonblocking file descriptors: one for sockets,
// or a read fd and a write fd for FIFO pairs.
//
// The struct is kept to 176 bytes (a Go size class): idle conns are mostly
// this struct, so every word counts at 10,000 conns.
type FD struct {
	rfd, wfd int32
	shared   *Shared // the owning loop's; nil until SetOwner
	origin   *Origin // never nil
	// remote is the peer's net.Addr: set at creation, or built on first use
	// from peer (an accepted TCP conn allocates no address until asked).
	remote atomic.Value
	peer   socket.InetAddr
	// outHead is an int32 to keep the struct in its size class; Flush moves
	// the pending bytes down before it could overflow.
	outHead     int32
	closed      atomic.Bool
	closing     bool // flush, then close
	lingering   bool // flushed and write-shut: discarding input until the peer's EOF
	shutPending bool // shut the write half once flushed
	writeShut   bool

	// in holds the unconsumed inbound bytes: a view of shared.ReadBuf during
	// a callback, or of inBuf once retained past one.
	in    []byte
	inBuf *[]byte

	// out holds output the kernel has not taken yet: (*out)[outHead:].
	out *[]byte

	ctx         any
	idleTimeout time.Duration
	lastActive  int64

	readPaused bool // backpressure
	readEOF    bool
	regRead    bool // interest the poller has now
	regWrite   bool
	registered bool
	// The loop's idle-timer entries for this conn: how many there are, the
	// generation of the live one (older ones are stale: dropped when they
	// come due), and whether one is live. See SetIdleTimeout.
	idleTimers   uint8
	idleGen      uint8
	idleLive     bool
	writeFailure error
}

// NewFD wraps fds that are already nonblocking (they must be: reads and
// writes on them are raw system calls, invisible to the Go scheduler, that
// would stall the loop thread on a blocking fd). rfd and wfd are the same fd
// for sockets. The loop registers the conn with its poller and then calls
// Registered. shared may be nil until SetOwner; origin nil means no local
// address and no handler.
func NewFD(rfd, wfd int, origin *Origin, remote net.Addr, shared *Shared) *FD {
	c := &FD{rfd: int32(rfd), wfd: int32(wfd), origin: orNoOrigin(origin), shared: shared}
	if remote != nil {
		c.remote.Store(addrBox{remote})
	}
	return c
}

// NewAcceptedFD wraps a socket that accept returned. An IP peer is kept
// inline and becomes a net.Addr only when RemoteAddr is first called. It is
// for evloop's own loops: peer comes from an internal package.
func NewAcceptedFD(fd int, origin *Origin, peer *socket.Peer) *FD {
	c := &FD{rfd: int32(fd), wfd: int32(fd), origin: orNoOrigin(origin), peer: peer.Inet}
	if peer.Inet.Family == 0 {
		c.remote.Store(addrBox{peer.Addr})
	}
	return c
}

// SetOwner hands the conn to the loop that will own it, before it is
// registered there.
func (c *FD) SetOwner(shared *Shared) { c.shared = shared }

func (c *FD) owner() Owner { return c.shared.Owner }

func (c *FD) limits() *Limits {
	if c.shared == nil || c.shared.Limits == nil {
		return &noLimits
	}
	return c.shared.Limits
}

// ReadFd is the fd the conn reads from.
func (c *FD) ReadFd() int { return int(c.rfd) }

// WriteFd is the fd the conn writes to (the same as ReadFd for sockets).
func (c *FD) WriteFd() int { return int(c.wfd) }

// Fd is the fd the conn reads from.
func (c *FD) Fd() int { return int(c.rfd) }

var noOrigin Origin

func orNoOrigin(o *Origin) *Origin {
	if o == nil {
		return &noOrigin
	}
	return o
}

// LocalAddr is the local address.
func (c *FD) LocalAddr() net.Addr { return c.origin.Local }

// Origin is the record the conn shares with its listener's (or dial's)
// other conns.
func (c *FD) Origin() *Origin { return c.origin }

// RemoteAddr is the peer's address. It is safe from any goroutine.
func (c *FD) RemoteAddr() net.Addr {
	if b, ok := c.remote.Load().(addrBox); ok {
		return b.Addr
	}
	a := c.peer.TCPAddr()
	if a == nil {
		return nil
	}
	// Two goroutines may race to build it; both return the one stored.
	c.remote.CompareAndSwap(nil, addrBox{a})
	return c.remote.Load().(addrBox).Addr
}

// addrBox gives atomic.Value one concrete type whatever the address's.
type addrBox struct{ net.Addr }

// PeerIP is the peer's IP address without allocating, or nil when the peer
// has none inline (unix sockets, FIFOs, dialed conns): for load balancing by
// source.
func (c *FD) PeerIP() []byte { return c.peer.IPBytes() }

// Context returns the handler's per-conn value.
func (c *FD) Context() any { return c.ctx }

// SetContext stores the handler's per-conn value.
func (c *FD) SetContext(v any) { c.ctx = v }

// ---- inbound ----

// Peek returns the next n buffered bytes (n < 0: all) without consuming them.
func (c *FD) Peek(n int) ([]byte, error) {
	if n < 0 || n == len(c.in) {
		return c.in, nil
	}
	if n > len(c.in) {
		return c.in, io.ErrShortBuffer
	}
	return c.in[:n:n], nil
}

// Next returns and consumes the next n buffered bytes (n < 0: all). Asking
// for more than is buffered consumes nothing.
func (c *FD) Next(n int) ([]byte, error) {
	b, err := c.Peek(n)
	if err != nil {
		return nil, err
	}
	c.in = c.in[len(b):]
	return b, nil
}

// Discard drops the next n buffered bytes (n < 0 or more than buffered: all).
func (c *FD) Discard(n int) (int, error) {
	if n < 0 || n > len(c.in) {
		n = len(c.in)
	}
	c.in = c.in[n:]
	return n, nil
}

// Read copies buffered bytes into p and consumes them.
func (c *FD) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		if c.closed.Load() || c.readEOF {
			return 0, io.EOF
		}
		return 0, conn.ErrNoData
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

// InboundBuffered is the number of unconsumed inbound bytes.
func (c *FD) InboundBuffered() int { return len(c.in) }

// FillFrom reads once from the kernel. With nothing retained it reads into
// the loop's shared buffer; otherwise it appends to the conn's own buffer.
// It returns the bytes read, io.EOF at end of stream, unix.EAGAIN when
// nothing is ready, or the read error.
func (c *FD) FillFrom() (int, error) {
	scratch := c.shared.ReadBuf
	var dst []byte
	if len(c.in) == 0 {
		c.releaseInbound()
		dst = scratch
	} else {
		dst = c.inboundTail(len(scratch))
	}
	n, err := readRetry(int(c.rfd), dst)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		c.readEOF = true
		return 0, io.EOF
	}
	if c.inBuf == nil {
		c.in = scratch[:n]
	} else {
		c.in = c.in[:len(c.in)+n]
	}
	c.lastActive = c.shared.Now
	c.shared.BytesIn.Add(int64(n))
	return n, nil
}

// inboundTail makes room for want more bytes after the retained ones and
// returns that free space. Retained bytes move to the front of the buffer
// first so the buffer grows only with what is really unconsumed.
func (c *FD) inboundTail(want int) []byte {
	buf := *c.inBuf
	need := len(c.in) + want
	if cap(buf) < need {
		nb := getBuf(need)
		*nb = append((*nb)[:0], c.in...)
		putBuf(c.inBuf)
		c.inBuf = nb
		c.in = *nb
	} else if start := cap(buf) - cap(c.in); start > 0 && start+need > cap(buf) {
		c.in = buf[:copy(buf[:cap(buf)], c.in)]
	}
	return c.in[len(c.in):cap(c.in)][:want]
}

// Retain keeps unconsumed bytes past the callback: a view of the shared read
// buffer is copied into a pooled buffer of the conn's own. It returns
// conn.ErrInboundTooLarge when the unconsumed bytes pass the inbound limit.
func (c *FD) Retain() error {
	if len(c.in) == 0 {
		c.releaseInbound()
		return nil
	}
	if c.inBuf == nil {
		nb := getBuf(len(c.in))
		*nb = append((*nb)[:0], c.in...)
		c.inBuf = nb
		c.in = *nb
	}
	if c.limits().MaxInbound > 0 && len(c.in) > c.limits().MaxInbound {
		return conn.ErrInboundTooLarge
	}
	return nil
}

func (c *FD) releaseInbound() {
	if c.inBuf != nil {
		putBuf(c.inBuf)
		c.inBuf = nil
	}
	c.in = nil
}

// ---- outbound ----

// OutboundBuffered is the number of bytes waiting for the kernel.
func (c *FD) OutboundBuffered() int {
	if c.out == nil {
		return 0
	}
	return len(*c.out) - int(c.outHead)
}

func (c *FD) writable() error {
	switch {
	case c.closed.Load() || c.closing:
		// Closing means "after what was written so far": later writes
		// would make the close wait on output nobody asked for before it.
		return conn.ErrClosed
	case c.writeFailure != nil:
		return c.writeFailure
	case c.writeShut || c.shutPending:
		return conn.ErrWriteShut
	}
	return nil
}

// Write writes what the kernel takes now and buffers the rest.
func (c *FD) Write(p []byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	rest := p
	if c.OutboundBuffered() == 0 {
		n, err := writeRetry(int(c.wfd), p)
		if err != nil {
			return 0, c.failWrite(err)
		}
		rest = p[n:]
		c.wrote(n, len(rest))
	}
	if len(rest) > 0 {
		c.appendOut(rest)
		c.syncInterest()
	}
	return len(p), nil
}

// Writev writes bufs in order, gathered into one writev(2) when nothing is
// buffered, and buffers what the kernel does not take.
func (c *FD) Writev(bufs [][]byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return 0, nil
	}
	skip := 0
	if c.OutboundBuffered() == 0 {
		n, iovs, err := writevRetry(int(c.wfd), bufs, c.shared.iovs)
		c.shared.iovs = iovs
		if err != nil {
			return 0, c.failWrite(err)
		}
		skip = n
		c.wrote(n, total-n)
	}
	if skip < total {
		for _, b := range bufs {
			if skip >= len(b) {
				skip -= len(b)
				continue
			}
			c.appendOut(b[skip:])
			skip = 0
		}
		c.syncInterest()
	}
	return total, nil
}

func (c *FD) wrote(n, left int) {
	if n > 0 {
		c.shared.BytesOut.Add(int64(n))
		c.lastActive = c.shared.Now
	}
	if left > 0 {
		c.shared.WriteEAGAIN.Add(1)
	}
}

// failWrite records a fatal write error and asks the loop to close the conn
// with it; the loop does so after the current callback, never inside it.
func (c *FD) failWrite(err error) error {
	err = os.NewSyscallError("write", err)
	if c.writeFailure == nil {
		c.writeFailure = err
		if perr := c.owner().Post(func() { c.owner().CloseConn(c, err) }); perr != nil {
			c.owner().CloseConn(c, err)
		}
	}
	return err
}

// maxOutHead is where Flush moves unsent output to the front of its buffer,
// well before outHead (an int32) could overflow; single writes are at most
// 2 GiB on Linux.
var maxOutHead int32 = 1 << 30 // a var so tests can lower it

func (c *FD) appendOut(p []byte) {
	c.shared.Outbound.Add(int64(len(p)))
	if c.out == nil {
		c.out = getBuf(len(p))
		*c.out = append(*c.out, p...)
		return
	}
	buf := *c.out
	pending := len(buf) - int(c.outHead)
	switch {
	case len(buf)+len(p) <= cap(buf):
	case pending+len(p) <= cap(buf):
		// Room at the front: move the pending bytes there.
		n := copy(buf[:cap(buf)], buf[c.outHead:])
		buf = buf[:n]
		c.outHead = 0
	default:
		nb := getBuf(pending + len(p))
		*nb = append((*nb)[:0], buf[c.outHead:]...)
		putBuf(c.out)
		c.out = nb
		c.outHead = 0
		buf = *nb
	}
	*c.out = append(buf, p...)
}

// Flush writes buffered output until the kernel stops taking it. When all is
// written it frees the buffer, ends backpressure, performs a pending
// ShutdownWrite and, if the conn is closing, reports done = true.
func (c *FD) Flush() (done bool, err error) {
	for c.OutboundBuffered() > 0 {
		pending := (*c.out)[c.outHead:]
		n, err := writeRetry(int(c.wfd), pending)
		if err != nil {
			c.writeFailure = os.NewSyscallError("write", err)
			return false, c.writeFailure
		}
		c.outHead += int32(n)
		c.shared.Outbound.Add(-int64(n))
		c.wrote(n, len(pending)-n)
		if n < len(pending) {
			if c.outHead > maxOutHead {
				rest := copy(*c.out, (*c.out)[c.outHead:])
				*c.out = (*c.out)[:rest]
				c.outHead = 0
			}
			break
		}
	}
	if c.OutboundBuffered() == 0 && c.out != nil {
		putBuf(c.out)
		c.out, c.outHead = nil, 0
	}
	if c.OutboundBuffered() == 0 && c.shutPending {
		c.shutPending = false
		c.writeShut = true
		if err := c.shutWrite(); err != nil {
			return false, err
		}
	}
	c.syncInterest()
	return c.closing && c.OutboundBuffered() == 0, nil
}

func (c *FD) shutWrite() error {
	if c.wfd != c.rfd {
		// A FIFO pair: closing the write end is how the peer sees EOF. The
		// loop must forget the fd first; an owner that cannot is told to
		// stop watching it at least.
		if f, ok := c.owner().(interface{ ForgetFd(fd int) }); ok {
			f.ForgetFd(int(c.wfd))
		} else {
			c.owner().SetInterest(int(c.wfd), false, false)
		}
		err := unix.Close(int(c.wfd))
		c.wfd = -1
		return os.NewSyscallError("close", err)
	}
	return os.NewSyscallError("shutdown", unix.Shutdown(int(c.wfd), unix.SHUT_WR))
}

// ShutdownWrite half-closes the conn once pending output is flushed.
func (c *FD) ShutdownWrite() error {
	if err := c.writable(); err != nil {
		return err
	}
	c.shutPending = true
	if c.OutboundBuffered() == 0 {
		_, err := c.Flush()
		return err
	}
	return nil
}

// ---- interest and state, driven by the loop ----

// syncInterest tells the poller what the conn wants now: reading unless
// paused by backpressure, closing or EOF; writing while output is pending.
func (c *FD) syncInterest() {
	out := c.OutboundBuffered()
	if c.limits().WriteHigh > 0 {
		if !c.readPaused && out > c.limits().WriteHigh {
			c.readPaused = true
		} else if c.readPaused && out <= c.limits().WriteLow {
			c.readPaused = false
		}
	}
	wantRead := c.lingering || (!c.readPaused && !c.closing && !c.readEOF)
	wantWrite := out > 0
	if !c.registered || c.closed.Load() {
		return
	}
	if c.rfd == c.wfd {
		if wantRead != c.regRead || wantWrite != c.regWrite {
			c.owner().SetInterest(int(c.rfd), wantRead, wantWrite)
			c.regRead, c.regWrite = wantRead, wantWrite
		}
		return
	}
	if wantRead != c.regRead {
		c.owner().SetInterest(int(c.rfd), wantRead, false)
		c.regRead = wantRead
	}
	if wantWrite != c.regWrite && c.wfd >= 0 {
		c.owner().SetInterest(int(c.wfd), false, wantWrite)
		c.regWrite = wantWrite
	}
}

// Registered records that the loop added the conn's fds to its poller with
// read interest (and no write interest).
func (c *FD) Registered() {
	c.registered = true
	c.regRead, c.regWrite = true, false
	c.lastActive = c.shared.Now
	c.syncInterest()
}

// WantsRead tells whether the conn is reading now (not paused or closing).
func (c *FD) WantsRead() bool { return c.regRead }

// ReadPaused tells whether backpressure has paused reading.
func (c *FD) ReadPaused() bool { return c.readPaused }

// BeginClose marks the conn closing: it stops reading and closes once output
// is flushed. It reports whether nothing is left to flush.
func (c *FD) BeginClose() bool {
	c.closing = true
	c.syncInterest()
	return c.OutboundBuffered() == 0
}

// Linger shuts the write half of a flushed, closing socket and keeps
// reading, so that the loop can discard what the peer still sends until its
// EOF. Closing a socket with unread input makes the kernel send RST, and an
// RST makes the peer's kernel drop output it has not read yet: lingering is
// how every byte written before a Close reaches the peer. It reports false
// when there is nothing to wait for (EOF already seen, or not a socket), so
// the conn can be released at once.
func (c *FD) Linger() bool {
	if c.readEOF || c.rfd != c.wfd || c.lingering {
		return false
	}
	if err := unix.Shutdown(int(c.wfd), unix.SHUT_WR); err != nil {
		return false
	}
	c.writeShut = true
	c.lingering = true
	c.in = c.in[:0]
	c.syncInterest()
	return true
}

// Lingering tells whether the conn is discarding input before its close.
func (c *FD) Lingering() bool { return c.lingering }

// Closing tells whether the conn is waiting to flush before closing.
func (c *FD) Closing() bool { return c.closing }

// IsClosed tells whether the conn has been released. Safe from any goroutine.
func (c *FD) IsClosed() bool { return c.closed.Load() }

// Release marks the conn closed, closes its fds and returns its buffers. The
// loop removes the fds from its poller first. It reports false if the conn
// was already released, so teardown happens once.
func (c *FD) Release() bool {
	if !c.closed.CompareAndSwap(false, true) {
		return false
	}
	if c.rfd >= 0 {
		unix.Close(int(c.rfd))
	}
	if c.wfd >= 0 && c.wfd != c.rfd {
		unix.Close(int(c.wfd))
	}
	c.shared.Outbound.Add(-int64(c.OutboundBuffered()))
	// Inbound stays readable (Peek/Next) in OnClose only if retained; the
	// shared-buffer view would be overwritten, so drop it.
	if c.inBuf == nil {
		c.in = nil
	}
	if c.out != nil {
		putBuf(c.out)
		c.out, c.outHead = nil, 0
	}
	return true
}

// ReleaseInbound frees retained inbound bytes after OnClose.
func (c *FD) ReleaseInbound() { c.releaseInbound() }

// LastActive is the loop clock (monotonic ns) of the last read or write.
func (c *FD) LastActive() int64 { return c.lastActive }

// maxIdleTimers bounds the timer entries one conn can have at once (stale
// ones from a handler shrinking its timeout, or turning it off and on, over
// and over). Past it, a new timeout waits for an entry to come due: the
// live one, or a stale one that becomes live (see IdleLive).
const maxIdleTimers = 64

// IdleTimerArmed records that the loop put a new live idle-timer entry for c
// in its timer heap, and returns the entry's generation.
func (c *FD) IdleTimerArmed() uint8 {
	c.idleTimers++
	c.idleGen++
	c.idleLive = true
	return c.idleGen
}

// IdleLive tells whether an idle-timer entry of c is live.
func (c *FD) IdleLive() bool { return c.idleLive }

// IdleTimerRearmed records that the loop put the live entry back.
func (c *FD) IdleTimerRearmed() {
	c.idleTimers++
	c.idleLive = true
}

// IdleTimerFired records that the loop took an entry of generation gen out,
// and reports whether it was the live one (else it is stale: drop it). The
// loop then re-arms it, or it has lapsed.
func (c *FD) IdleTimerFired(gen uint8) (live bool) {
	c.idleTimers--
	if gen != c.idleGen || !c.idleLive {
		return false
	}
	c.idleLive = false
	return true
}

// IdleTimeout is the conn's idle timeout (0: none).
func (c *FD) IdleTimeout() time.Duration { return c.idleTimeout }

// SetIdleTimeout closes the conn after d without traffic; 0 disables it.
func (c *FD) SetIdleTimeout(d time.Duration) error {
	if d < 0 {
		return errors.New("conn: negative idle timeout")
	}
	old := c.idleTimeout
	c.idleTimeout = d
	c.lastActive = c.shared.Now
	if d == 0 {
		c.idleLive = false // an entry still armed is stale now, and lapses
		return nil
	}
	if !c.registered || c.closed.Load() {
		return nil
	}
	// The live entry is due no later than the last activity plus the old
	// timeout, and re-arms itself from there, so it serves a timeout that
	// did not shrink: re-arming per message adds no entry. A shorter
	// timeout needs an earlier entry, which becomes the live one.
	if (!c.idleLive || d < old) && c.idleTimers < maxIdleTimers {
		c.owner().IdleChanged(c)
	}
	return nil
}

// ---- any goroutine ----

// AsyncWrite queues p for writing on the loop.
func (c *FD) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	if c.closed.Load() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		_, err := c.Write(p)
		if done != nil {
			c.owner().AsyncDone(c, done, err)
		}
	})
}

// AsyncWritev queues bufs for writing on the loop.
func (c *FD) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	if c.closed.Load() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		_, err := c.Writev(bufs)
		if done != nil {
			c.owner().AsyncDone(c, done, err)
		}
	})
}

// Wake makes the loop call OnTraffic for the conn.
func (c *FD) Wake() error {
	if c.closed.Load() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		if !c.closed.Load() {
			c.owner().TrafficConn(c)
		}
	})
}

// Close closes the conn once its output is flushed.
func (c *FD) Close() error {
	if c.closed.Load() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() { c.owner().CloseConn(c, nil) })
}

// ---- syscalls ----

func readRetry(fd int, p []byte) (int, error) {
	for {
		n, err := socket.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// writeRetry writes once; EAGAIN is not an error but zero bytes taken.
func writeRetry(fd int, p []byte) (int, error) {
	for {
		n, err := socket.Write(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}

func writevRetry(fd int, bufs [][]byte, iovs []unix.Iovec) (int, []unix.Iovec, error) {
	n, iovs, err := socket.Writev(fd, bufs, iovs)
	if err == unix.EAGAIN {
		return 0, iovs, nil
	}
	return n, iovs, err
}

var _ conn.Conn = (*FD)(nil)
