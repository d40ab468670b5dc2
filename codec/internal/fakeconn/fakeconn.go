// Package fakeconn is an in-memory conn.Conn for the tests of the codec
// packages: the decoders, the frame adapter and RESP run against it without
// a loop or a socket.
package fakeconn

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/evloop/evloop/conn"
)

// Conn is an in-memory conn.Conn: inbound bytes are fed by the test,
// outbound bytes collect in out.
//
// In strict mode it enforces the lifetime rules of the conn contract by
// breaking code that ignores them: every call that consumes moves the
// remaining bytes to new memory and scribbles over the old, so a slice from
// Peek used after Discard or Next reads garbage; a slice from Next survives
// only until the next consuming call or feed (the "callback return").
// Non-strict mode is a plain contiguous buffer that allocates nothing in the
// steady state, for benchmarks.
type Conn struct {
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

var _ conn.Conn = (*Conn)(nil)

// New returns an empty conn, strict or not (see Conn).
func New(strict bool) *Conn { return &Conn{strict: strict} }

const scribble = 0xA5

func scribbleOver(p []byte) {
	for i := range p {
		p[i] = scribble
	}
}

// Feed appends bytes as if they had arrived between two callbacks.
func (f *Conn) Feed(p []byte) {
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
func (f *Conn) consume(n int) {
	if !f.strict {
		f.r += n
		return
	}
	rest := append([]byte(nil), f.in[f.r+n:]...)
	scribbleOver(f.in)
	scribbleOver(f.next)
	f.in, f.r, f.next = rest, 0, nil
}

// Buffered returns the unconsumed inbound bytes (aliased, as Peek(-1)).
func (f *Conn) Buffered() []byte { return f.in[f.r:] }

// Reset drops every inbound and outbound byte but keeps the memory, so that
// a benchmark or allocation test can feed the same input again without
// allocating.
func (f *Conn) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in, f.r, f.next = f.in[:0], 0, nil
	f.out = f.out[:0]
}

func (f *Conn) Read(p []byte) (int, error) {
	if f.InboundBuffered() == 0 {
		return 0, conn.ErrNoData
	}
	n := copy(p, f.Buffered())
	f.consume(n)
	return n, nil
}

func (f *Conn) Peek(n int) ([]byte, error) {
	b := f.Buffered()
	if n < 0 {
		return b, nil
	}
	if n > len(b) {
		return b, io.ErrShortBuffer
	}
	return b[:n], nil
}

func (f *Conn) Next(n int) ([]byte, error) {
	b := f.Buffered()
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

func (f *Conn) Discard(n int) (int, error) {
	if b := f.InboundBuffered(); n < 0 || n > b {
		n = b
	}
	f.consume(n)
	return n, nil
}

func (f *Conn) InboundBuffered() int { return len(f.in) - f.r }

func (f *Conn) Write(p []byte) (int, error) {
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

func (f *Conn) Writev(bufs [][]byte) (int, error) {
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

func (f *Conn) OutboundBuffered() int { return 0 } // everything "reaches the kernel" at once

// Output returns a copy of everything written so far.
func (f *Conn) Output() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.out...)
}

func (f *Conn) ShutdownWrite() error               { f.shutWrite = true; return nil }
func (f *Conn) SetIdleTimeout(time.Duration) error { return nil }
func (f *Conn) Context() any                       { return f.ctx }
func (f *Conn) SetContext(v any)                   { f.ctx = v }

func (f *Conn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	_, err := f.Write(p)
	if done != nil {
		done(f, err)
	}
	return err
}

func (f *Conn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	_, err := f.Writev(bufs)
	if done != nil {
		done(f, err)
	}
	return err
}

func (f *Conn) Wake() error { f.wakes++; return nil }

func (f *Conn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

func (f *Conn) LocalAddr() net.Addr  { return fakeAddr("local") }
func (f *Conn) RemoteAddr() net.Addr { return fakeAddr("remote") }
func (f *Conn) Fd() int              { return -1 }
