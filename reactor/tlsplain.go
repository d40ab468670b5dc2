package reactor

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
)

// The conn.Conn the next handler sees: plaintext over the tls.Conn.

// Read implements conn.Conn over plaintext.
func (c *tlsConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		if c.state() != tlsOpen || c.peerClosed {
			return 0, io.EOF
		}
		return 0, conn.ErrNoData
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

// Peek implements conn.Conn over plaintext.
func (c *tlsConn) Peek(n int) ([]byte, error) {
	if n < 0 || n == len(c.in) {
		return c.in, nil
	}
	if n > len(c.in) {
		return c.in, io.ErrShortBuffer
	}
	return c.in[:n:n], nil
}

// Next implements conn.Conn over plaintext.
func (c *tlsConn) Next(n int) ([]byte, error) {
	b, err := c.Peek(n)
	if err != nil {
		return nil, err
	}
	c.in = c.in[len(b):]
	return b, nil
}

// Discard implements conn.Conn over plaintext.
func (c *tlsConn) Discard(n int) (int, error) {
	if n < 0 || n > len(c.in) {
		n = len(c.in)
	}
	c.in = c.in[n:]
	return n, nil
}

// InboundBuffered implements conn.Conn: decrypted bytes not yet consumed.
func (c *tlsConn) InboundBuffered() int { return len(c.in) }

func (c *tlsConn) writable() error {
	switch {
	case c.state() != tlsOpen:
		return conn.ErrClosed
	case c.closeSent:
		return conn.ErrWriteShut
	}
	return nil
}

// Write implements conn.Conn: p is encrypted and written to the raw conn.
func (c *tlsConn) Write(p []byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.beginBatch()
	n, err := c.tc.Write(p)
	if berr := c.endBatch(); err == nil {
		err = berr
	}
	return n, err
}

// Writev implements conn.Conn. Small buffers are gathered into one record.
func (c *tlsConn) Writev(bufs [][]byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return 0, nil
	}
	c.beginBatch()
	var err error
	if total <= minPlainRoom {
		gather := getTLSBuf()
		for _, b := range bufs {
			*gather = append(*gather, b...)
		}
		_, err = c.tc.Write(*gather)
		putTLSBuf(gather)
	} else {
		for _, b := range bufs {
			if _, err = c.tc.Write(b); err != nil {
				break
			}
		}
	}
	if berr := c.endBatch(); err == nil {
		err = berr
	}
	if err != nil {
		return 0, err
	}
	return total, nil
}

// OutboundBuffered implements conn.Conn: the raw conn's buffered
// ciphertext, which is what the watermarks hold.
func (c *tlsConn) OutboundBuffered() int { return c.raw.OutboundBuffered() }

// ShutdownWrite implements conn.Conn: close_notify, then the raw conn's
// half-close once flushed.
func (c *tlsConn) ShutdownWrite() error {
	if err := c.writable(); err != nil {
		return err
	}
	c.sendCloseNotify()
	return c.raw.ShutdownWrite()
}

// SetIdleTimeout implements conn.Conn on the raw conn.
func (c *tlsConn) SetIdleTimeout(d time.Duration) error { return c.raw.SetIdleTimeout(d) }

// Context implements conn.Conn.
func (c *tlsConn) Context() any { return c.ctx }

// SetContext implements conn.Conn.
func (c *tlsConn) SetContext(v any) { c.ctx = v }

// onLoopDo runs fn on the conn's loop, after the async writes queued before
// it: the raw conn's AsyncWrite of nothing runs its callback on the loop on
// every backend, in order with the other async writes.
func (c *tlsConn) onLoopDo(fn func(err error)) error {
	return c.raw.AsyncWrite(nil, func(_ conn.Conn, err error) error {
		fn(err)
		return nil
	})
}

// AsyncWrite implements conn.Conn: p is encrypted on the loop, in order
// with the conn's other async writes; done receives this conn.
func (c *tlsConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	return c.onLoopDo(func(err error) {
		if err == nil {
			_, err = c.Write(p)
		}
		if done != nil {
			done(c, err)
		}
	})
}

// AsyncWritev implements conn.Conn as AsyncWrite does.
func (c *tlsConn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	return c.onLoopDo(func(err error) {
		if err == nil {
			_, err = c.Writev(bufs)
		}
		if done != nil {
			done(c, err)
		}
	})
}

// Wake implements conn.Conn: the next OnTraffic runs even with nothing new.
func (c *tlsConn) Wake() error {
	c.wakeAsked.Store(true)
	return c.raw.Wake()
}

// Close implements conn.Conn: close_notify after the output written (and
// async writes queued) so far, then the raw conn's close once flushed.
func (c *tlsConn) Close() error {
	err := c.onLoopDo(func(error) { c.closeLocal() })
	if err != nil && !errors.Is(err, conn.ErrClosed) {
		// The raw conn takes no writes (its write half is shut, say):
		// close_notify has gone already, or cannot go.
		return c.raw.Close()
	}
	return err
}

// LocalAddr implements conn.Conn.
func (c *tlsConn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr implements conn.Conn.
func (c *tlsConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// Fd implements conn.Conn: the raw conn's.
func (c *tlsConn) Fd() int { return c.raw.Fd() }

// ConnectionState implements TLSConn.
func (c *tlsConn) ConnectionState() tls.ConnectionState {
	if !c.loopOwned() {
		// Never opened: the handshake may still hold the tls.Conn.
		return tls.ConnectionState{}
	}
	return c.tc.ConnectionState()
}

var _ TLSConn = (*tlsConn)(nil)
