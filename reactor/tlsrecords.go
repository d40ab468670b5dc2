package reactor

import (
	"io"

	"github.com/evloop/evloop/conn"
)

// Records on the loop, after the handshake: decrypting what arrives for the
// next handler, and close_notify.

// traffic decrypts what has arrived and hands it to the next handler, a
// read's worth at a time as the loop would read it. A backlog (what arrived
// during the handshake, say) stops being decrypted while the raw conn's
// output is past the high watermark, as the loop stops reading; OnDrained
// resumes it.
func (c *tlsConn) traffic() Action {
	for {
		got, more, err := c.decrypt(tlsReadBudget)
		woken := c.wakeAsked.Swap(false)
		a := None
		if got > 0 || woken {
			a = c.act(c.layer.next.OnTraffic(c))
		}
		if c.state() != tlsOpen {
			return a
		}
		if max := c.layer.maxIn; max > 0 && len(c.in) > max && c.cause == nil {
			c.cause = conn.ErrInboundTooLarge
			return Close
		}
		if len(c.in) == 0 {
			c.releaseInbound()
		}
		switch {
		case err == io.EOF:
			// The peer's close_notify: answer it and close once flushed,
			// unless the next handler keeps the conn open for writing
			// (EOFHandler; told once, here or at the raw conn's EOF).
			c.peerClosed = true
			if h := c.layer.eofer; h != nil && a == None && !c.eofTold {
				c.eofTold = true
				if a = h.OnEOF(c); a == None {
					return None
				}
			}
			c.sendCloseNotify()
			return closeOr(a)
		case err != nil:
			if c.cause == nil {
				c.cause = err
			}
			return closeOr(a)
		case a != None || c.closeSent || !more:
			return a
		case c.raw.OutboundBuffered() > c.layer.writeHigh:
			c.backlog = true
			return a
		}
	}
}

// tlsReadBudget is the plaintext one OnTraffic gets at most: a read's worth.
const tlsReadBudget = DefaultReadBufferSize

// closeOr is a, or Close when a would keep the conn.
func closeOr(a Action) Action {
	if a == None {
		return Close
	}
	return a
}

// decrypt reads ciphertext through crypto/tls into the plaintext buffer
// until none is left or budget bytes came out (more: there may be more). err
// is io.EOF after the peer's close_notify, or the error that ends the
// stream.
func (c *tlsConn) decrypt(budget int) (got int, more bool, err error) {
	c.beginBatch() // post-handshake messages (KeyUpdate) may answer
	defer c.endBatch()
	for got < budget {
		if c.rec.boundary() && len(c.feed) == 0 && c.raw.InboundBuffered() == 0 {
			// crypto/tls holds no ciphertext (reads stop at record
			// ends) and none is waiting: a Read would only find that
			// out, at the cost of an allocation in crypto/tls.
			return got, false, nil
		}
		n, rerr := c.tc.Read(c.inboundTail())
		c.in = c.in[:len(c.in)+n]
		got += n
		switch {
		case rerr == nil:
			continue
		case rerr == errWouldBlock:
			return got, false, nil
		}
		return got, false, rerr
	}
	return got, true, nil
}

// act carries out what an Action of the next handler means for TLS: a
// close sends close_notify first.
func (c *tlsConn) act(a Action) Action {
	if a == Close {
		c.sendCloseNotify()
	}
	return a
}

// sendCloseNotify queues close_notify after the output written so far.
func (c *tlsConn) sendCloseNotify() {
	if c.closeSent || c.state() != tlsOpen {
		return
	}
	c.closeSent = true
	c.beginBatch()
	c.tc.CloseWrite()
	c.endBatch()
}
