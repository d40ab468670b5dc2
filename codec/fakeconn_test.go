package codec

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/evloop/evloop/conn"
)

// fakeConn is an in-memory conn.Conn: inbound bytes are fed by the test,
// outbound bytes collect in out.
//
// In strict mode it enforces the lifetime rules of the conn contract by
// breaking code that ignores them: every call that consumes moves the
// remaining bytes to new memory and scribbles over the old, so a slice from
// Peek used after Discard or Next reads garbage; a slice from Next survives
// only until the next consuming call or feed (the "callback return").
// Non-strict mode is a plain contiguous buffer that allocates nothing in the
// steady state, for benchmarks.
type fakeConn struct {
	strict bool

	in   []byte // inbound: unconsumed bytes are in[r:]
	r    int
	next []byte // strict: the last Next result, scribbled on the next consume

	mu        sync.Mutex // guards out for AsyncWrite from other goroutines
	out       []byte
	ctx       any
	closed    bool
	shutWrite bool
	wakes     int
}

var _ conn.Conn = (*fakeConn)(nil)

func newFakeConn(strict bool) *fakeConn { return &fakeConn{strict: strict} }

const scribble = 0xA5

func scribbleOver(p []byte) {
	for i := range p {
		p[i] = scribble
	}
}

// feed appends bytes as if they had arrived between two callbacks.
func (f *fakeConn) feed(p []byte) {
	if !f.strict {
		if f.r == len(f.in) {
			f.in, f.r = f.in[:0], 0
		}
		f.in = append(f.in, p...)
		return
	}
	rest := append(append([]byte(nil), f.in[f.r:]...), p...)
	scribbleOver(f.in)
	scribbleOver(f.next)
	f.in, f.r, f.next = rest, 0, nil
}

// consume drops n buffered bytes (n <= buffered).
func (f *fakeConn) consume(n int) {
	if !f.strict {
		f.r += n
		return
	}
	rest := append([]byte(nil), f.in[f.r+n:]...)
	scribbleOver(f.in)
	scribbleOver(f.next)
	f.in, f.r, f.next = rest, 0, nil
}

func (f *fakeConn) buffered() []byte { return f.in[f.r:] }

func (f *fakeConn) Read(p []byte) (int, error) {
	if f.InboundBuffered() == 0 {
		return 0, conn.ErrNoData
	}
	n := copy(p, f.buffered())
	f.consume(n)
	return n, nil
}

func (f *fakeConn) Peek(n int) ([]byte, error) {
	b := f.buffered()
	if n < 0 {
		return b, nil
	}
	if n > len(b) {
		return b, io.ErrShortBuffer
	}
	return b[:n], nil
}

func (f *fakeConn) Next(n int) ([]byte, error) {
	b := f.buffered()
	if n < 0 {
		n = len(b)
	}
	if n > len(b) {
		return nil, io.ErrShortBuffer
	}
	if !f.strict {
		f.r += n
		return b[:n], nil
	}
	p := append([]byte(nil), b[:n]...)
	f.consume(n)
	f.next = p
	return p, nil
}

func (f *fakeConn) Discard(n int) (int, error) {
	if b := f.InboundBuffered(); n < 0 || n > b {
		n = b
	}
	f.consume(n)
	return n, nil
}

func (f *fakeConn) InboundBuffered() int { return len(f.in) - f.r }

func (f *fakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, conn.ErrClosed
	}
	if f.shutWrite {
		return 0, conn.ErrWriteShut
	}
	f.out = append(f.out, p...)
	return len(p), nil
}

func (f *fakeConn) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		m, err := f.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (f *fakeConn) OutboundBuffered() int { return 0 } // everything "reaches the kernel" at once

func (f *fakeConn) output() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.out...)
}

func (f *fakeConn) ShutdownWrite() error               { f.shutWrite = true; return nil }
func (f *fakeConn) SetIdleTimeout(time.Duration) error { return nil }
func (f *fakeConn) Context() any                       { return f.ctx }
func (f *fakeConn) SetContext(v any)                   { f.ctx = v }

func (f *fakeConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	_, err := f.Write(p)
	if done != nil {
		done(f, err)
	}
	return err
}

func (f *fakeConn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	_, err := f.Writev(bufs)
	if done != nil {
		done(f, err)
	}
	return err
}

func (f *fakeConn) Wake() error { f.wakes++; return nil }

func (f *fakeConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

func (f *fakeConn) LocalAddr() net.Addr  { return fakeAddr("local") }
func (f *fakeConn) RemoteAddr() net.Addr { return fakeAddr("remote") }
func (f *fakeConn) Fd() int              { return -1 }
