// Package conn defines the connection contract evloop's handlers program
// against: the Conn interface, its errors and AsyncCallback. The backends
// implement it (the native one in internal/fdconn, over nonblocking file
// descriptors; gnetbackend over gnet's conns); a handler sees nothing else.
//
// A Conn belongs to one event loop. Methods marked "loop only" may be called
// only from inside that loop's callbacks (OnOpen, OnTraffic, OnTick, ...);
// they take no locks. Methods marked "any goroutine" hand work to the loop
// through its task queue and one coalesced wakeup.
//
// Inbound bytes are buffered by the conn: a handler may consume some of them
// (Next, Discard, Read) and leave the rest for the next OnTraffic. Outbound
// bytes go to the kernel at once when it takes them; the rest is buffered,
// flushed in order when the fd turns writable, and counted by
// OutboundBuffered.
package conn

import (
	"errors"
	"io"
	"net"
	"time"
)

// AsyncCallback is called on the conn's loop once an asynchronous write has
// been handed to the kernel or buffered (err == nil), or has failed because
// the conn closed first. Its return value is ignored; it exists so callbacks
// written for gnet fit unchanged.
type AsyncCallback func(c Conn, err error) error

// Conn is a connection as a handler sees it.
type Conn interface {
	// Read copies buffered inbound bytes into p and consumes them (loop only).
	// With nothing buffered it returns 0 and ErrNoData: the conn never blocks.
	Read(p []byte) (int, error)
	// Peek returns the next n buffered inbound bytes without consuming them;
	// n < 0 means all of them (loop only). The slice is valid until the
	// callback returns or the next call that consumes. Asking for more than
	// is buffered returns what there is and io.ErrShortBuffer.
	Peek(n int) ([]byte, error)
	// Next is Peek followed by Discard of the same bytes (loop only). Asking
	// for more than is buffered consumes nothing and returns io.ErrShortBuffer.
	Next(n int) ([]byte, error)
	// Discard drops the next n buffered inbound bytes; n < 0 drops all (loop only).
	Discard(n int) (int, error)
	// InboundBuffered is the number of inbound bytes not yet consumed (loop only).
	InboundBuffered() int

	// Write writes p, buffering what the kernel does not take now (loop only).
	// It never blocks. p may be reused once Write returns.
	Write(p []byte) (int, error)
	// Writev writes bufs in order as one gathered write (loop only).
	Writev(bufs [][]byte) (int, error)
	// OutboundBuffered is the number of bytes written but not yet taken by
	// the kernel (loop only).
	OutboundBuffered() int
	// ShutdownWrite half-closes the conn once pending output is flushed: the
	// peer reads EOF, and this side may still read (loop only).
	ShutdownWrite() error
	// SetIdleTimeout closes the conn after d without traffic; 0 disables it
	// (loop only).
	SetIdleTimeout(d time.Duration) error
	// Context returns the value stored with SetContext (loop only).
	Context() any
	// SetContext stores a per-conn value for the handler (loop only).
	SetContext(v any)

	// AsyncWrite queues p to be written on the conn's loop (any goroutine).
	// p must not be modified until done is called (done may be nil).
	AsyncWrite(p []byte, done AsyncCallback) error
	// AsyncWritev is AsyncWrite for several buffers (any goroutine).
	AsyncWritev(bufs [][]byte, done AsyncCallback) error
	// Wake makes the loop call OnTraffic for this conn (any goroutine).
	Wake() error
	// Close closes the conn once its pending output is flushed (any goroutine).
	Close() error

	// LocalAddr is the local address; for FIFO pairs a FIFOAddr.
	LocalAddr() net.Addr
	// RemoteAddr is the peer's address (for UDP, the sender of the datagram).
	RemoteAddr() net.Addr
	// Fd is the fd the conn reads from (the gnet backend: the socket fd).
	Fd() int
}

var (
	// ErrClosed is returned by calls on a conn that has been closed.
	ErrClosed = errors.New("conn: closed")
	// ErrNoData is returned by Read when nothing is buffered.
	ErrNoData = errors.New("conn: no inbound data buffered")
	// ErrInboundTooLarge is the OnClose cause when a peer sends more than the
	// inbound limit (WithMaxInbound) without the handler consuming it.
	ErrInboundTooLarge = errors.New("conn: inbound buffer limit exceeded")
	// ErrOutboundTooLarge is returned by a write that would buffer more
	// than the outbound limit (WithMaxOutbound), and is the OnClose cause of
	// the conn, which is closed at once: its peer is not reading (or not
	// fast enough), and what is buffered for it is dropped.
	ErrOutboundTooLarge = errors.New("conn: outbound buffer limit exceeded")
	// ErrWriteShut is returned by writes after ShutdownWrite.
	ErrWriteShut = errors.New("conn: write half is shut down")
)

var _ io.ReadWriter = Conn(nil)
