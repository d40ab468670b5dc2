package reactor

import (
	"io"
	"net"
	"time"
)

// tlsTransport is the net.Conn under the tls.Conn: the handshake
// goroutine's blocking view of the feed, then the loop's nonblocking view of
// the raw conn.
type tlsTransport struct{ c *tlsConn }

// wouldBlock is what the loop's transport returns when no ciphertext is
// left: Temporary, so crypto/tls returns it without caching it (see
// readRecordOrCCS in crypto/tls/conn.go) and the next Read resumes.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "reactor: TLS transport would block" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// Read implements net.Conn.
func (t *tlsTransport) Read(p []byte) (int, error) {
	c := t.c
	if c.loopOwned() {
		if len(c.feed) > 0 {
			// Received during the handshake, after what it needed.
			n := c.rec.take(p, c.feed)
			c.feed = c.feed[n:]
			if len(c.feed) == 0 {
				c.feed = nil
			}
			return n, nil
		}
		if c.raw.InboundBuffered() == 0 {
			if c.eof {
				return 0, io.EOF
			}
			return 0, errWouldBlock
		}
		next, _ := c.raw.Peek(recordHeaderLen)
		if n := c.rec.limit(next); n < len(p) {
			p = p[:n]
		}
		n, err := c.raw.Read(p)
		c.rec.advance(p[:n])
		return n, err
	}
	for {
		c.mu.Lock()
		if len(c.feed) > 0 {
			n := c.rec.take(p, c.feed)
			c.feed = c.feed[n:]
			c.mu.Unlock()
			return n, nil
		}
		err := c.abortErr
		refill := c.held
		c.held = false
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if refill {
			c.raw.Wake() // the loop feeds again from the raw conn
		}
		select {
		case <-c.fed:
		case <-c.abort:
		}
	}
}

// Write implements net.Conn. The handshake goroutine's writes are copied
// (crypto/tls reuses its buffer) and queued on the raw conn; the loop's
// join the batch.
func (t *tlsTransport) Write(p []byte) (int, error) {
	c := t.c
	if c.loopOwned() {
		if c.batch == nil {
			return c.raw.Write(p)
		}
		if len(*c.batch)+len(p) > maxBatch {
			if err := c.endBatch(); err != nil {
				return 0, err
			}
			c.beginBatch()
		}
		*c.batch = append(*c.batch, p...)
		return len(p), nil
	}
	own := append([]byte(nil), p...)
	if err := c.raw.AsyncWrite(own, nil); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close implements net.Conn; the layer closes the raw conn itself.
func (t *tlsTransport) Close() error { return nil }

// LocalAddr implements net.Conn.
func (t *tlsTransport) LocalAddr() net.Addr { return t.c.raw.LocalAddr() }

// RemoteAddr implements net.Conn.
func (t *tlsTransport) RemoteAddr() net.Addr { return t.c.raw.RemoteAddr() }

// SetDeadline implements net.Conn: the layer keeps its own deadlines.
func (t *tlsTransport) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.Conn.
func (t *tlsTransport) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.Conn.
func (t *tlsTransport) SetWriteDeadline(time.Time) error { return nil }
