package reactor

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// How a TLS conn ends, and with which cause. Several things may have
// happened by the time the raw conn closes: the handshake goroutine's
// verdict, the layer's abort (a timeout), an error in the record stream,
// the peer's close_notify or ours, the raw conn's own cause, a record cut
// short, the engine's stop. rawClosed records them as closeFacts, and the
// cause is closeCause of those facts: a pure function, whose table test
// lists every case.

// closeLocal is Close on the loop.
func (c *tlsConn) closeLocal() {
	switch c.state() {
	case tlsOpen:
		c.sendCloseNotify()
		c.raw.Close()
	case tlsHandshaking:
		c.raw.Close()
	}
}

// rawClosed is the raw conn's OnClose.
func (c *tlsConn) rawClosed(err error) {
	c.rawErr = err
	switch c.state() {
	case tlsHandshaking:
		// The goroutine reads on what was fed before the close, then
		// ends: its peer may have sent its last flight, its data and
		// its close_notify together with the FIN.
		c.abortHandshake(errHandshakeAborted)
		if c.awaitVerdict() {
			return
		}
		c.concluded()
	case tlsOpen:
		c.moveTo(tlsClosed)
		c.layer.next.OnClose(c, closeCause(c.openFacts()))
		c.releaseInbound()
	}
}

// closeFacts are what is known when a conn's raw conn has closed.
type closeFacts struct {
	open   bool  // the handshake had completed
	rawErr error // the raw conn's OnClose cause

	// During the handshake.
	hsErr    error // the handshake goroutine's verdict, if it is in
	abortErr error // why the layer aborted the handshake, if it did

	// Once open.
	cause      error // the layer's own: an error in the record stream, conn.ErrInboundTooLarge
	peerClosed bool  // the peer's close_notify came
	closeSent  bool  // ours went
	midRecord  bool  // the peer's EOF cut a record short (known only where it matters)
	stopping   bool  // the engine has begun to stop
}

// closeCause is the cause a conn closes with, given the facts: for an open
// conn, the next OnClose's; during the handshake, the failure's (a client
// reports it as the dial's outcome).
func closeCause(f closeFacts) error {
	if !f.open {
		switch {
		case errors.Is(f.abortErr, ErrHandshakeTimeout):
			return f.abortErr
		case f.hsErr != nil && !errors.Is(f.hsErr, errHandshakeAborted):
			// The verdict says more than the EOF: a bad certificate,
			// whose alert made the peer close, say.
			return f.hsErr
		case f.rawErr != nil:
			return f.rawErr
		}
		return io.ErrUnexpectedEOF
	}
	switch {
	case f.cause != nil:
		return f.cause
	case f.peerClosed:
		// After the peer's close_notify, a reset is only the peer
		// closing its socket before our close_notify reached it.
		return nil
	case f.rawErr != nil:
		return f.rawErr
	case f.closeSent:
		return nil
	case f.midRecord:
		return ErrTLSRecordTruncated
	case f.stopping:
		// The engine closed the conn as it stopped, at once, without
		// close_notify: not the peer's doing.
		return nil
	}
	// The peer's EOF at a record boundary without close_notify: whoever
	// cut the stream could have cut it there.
	return ErrTLSTruncated
}

// handshakeFacts records what is known of a handshake that ended with its
// raw conn's close.
func (c *tlsConn) handshakeFacts() closeFacts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return closeFacts{rawErr: c.rawErr, hsErr: c.hsErr, abortErr: c.abortErr}
}

// openFacts records what is known of an open conn whose raw conn closed.
func (c *tlsConn) openFacts() closeFacts {
	f := closeFacts{open: true, rawErr: c.rawErr, cause: c.cause, peerClosed: c.peerClosed,
		closeSent: c.closeSent, stopping: c.layer.engine.stopping()}
	if f.cause == nil && !f.peerClosed && f.rawErr == nil && !f.closeSent {
		// The peer's EOF without close_notify. (truncated reads on, so
		// crypto/tls sees the EOF either way.)
		f.midRecord = c.truncated()
	}
	return f
}

// truncated says whether the peer's EOF, which came without close_notify,
// cut a record short. crypto/tls answers that with io.ErrUnexpectedEOF and
// an EOF at a record boundary with io.EOF (which it accepts as the end, as
// many peers close so); the transport now reports the EOF to find out.
func (c *tlsConn) truncated() bool {
	c.eof = true
	_, err := c.tc.Read(c.inboundTail())
	return err == io.ErrUnexpectedEOF
}

// loopRunner is a conn whose loop runs a task for it even after it has
// closed, as both backends' conns do (the native FD, gnet's wconn).
type loopRunner interface {
	RunOnLoop(task func()) error
}

// awaitVerdict is for a conn whose raw conn closed during the handshake:
// the goroutine may have failed a moment ago (a bad certificate, whose
// alert made the server close), or be about to, and its verdict says more
// than the EOF; or it may be completing the handshake with the peer's last
// flight, which came with the FIN (see concluded). The dial's OnClose waits for it without blocking the loop:
// it runs as a loop task when the goroutine ends. The abort has ended the
// goroutine's reads, so it ends as soon as crypto/tls (or the config's
// callbacks, such as VerifyConnection) returns; should a callback hang,
// the handshake's own deadline ends the wait. It reports false when there
// is nothing to wait for (the verdict is in, the engine is stopping) or no
// way to wait (a raw conn that is no loopRunner); the caller decides now.
func (c *tlsConn) awaitVerdict() bool {
	run, ok := c.raw.(loopRunner)
	if !ok || c.layer.engine.stopping() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hsDone {
		return false
	}
	c.moveTo(tlsVerdictDue)
	c.slot.release() // the handshake is over on the wire
	var once atomic.Bool
	deliver := func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		if run.RunOnLoop(c.verdictReached) != nil {
			// The loop has exited: nothing else runs this conn's
			// callbacks now.
			c.verdictReached()
		}
	}
	t := time.AfterFunc(time.Until(c.deadline), deliver)
	c.verdict = func() {
		t.Stop()
		deliver()
	}
	return true
}

// verdictReached concludes a conn whose raw conn closed during the
// handshake, once the verdict is in or the wait is over. It runs as a loop
// task, outside any callback of the backend's, so it guards the next
// handler's callbacks itself: a panic there is logged, not the loop's end.
func (c *tlsConn) verdictReached() {
	if c.state() != tlsVerdictDue {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.layer.log.Error("handler panicked", "remote", c.raw.RemoteAddr(), "panic", fmt.Sprint(r))
		}
	}()
	c.concluded()
}

// concluded ends a conn whose raw conn closed during its handshake, once
// the goroutine's verdict is in (or the wait for it is over). A handshake
// that completed with what arrived before the close opens the conn after
// all: the next handler gets OnOpen, the records that followed the
// handshake, then OnClose, as a plaintext conn's handler gets the input
// that came with the peer's FIN. Anything else is a failed handshake.
func (c *tlsConn) concluded() {
	if done, err := c.handshakeResult(); !done || err != nil {
		c.failed(closeCause(c.handshakeFacts()))
		return
	}
	c.eof = true // the raw conn has closed: what was fed is all there is
	c.opened()
	if c.state() != tlsOpen {
		return
	}
	c.moveTo(tlsClosed)
	c.layer.next.OnClose(c, closeCause(c.openFacts()))
	c.releaseInbound()
}
