//go:build unix

package fdconn

import (
	"io"

	"github.com/evloop/evloop/conn"
)

// Peek returns the next n buffered bytes (n < 0: all) without consuming them.
func (c *FD) Peek(n int) ([]byte, error) { return Peek(c.in, n) }

// Next returns and consumes the next n buffered bytes (n < 0: all). Asking
// for more than is buffered consumes nothing.
func (c *FD) Next(n int) ([]byte, error) { return Next(&c.in, n) }

// Discard drops the next n buffered bytes (n < 0 or more than buffered: all).
func (c *FD) Discard(n int) (int, error) { return Discard(&c.in, n), nil }

// Read copies buffered bytes into p and consumes them.
func (c *FD) Read(p []byte) (int, error) { return Read(&c.in, p, c.IsClosed() || c.readEOF) }

// InboundBuffered is the number of unconsumed inbound bytes.
func (c *FD) InboundBuffered() int { return len(c.in) }

// FillFrom reads once from the kernel. With nothing retained it reads into
// the loop's shared buffer; otherwise it appends to the conn's own buffer.
// It returns the bytes read, io.EOF at end of stream, unix.EAGAIN when
// nothing is ready, or the read error.
func (c *FD) FillFrom() (int, error) {
	scratch := c.shared.ReadBuf
	var dst []byte
	if len(c.in) == 0 {
		c.releaseInbound()
		dst = scratch
	} else {
		dst = c.inboundTail(len(scratch))
	}
	n, err := readRetry(int(c.rfd), dst)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		c.readEOF = true
		return 0, io.EOF
	}
	if c.inBuf == nil {
		c.in = scratch[:n]
	} else {
		c.in = c.in[:len(c.in)+n]
	}
	c.lastActive = c.shared.Now
	c.shared.BytesIn.Add(int64(n))
	return n, nil
}

// inboundTail makes room for want more bytes after the retained ones and
// returns that free space. Retained bytes move to the front of the buffer
// first so the buffer grows only with what is really unconsumed.
func (c *FD) inboundTail(want int) []byte {
	buf := *c.inBuf
	need := len(c.in) + want
	if cap(buf) < need {
		nb := getBuf(need)
		*nb = append((*nb)[:0], c.in...)
		putBuf(c.inBuf)
		c.inBuf = nb
		c.in = *nb
	} else if start := cap(buf) - cap(c.in); start > 0 && start+need > cap(buf) {
		c.in = buf[:copy(buf[:cap(buf)], c.in)]
	}
	return c.in[len(c.in):cap(c.in)][:want]
}

// Retain keeps unconsumed bytes past the callback: a view of the shared read
// buffer is copied into a pooled buffer of the conn's own. It returns
// conn.ErrInboundTooLarge when the unconsumed bytes pass the inbound limit.
func (c *FD) Retain() error {
	if len(c.in) == 0 {
		c.releaseInbound()
		return nil
	}
	if c.inBuf == nil {
		nb := getBuf(len(c.in))
		*nb = append((*nb)[:0], c.in...)
		c.inBuf = nb
		c.in = *nb
	}
	if c.limits().MaxInbound > 0 && len(c.in) > c.limits().MaxInbound {
		return conn.ErrInboundTooLarge
	}
	return nil
}

func (c *FD) releaseInbound() {
	if c.inBuf != nil {
		putBuf(c.inBuf)
		c.inBuf = nil
	}
	c.in = nil
}
