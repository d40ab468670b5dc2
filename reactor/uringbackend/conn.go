//go:build linux

package uringbackend

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// Close stages, as on the native backend: open → closing (flushing) →
// lingering (flushed and write-shut, discarding input until the peer's
// EOF) → released (fd closed, OnClose due or done).
const (
	stateOpen uint32 = iota
	stateClosing
	stateLingering
	stateReleased
)

// uconn is the conn.Conn a handler sees on the uring backend. Fields are
// touched only on its loop, but for state (any goroutine reads it).
//
// Buffers and who owns them:
//   - in is the unconsumed input. During OnTraffic it may be a view of a
//     provided buffer (inView), which goes back to the kernel when the
//     callback returns; what is left is first copied to a buffer of the
//     conn's own, dropped once consumed.
//   - out collects what Write takes; sending is what the kernel is sending
//     now (sendOff bytes done). The kernel reads sending until the send's
//     completion, so it is never written to or dropped while sendInflight.
//     Both come from the loop's pool (getBuf) and go back to it once
//     sent: a conn with nothing to send holds no output buffer.
//
// The struct is kept within the 176-byte size class, as the native conn
// is: an idle conn costs what its struct costs.
type uconn struct {
	l     *loop
	route *route
	fd    int
	local *addrBox // nil: unknown
	// remote is the peer's address: set at creation, or built on first use
	// from peer (an accepted TCP conn allocates no address until asked).
	remote atomic.Pointer[addrBox]
	ctx    any

	in      []byte
	out     *[]byte
	sending *[]byte

	idle       time.Duration
	lastActive int64

	id      uint32
	state   atomic.Uint32
	sendOff int32
	idleGen uint16 // wraps: an entry 65,536 re-arms old is long gone
	// unseen: c.in ends with input OnTraffic was not given (it arrived
	// while the conn was held, paused or moving); deliverHeld hands only
	// that over, so input the handler kept gets no OnTraffic of its own.
	// Here, in idleGen's padding, to keep the struct in its size class.
	unseen bool
	peer   socket.InetAddr
	ops    int32 // operations in the ring naming this conn
	wfd    int32 // a FIFO pair's write end (fd is its read end); -1 once closed

	inView       bool
	sendInflight bool
	congested    bool // the last send was partial: the socket was full
	recvArmed    bool // a receive is in the ring
	recvMulti    bool // and it is multishot
	recvCancel   bool // and its cancel too
	moving       bool // waiting for the receive's end to move (move.go)
	registered   bool
	dirty        bool
	readEOF      bool
	paused       bool // output past the high watermark: no receive armed
	held         bool // the application paused reading (PauseRead)
	told         bool // OnStop has run
	writeShut    bool
	shutPending  bool
	idleLive     bool
	// overflowed: a write passed WithMaxOutbound, so writes fail with
	// conn.ErrOutboundTooLarge until the loop closes the conn (a send
	// that fails closes it at once).
	overflowed bool
	pair       bool // a FIFO pair: two fds (fifo.go)
	streams    bool // it has streamed: receives of one buffer from now on
	cut        bool // its input ends where a multishot receive's buffer did: OnTraffic waits (loop.cutShort)
}

// shutWrite shuts c's write half: a socket's with shutdown(2), a FIFO
// pair's by closing its write end (no send is in flight on it).
func (c *uconn) shutWrite() error {
	if !c.pair {
		return unix.Shutdown(c.fd, unix.SHUT_WR)
	}
	fd := c.wfd
	c.wfd = -1
	return unix.Close(int(fd))
}

var _ conn.Conn = (*uconn)(nil)

func (c *uconn) released() bool  { return c.state.Load() == stateReleased }
func (c *uconn) lingering() bool { return c.state.Load() == stateLingering }

// Read implements conn.Conn.
func (c *uconn) Read(p []byte) (int, error) { return fdconn.Read(&c.in, p, c.released() || c.readEOF) }

// Peek implements conn.Conn.
func (c *uconn) Peek(n int) ([]byte, error) { return fdconn.Peek(c.in, n) }

