//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// A stream conn's input: gnet's inbound buffer, of which input held back
// above the high watermark is hidden from the handler.

import (
	"io"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/conn"
)

// Read implements conn.Conn.
func (w *wconn) Read(p []byte) (int, error) {
	return readIn(w.gc, w.InboundBuffered(), w.closed.Load(), p)
}

// Peek implements conn.Conn.
func (w *wconn) Peek(n int) ([]byte, error) { return peekIn(w.gc, w.InboundBuffered(), n) }

// Next implements conn.Conn.
func (w *wconn) Next(n int) ([]byte, error) { return nextIn(w.gc, w.InboundBuffered(), n) }

// Discard implements conn.Conn.
func (w *wconn) Discard(n int) (int, error) { return discardIn(w.gc, w.InboundBuffered(), n) }

// InboundBuffered implements conn.Conn.
func (w *wconn) InboundBuffered() int {
	if w.gone || w.gc == nil {
		return 0
	}
	return max(0, w.gc.InboundBuffered()-w.hidden)
}

// deliverHeld hands what arrived while output was past the high watermark
// to OnTraffic as the native backend would read it: a read's worth more per
// call, on top of what the handler kept. It stops when all is consumed, when
// the handler has seen everything and kept it (it hears again when more
// arrives, as from the native backend), or when output passes the watermark
// again (then the rest stays held).
func (w *wconn) deliverHeld() {
	read := w.e.o.ReadBufferSize
	for !w.closed.Load() && !w.closing.Load() && !w.drainWait {
		before := w.gc.InboundBuffered()
		if before == 0 {
			w.hidden = 0
			return
		}
		w.hidden = max(0, w.hidden-read)
		sawAll := w.hidden == 0
		w.touch() // read now, as the native backend would read it
		w.afterTask(w.callTraffic())
		if w.closed.Load() || w.gone {
			return
		}
		if sawAll && w.gc.InboundBuffered() >= before {
			return // saw it all and kept it
		}
	}
}

// deliverHeldAtClose gives input still held back to OnTraffic before the
// conn's OnClose: the peer sent it before its EOF, which gnet answers by
// closing at once. Writes fail by now; what the handler reads is not lost.
func (w *wconn) deliverHeldAtClose() {
	if w.hidden == 0 || w.gone || w.inCallback > 0 {
		return
	}
	w.hidden = 0
	if w.gc.InboundBuffered() > 0 {
		w.callTraffic()
	}
}

// readIn, peekIn, nextIn and discardIn are conn.Conn's Read, Peek, Next and
// Discard over gnet's inbound buffer, of which the handler sees the first
// buffered bytes; eof says the conn is closed. gnet reads n <= 0 as "all",
// so 0 is answered here.
func readIn(gc gnet.Conn, buffered int, eof bool, p []byte) (int, error) {
	if buffered == 0 {
		if eof {
			return 0, io.EOF
		}
		return 0, conn.ErrNoData
	}
	if len(p) == 0 {
		return 0, nil
	}
	return gc.Read(p[:min(len(p), buffered)])
}

func peekIn(gc gnet.Conn, buffered, n int) ([]byte, error) {
	if n < 0 {
		n = buffered // all the handler sees
	}
	switch {
	case buffered == 0:
		if n > 0 {
			return nil, io.ErrShortBuffer
		}
		return nil, nil
	case n == 0:
		return []byte{}, nil
	case n > buffered:
		b, _ := gc.Peek(buffered)
		return b, io.ErrShortBuffer
	}
	return gc.Peek(n)
}

func nextIn(gc gnet.Conn, buffered, n int) ([]byte, error) {
	if n < 0 {
		n = buffered
	}
	switch {
	case n > buffered:
		return nil, io.ErrShortBuffer
	case buffered == 0:
		return nil, nil
	case n == 0:
		return []byte{}, nil
	}
	return gc.Next(n)
}

func discardIn(gc gnet.Conn, buffered, n int) (int, error) {
	if n == 0 || buffered == 0 {
		return 0, nil
	}
	if n < 0 || n > buffered {
		n = buffered
	}
	return gc.Discard(n)
}
