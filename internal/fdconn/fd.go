//go:build unix

// Package fdconn is evloop's native conn: conn.Conn over nonblocking file
// descriptors, driven by an event loop through the Owner interface. Only the
// engine (package reactor) sees it; handlers see conn.Conn.
//
// A conn has two small lifecycles, each one state field: its close (open →
// closing → lingering → released, see closeStage) and its write half (open →
// shut-pending → shut, see writeStage). Its idle timeout is kept here too
// (idle.go): the loop only holds the timer entries the conn asks for.
package fdconn

import (
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/socket"
)

// closeStage is where a conn is in its close. Stages only move forward, and
// may be skipped: an error releases an open conn at once.
type closeStage uint32

const (
	stageOpen      closeStage = iota
	stageClosing              // flush, then close; no more reading or writing
	stageLingering            // flushed and write-shut: discarding input until the peer's EOF
	stageReleased             // fds closed, buffers returned; OnClose is due or done
)

// writeStage is where a conn's write half is.
type writeStage uint8

const (
	writeOpen        writeStage = iota
	writeShutPending            // ShutdownWrite: shut once flushed
	writeShut                   // shut (or a FIFO pair's write end closed)
)

// FD is the native Conn over nonblocking file descriptors: one for sockets,
// or a read fd and a write fd for FIFO pairs.
//
// The struct is kept within 176 bytes (a Go size class): idle conns are
// mostly this struct, so every word counts at 10,000 conns.
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
	outHead int32
	stage   atomic.Uint32 // a closeStage; read from any goroutine
	write   writeStage

	readPaused bool // backpressure
	readHeld   bool // the application paused reading (PauseRead)
	readEOF    bool
	regRead    bool // interest the poller has now
	regWrite   bool
	registered bool
	// The loop's idle-timer entries for this conn: how many there are, the
	// generation of the live one (older ones are stale: dropped when they
	// come due), and whether one is live. See idle.go.
	idleTimers uint8
	idleGen    uint8
	idleLive   bool

	// in holds the unconsumed inbound bytes: a view of shared.ReadBuf during
	// a callback, or of inBuf once retained past one.
	in    []byte
	inBuf *[]byte

	// out holds output the kernel has not taken yet: (*out)[outHead:].
	out *[]byte

	ctx          any
	idleTimeout  time.Duration
	lastActive   int64
	writeFailure error
}

var _ conn.Conn = (*FD)(nil)

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
// inline and becomes a net.Addr only when RemoteAddr is first called.
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

func (c *FD) closeStage() closeStage { return closeStage(c.stage.Load()) }

// ReadFd is the fd the conn reads from.
func (c *FD) ReadFd() int { return int(c.rfd) }

// WriteFd is the fd the conn writes to: the same as ReadFd for sockets, -1
// once a FIFO pair's write end is closed.
func (c *FD) WriteFd() int { return int(c.wfd) }

// IsPair tells whether the conn is a FIFO pair: a read fd and a write fd.
func (c *FD) IsPair() bool { return c.rfd != c.wfd }

// Fd is the fd the conn reads from.
func (c *FD) Fd() int { return int(c.rfd) }

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

// Owner is the loop that owns the conn (nil until SetOwner).
func (c *FD) Owner() Owner {
	if c.shared == nil {
		return nil
	}
	return c.shared.Owner
}

// YieldLoop implements conn.LoopYielder: the native loop is an ordinary
// goroutine, which lets the ones its callback made runnable have its
// processor.
func (c *FD) YieldLoop() { runtime.Gosched() }
