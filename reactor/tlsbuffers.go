package reactor

import "sync"

// Pooled buffers: the plaintext a conn holds for its handler, and the
// batch of records one call writes.

// tlsBufSize is the pooled buffer size: two full records of plaintext.
const tlsBufSize = 32 << 10

var tlsBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, tlsBufSize)
	return &b
}}

func getTLSBuf() *[]byte { return tlsBufPool.Get().(*[]byte) }

func putTLSBuf(b *[]byte) {
	if cap(*b) != tlsBufSize {
		return // grown for one conn: let it go
	}
	*b = (*b)[:0]
	tlsBufPool.Put(b)
}

// minPlainRoom is the free space decrypt asks for: a full record.
const minPlainRoom = 16 << 10

// inboundTail returns free space after the unconsumed plaintext, moving it
// to the front or growing the buffer when too little is left.
func (c *tlsConn) inboundTail() []byte {
	if c.inBuf == nil {
		c.inBuf = getTLSBuf()
		c.in = (*c.inBuf)[:0]
	}
	buf := (*c.inBuf)[:cap(*c.inBuf)]
	if cap(c.in)-len(c.in) < minPlainRoom {
		if len(c.in)+minPlainRoom <= len(buf) {
			c.in = buf[:copy(buf, c.in)]
		} else {
			nb := make([]byte, len(c.in), 2*(len(c.in)+minPlainRoom))
			copy(nb, c.in)
			putTLSBuf(c.inBuf)
			c.inBuf = &nb
			c.in = nb
		}
	}
	return c.in[len(c.in):cap(c.in)]
}

func (c *tlsConn) releaseInbound() {
	if c.inBuf != nil {
		putTLSBuf(c.inBuf)
		c.inBuf = nil
	}
	c.in = nil
}

// maxBatch is where a batch goes to the raw conn before the call ends.
const maxBatch = 256 << 10

func (c *tlsConn) beginBatch() {
	if c.batch == nil {
		c.batch = getTLSBuf()
	}
}

// endBatch writes the batch to the raw conn and returns the buffer.
func (c *tlsConn) endBatch() error {
	b := c.batch
	if b == nil {
		return nil
	}
	c.batch = nil
	var err error
	if len(*b) > 0 {
		_, err = c.raw.Write(*b)
	}
	putTLSBuf(b)
	return err
}
