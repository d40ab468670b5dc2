package http1

import (
	"errors"
	"io"
	"sync"

	"github.com/evloop/evloop/conn"
)

// A request body streamed to its handler (Config.StreamBodies, and the
// net/http adapter): the handler runs once the head is in, and reads the
// body from a BodyStream on any goroutine as the loop feeds it. At most
// StreamWindow bytes wait unread: past that the conn stops reading
// (conn.ReadPauser; the client's sends then fill the kernel's buffers and
// its TCP window), and a read that takes the backlog under half the window
// wakes the loop to read on.

// StreamWindow is the most body bytes a BodyStream holds unread.
const StreamWindow = 256 << 10

// ErrBodyAborted is what a BodyStream's Read returns when the conn closed
// before the body ended.
var ErrBodyAborted = errors.New("http1: the conn closed before the request body ended")

// BodyStream is a request body as it arrives (Request.BodyStream). Read and
// Close may be called from any goroutine, one at a time.
type BodyStream struct {
	c      conn.Conn
	mu     sync.Mutex
	buf    []byte
	err    error         // io.EOF once the body ended; else why it broke
	ready  chan struct{} // a token once there is something for Read
	held   bool          // the loop stopped feeding: the window is full
	closed bool          // Close: the rest is not wanted
	cut    bool          // closed before the body ended: the conn closes

	trailer Fields       // a chunked body's trailer fields (copied), set with err = io.EOF
	onEOF   func(Fields) // the adapter's: merges the trailer into Request.Trailer
	eofSeen bool         // Read returned io.EOF (onEOF was called)
}

// Trailer returns a chunked body's trailer fields once Read has returned
// io.EOF (nil before, and for a body without any).
func (b *BodyStream) Trailer() Fields {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.eofSeen {
		return nil
	}
	return b.trailer
}

func newBodyStream(c conn.Conn) *BodyStream {
	return &BodyStream{c: c, ready: make(chan struct{}, 1)}
}

// Read reads the body's next bytes, waiting for them; io.EOF at its end,
// ErrBodyAborted if the conn closed first, or the framing error that broke
// it.
func (b *BodyStream) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		if len(b.buf) > 0 {
			n := copy(p, b.buf)
			b.buf = b.buf[n:]
			if len(b.buf) == 0 {
				b.buf = b.buf[:0:0] // let a large backing array go
			}
			wake := b.held && len(b.buf) <= StreamWindow/2
			if wake {
				b.held = false
			}
			b.mu.Unlock()
			if wake {
				b.c.Wake() // the loop reads on
			}
			return n, nil
		}
		if b.err != nil || b.closed {
			err := b.err
			if b.closed {
				err = io.ErrClosedPipe
			}
			var onEOF func(Fields)
			if err == io.EOF && !b.eofSeen {
				// As net/http's body: the trailer is in place before the
				// reader sees io.EOF, on the reader's goroutine.
				b.eofSeen = true
				if len(b.trailer) > 0 {
					onEOF = b.onEOF
				}
			}
			tr := b.trailer
			b.mu.Unlock()
			if onEOF != nil {
				onEOF(tr)
			}
			return 0, err
		}
		b.mu.Unlock()
		<-b.ready
	}
}

// Close tells the server the rest of the body is not wanted: the conn
// closes after this request's response, unless the body had ended.
func (b *BodyStream) Close() error {
	b.close()
	return nil
}

// close is Close; it reports whether the body was cut short (by this
// Close or an earlier one), so that the conn closes after the response.
func (b *BodyStream) close() (cut bool) {
	b.mu.Lock()
	wake := !b.closed && b.err == nil
	if !b.closed {
		b.cut = wake
	}
	b.closed, b.buf, cut = true, nil, b.cut
	b.mu.Unlock()
	b.signal()
	if wake {
		b.c.Wake() // the loop notices, even while holding
	}
	return cut
}