// Next implements conn.Conn.
func (c *uconn) Next(n int) ([]byte, error) { return fdconn.Next(&c.in, n) }

// Discard implements conn.Conn.
func (c *uconn) Discard(n int) (int, error) { return fdconn.Discard(&c.in, n), nil }

// InboundBuffered implements conn.Conn.
func (c *uconn) InboundBuffered() int { return len(c.in) }

func (c *uconn) writable() error {
	switch {
	case c.state.Load() != stateOpen:
		return conn.ErrClosed
	case c.overflowed:
		return conn.ErrOutboundTooLarge
	case c.writeShut || c.shutPending:
		return conn.ErrWriteShut
	}
	return nil
}

// Write implements conn.Conn: p is copied to the conn's output and sent with
// the loop iteration's other sends.
func (c *uconn) Write(p []byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.overOutbound(len(p)) {
		return 0, c.failOverflow()
	}
	c.appendOut(p)
	c.wrote(len(p))
	return len(p), nil
}

// Writev implements conn.Conn.
func (c *uconn) Writev(bufs [][]byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total > 0 && c.overOutbound(total) {
		return 0, c.failOverflow()
	}
	n := 0
	for _, b := range bufs {
		c.appendOut(b)
		n += len(b)
	}
	if n > 0 {
		c.wrote(n)
	}
	return n, nil
}

// overOutbound tells whether buffering n more bytes would pass
// WithMaxOutbound; it is asked before the bytes are copied.
func (c *uconn) overOutbound(n int) bool {
	max := c.l.e.o.MaxOutbound
	return max > 0 && n > max-c.OutboundBuffered()
}

// failOverflow fails c for passing WithMaxOutbound, as the native backend
// does: the loop closes it at its next sync, at once (its peer is not
// keeping up, so a flush could wait forever), with
// conn.ErrOutboundTooLarge as the cause. Later writes fail with it too.
func (c *uconn) failOverflow() error {
	if !c.overflowed {
		c.overflowed = true
		c.l.stats.overflows.Add(1)
		c.l.touch(c)
	}
	return conn.ErrOutboundTooLarge
}

func (c *uconn) wrote(n int) {
	c.l.stats.outbound.Add(int64(n))
	if high := c.l.e.o.WriteHigh; high > 0 && !c.paused && c.OutboundBuffered() > high {
		c.paused = true
	}
	c.l.touch(c)
}

// OutboundBuffered implements conn.Conn: bytes written and not yet taken
// by the kernel (those of a send in flight included).
func (c *uconn) OutboundBuffered() int {
	n := 0
	if c.out != nil {
		n = len(*c.out)
	}
	if c.sending != nil {
		n += len(*c.sending) - int(c.sendOff)
	}
	return n
}

// appendOut adds p to the output, in a buffer from the loop's pool.
func (c *uconn) appendOut(p []byte) {
	if len(p) == 0 {
		return
	}
	if c.out == nil {
		c.out = c.l.getBuf()
	}
	*c.out = append(*c.out, p...)
}

// ShutdownWrite implements conn.Conn.
func (c *uconn) ShutdownWrite() error {
	if err := c.writable(); err != nil {
		return err
	}
	c.shutPending = true
	c.l.touch(c)
	return nil
}

// SetIdleTimeout implements conn.Conn. One timer entry serves a timeout
// that does not shrink: when it comes due it re-arms from the last
// activity. A shorter timeout arms an earlier entry; older ones lapse.
func (c *uconn) SetIdleTimeout(d time.Duration) error {
	if d < 0 {
		return errors.New("conn: negative idle timeout")
	}
	old := c.idle
	c.idle = d
	c.lastActive = c.l.now
	if d == 0 {
		c.idleLive = false
		c.idleGen++
		return nil
	}
	if c.released() || !c.registered {
		return nil
	}
	if !c.idleLive || d < old {
		c.armIdle(c.lastActive + int64(d))
	}
	return nil
}

func (c *uconn) armIdle(when int64) {
	c.idleGen++
	c.idleLive = true
	c.l.atIdle(when, c)
}

