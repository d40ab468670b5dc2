package reactor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/evloop/evloop/conn"
)

// The hand-off between the loop and a conn's handshake goroutine: the loop
// feeds it ciphertext, the goroutine writes through the raw conn's
// AsyncWrite, and its end reaches the loop as an AsyncWrite of nothing.

var errHandshakeAborted = errors.New("reactor: TLS handshake aborted: conn closed")

// errFirstByteTimeout is the abort of a handshake whose peer sent nothing
// by the first-byte deadline.
var errFirstByteTimeout = fmt.Errorf("%w: no byte from the peer within the first-byte deadline", ErrHandshakeTimeout)

func (c *tlsConn) startHandshake() {
	c.fed = make(chan struct{}, 1)
	c.abort = make(chan struct{})
	c.goDone = make(chan struct{})
	if c.layer.client {
		c.tc = tls.Client(&c.tr, c.layer.cfg)
	} else {
		c.tc = tls.Server(&c.tr, c.layer.cfg)
	}
	l := c.layer
	c.deadline = time.Now().Add(l.timeout)
	c.timer = time.AfterFunc(l.firstByteWait(), c.handshakeTimedOut)
	go c.handshake()
	handOver()
}

// firstByteWait is how long a handshake waits for its peer's first byte:
// the first-byte deadline, within the whole handshake's.
func (l *TLSLayer) firstByteWait() time.Duration {
	if l.firstByte > 0 && l.firstByte < l.timeout {
		return l.firstByte
	}
	return l.timeout
}

// handOver lets a handshake goroutine the loop has just readied run now.
// The runtime queues it behind the loop's goroutine, on the loop's P; when
// every P is busy with a loop that never blocks (streams at full speed), it
// would wait there for a preemption, 10 ms or more, at each of the
// handshake's steps. Yielding costs the loop a reschedule, a few times per
// handshake.
func handOver() { runtime.Gosched() }

// handshake runs on the conn's own goroutine. Its end reaches the loop
// through the raw conn's AsyncWrite of nothing: that queue is the one the
// handshake's output went through, so by the time the callback runs all of
// it has reached the raw conn, and the loop's own writes come after.
func (c *tlsConn) handshake() {
	err := c.tc.Handshake()
	c.mu.Lock()
	c.hsDone, c.hsErr = true, err
	aborted := c.abortErr != nil
	verdict := c.verdict
	// Closed under mu: once the loop has seen hsDone, this goroutine
	// touches nothing of c but the raw conn, so the loop may drop what
	// served the handshake.
	close(c.goDone)
	c.mu.Unlock()
	if verdict != nil {
		verdict() // a client's raw conn closed meanwhile: see awaitVerdict
		return
	}
	if aborted {
		return // the loop has given up on this conn
	}
	raw := c.raw
	// If this fails the raw conn is closing, and OnClose sees hsDone.
	raw.AsyncWrite(nil, func(conn.Conn, error) error {
		raw.Wake()
		return nil
	})
}

// handshakeTimedOut runs on the timer's goroutine: at the first-byte
// deadline if the peer has sent nothing, else at the whole handshake's.
func (c *tlsConn) handshakeTimedOut() {
	err := ErrHandshakeTimeout
	if !c.gotByte.Load() && c.layer.firstByteWait() < c.layer.timeout {
		err = errFirstByteTimeout
	}
	if c.abortHandshake(err) {
		c.raw.Close()
	}
}

// abortHandshake ends a handshake still in progress; any goroutine.
func (c *tlsConn) abortHandshake(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hsDone || c.abortErr != nil {
		return false
	}
	c.abortErr = err
	close(c.abort)
	return true
}

// handshakeResult says whether the goroutine is done, and how it went.
func (c *tlsConn) handshakeResult() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hsDone, c.hsErr
}

// feedHandshake moves received ciphertext to the handshake's feed, up to
// maxHandshakeFeed; the rest stays in the raw conn, bounded by its inbound
// limit, until the goroutine asks for more. The first byte moves the
// handshake's deadline from the first-byte one to the whole's.
func (c *tlsConn) feedHandshake() {
	b, _ := c.raw.Peek(-1)
	if len(b) == 0 {
		return
	}
	if !c.gotByte.Load() {
		c.gotByte.Store(true)
		if c.layer.firstByteWait() < c.layer.timeout && c.timer.Stop() {
			c.timer.Reset(time.Until(c.deadline))
		}
	}
	c.mu.Lock()
	room := maxHandshakeFeed - len(c.feed)
	if len(b) > room {
		b = b[:max(room, 0)]
		c.held = true
	}
	c.feed = append(c.feed, b...)
	c.mu.Unlock()
	c.raw.Discard(len(b))
	select {
	case c.fed <- struct{}{}:
	default:
	}
	handOver()
}

// handshakeFailed ends a conn whose handshake failed, on the loop.
func (c *tlsConn) handshakeFailed(err error) Action {
	c.failed(err)
	return Close
}

// failed counts, logs and reports a failed handshake once; the raw conn is
// closed by the caller (or is closing, or closed, already).
func (c *tlsConn) failed(err error) {
	from := c.state()
	if from != tlsHandshaking && from != tlsVerdictDue {
		return
	}
	if from == tlsHandshaking {
		c.moveTo(tlsFailed)
		c.raw.Discard(-1)
	}
	c.abortHandshake(errHandshakeAborted)
	c.timer.Stop()
	l := c.layer
	c.slot.release()
	l.counters.failures.Add(1)
	l.log.Debug("tls handshake failed", "remote", c.raw.RemoteAddr(), "err", err)
	if l.client {
		c.moveTo(tlsDialFailed)
		l.next.OnClose(c, c.dialError(err))
	}
}

// opened switches a conn whose handshake completed to the loop and calls
// the next OnOpen, then OnTraffic for what arrived meanwhile.
func (c *tlsConn) opened() Action {
	c.timer.Stop()
	// An idle conn keeps nothing of its handshake but crypto/tls's state:
	// the goroutine is done (handshakeResult said so), a late timer finds
	// hsDone and leaves abort alone.
	c.mu.Lock()
	c.timer, c.fed, c.abort, c.goDone = nil, nil, nil, nil
	if len(c.feed) == 0 {
		c.feed = nil
	}
	c.mu.Unlock()
	releaseTLSInput(c.tc)
	c.moveTo(tlsOpen)
	l := c.layer
	c.slot.release()
	l.counters.handshakes.Add(1)
	if a := c.act(l.next.OnOpen(c)); a != None || c.state() != tlsOpen {
		return a
	}
	return c.traffic()
}