func (b *BodyStream) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// feed appends a piece of body (copied); full: the window is full, and
// the loop holds until a Read wakes it.
func (b *BodyStream) feed(p []byte) (full, unwanted bool) {
	b.mu.Lock()
	defer b.signal()
	defer b.mu.Unlock()
	if b.closed {
		return false, true
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= StreamWindow {
		b.held = true
		return true, false
	}
	return false, false
}

// end records the body's end (io.EOF) or why it broke.
func (b *BodyStream) end(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.signal()
}

// setTrailer keeps a copy of a chunked body's trailer fields, before the
// body's end is recorded.
func (b *BodyStream) setTrailer(tr Fields) {
	n := 0
	for _, f := range tr {
		n += len(f.Name) + len(f.Value)
	}
	buf := make([]byte, 0, n)
	fs := make(Fields, len(tr))
	for i, f := range tr {
		buf = append(buf, f.Name...)
		name := buf[len(buf)-len(f.Name):]
		buf = append(buf, f.Value...)
		fs[i] = Field{Name: name, Value: buf[len(buf)-len(f.Value):]}
	}
	b.mu.Lock()
	b.trailer = fs
	b.mu.Unlock()
}

// state tells the loop whether it may feed more, and whether the handler
// gave up on the body.
func (b *BodyStream) state() (held, unwanted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held, b.closed
}

// startBody hands a request whose body is to be streamed to its handler,
// with the head's views valid; the body follows through stepBody.
func (cs *connState) startBody(req *Request) {
	b := newBodyStream(cs.c)
	cs.body, cs.bodyReq, cs.bodyHeld = b, &Request{}, false
	cs.sent100 = false
	if req.Expect100 && cs.first == nil {
		// Acceptable, and nothing is awaited before it: the client may
		// send the body.
		*cs.out = append(*cs.out, "HTTP/1.1 100 Continue\r\n\r\n"...)
	}
	req.Body, req.BodyStream = nil, b
	cs.handle(req)
	req.BodyStream = nil
	if cs.first == nil {
		// Answered on the loop, without Defer: nothing will read the
		// body, and the conn closes after the response.
		b.Close()
	}
}

// stepBody feeds the streamed body the next piece of input; false when it
// needs more input, or waits for its handler.
func (cs *connState) stepBody(in []byte) bool {
	b := cs.body
	if held, unwanted := b.state(); unwanted {
		cs.endBody(nil, true)
		return false
	} else if held {
		cs.holdBody()
		return false
	}
	ev, n, data, err := cs.rd.next(in, cs.bodyReq, &cs.srv.lim, -1)
	if err != nil {
		cs.endBody(err, true)
		return false
	}
	switch ev {
	case evData:
		full, unwanted := b.feed(data)
		cs.c.Discard(n)
		if unwanted {
			cs.endBody(nil, true)
			return false
		}
		if full {
			cs.holdBody()
			return false
		}
		return true
	case evEnd:
		cs.c.Discard(n)
		if tr := cs.bodyReq.Trailer; len(tr) > 0 {
			b.setTrailer(tr)
		}
		cs.endBody(io.EOF, false)
		return true
	}
	cs.c.Discard(n)
	return false
}

// endBody ends the streamed body: at its end (io.EOF), or broken, or not
// wanted, in which case the conn reads no further request and closes
// after the responses awaited.
func (cs *connState) endBody(err error, closing bool) {
	if err != nil {
		cs.body.end(err)
	}
	cs.body, cs.bodyReq, cs.bodyHeld = nil, nil, false
	cs.syncRead()
	if closing {
		cs.closing = true
		cs.rd = reader{}
	}
}

// holdBody stops reading while the body's window is full.
func (cs *connState) holdBody() {
	if cs.bodyHeld {
		return
	}
	cs.bodyHeld = true
	cs.syncRead()
}

// resumeBody reads on once the handler has taken the body's backlog under
// half the window (its Read woke the loop), or gave up on the body.
func (cs *connState) resumeBody() {
	if cs.body == nil || !cs.bodyHeld {
		return
	}
	if held, unwanted := cs.body.state(); held && !unwanted {
		return
	}
	cs.bodyHeld = false
	cs.syncRead()
}