// idleDead reports whether c's idle entry of generation gen would do
// nothing when due (a later entry serves the timeout, or there is none
// to serve), and if so counts it gone, for the loop's sweep.
func (c *uconn) idleDead(gen uint16) bool {
	if gen != c.idleGen {
		return true
	}
	if c.released() || c.idle == 0 {
		c.idleLive = false
		return true
	}
	return false
}

// idleDue is c's idle timer entry armed as generation gen coming due.
func (c *uconn) idleDue(gen uint16) {
	if gen != c.idleGen {
		return // a later entry serves the timeout
	}
	c.idleLive = false
	if c.released() || c.idle == 0 || c.lingering() {
		return
	}
	if deadline := c.lastActive + int64(c.idle); deadline > c.l.now {
		c.armIdle(deadline)
		return
	}
	c.l.teardown(c, reactor.ErrIdleTimeout)
}

// Context implements conn.Conn.
func (c *uconn) Context() any { return c.ctx }

// SetContext implements conn.Conn.
func (c *uconn) SetContext(v any) { c.ctx = v }

// AsyncWrite implements conn.Conn.
func (c *uconn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	if c.released() {
		return conn.ErrClosed
	}
	return c.l.Post(func() {
		_, err := c.Write(p)
		if done != nil {
			c.l.asyncDone(c, done, err)
		}
	})
}

// AsyncWritev implements conn.Conn.
func (c *uconn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	if c.released() {
		return conn.ErrClosed
	}
	return c.l.Post(func() {
		_, err := c.Writev(bufs)
		if done != nil {
			c.l.asyncDone(c, done, err)
		}
	})
}

// RunOnLoop runs task on the conn's loop, also after the conn has closed,
// while the loop runs: how a layer reports something about a conn that
// became known only after its OnClose (a TLS dial's handshake verdict).
func (c *uconn) RunOnLoop(task func()) error { return c.l.Post(task) }

// PauseRead implements conn.ReadPauser: no receive is armed until
// ResumeRead (one already in flight still completes into the conn).
func (c *uconn) PauseRead() error {
	if c.released() {
		return conn.ErrClosed
	}
	c.held = true
	return nil
}

// ResumeRead implements conn.ReadPauser.
func (c *uconn) ResumeRead() error {
	if c.released() {
		return conn.ErrClosed
	}
	if !c.held {
		return nil
	}
	c.held = false
	c.l.touch(c)
	if len(c.in) > 0 {
		return c.Wake()
	}
	return nil
}

// Wake implements conn.Conn.
func (c *uconn) Wake() error {
	if c.released() {
		return conn.ErrClosed
	}
	return c.l.Post(func() {
		if c.released() {
			return
		}
		l := c.l
		a := l.callTraffic(c)
		c.unseen = false // it was given all of c.in
		l.retain(c)
		if l.finishMove(c) || c.released() {
			return
		}
		c.l.act(c, a)
		c.l.touch(c)
	})
}

// Close implements conn.Conn.
func (c *uconn) Close() error {
	if c.released() {
		return conn.ErrClosed
	}
	return c.l.Post(func() { c.l.closeConn(c, nil) })
}

// LocalAddr implements conn.Conn.
func (c *uconn) LocalAddr() net.Addr {
	if c.local == nil {
		return nil
	}
	return c.local.Addr
}

// RemoteAddr implements conn.Conn.
func (c *uconn) RemoteAddr() net.Addr {
	if b := c.remote.Load(); b != nil {
		return b.Addr
	}
	a := c.peer.TCPAddr()
	if a == nil {
		return nil
	}
	// Two goroutines may race to build it; both return the one stored.
	c.remote.CompareAndSwap(nil, &addrBox{a})
	return c.remote.Load().Addr
}

// addrBox holds a net.Addr of any type for an atomic.Pointer.
type addrBox struct{ net.Addr }

func (c *uconn) setRemote(a net.Addr) { c.remote.Store(&addrBox{a}) }

// Fd implements conn.Conn.
func (c *uconn) Fd() int { return c.fd }
