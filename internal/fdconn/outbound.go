//go:build unix

package fdconn

import (
	"os"

	"github.com/evloop/evloop/conn"
)

// OutboundBuffered is the number of bytes waiting for the kernel.
func (c *FD) OutboundBuffered() int {
	if c.out == nil {
		return 0
	}
	return len(*c.out) - int(c.outHead)
}

func (c *FD) writable() error {
	switch {
	case c.closeStage() != stageOpen:
		// Closing means "after what was written so far": later writes
		// would make the close wait on output nobody asked for before it.
		return conn.ErrClosed
	case c.writeFailure != nil:
		return c.writeFailure
	case c.write != writeOpen:
		return conn.ErrWriteShut
	}
	return nil
}

// Write writes what the kernel takes now and buffers the rest.
func (c *FD) Write(p []byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	rest := p
	if c.OutboundBuffered() == 0 {
		n, err := writeRetry(int(c.wfd), p)
		if err != nil {
			return 0, c.failWrite(err)
		}
		rest = p[n:]
		c.wrote(n, len(rest))
	}
	if len(rest) > 0 {
		if c.overOutbound(len(rest)) {
			return len(p) - len(rest), c.failOverflow()
		}
		c.appendOut(rest)
		c.syncInterest()
	}
	return len(p), nil
}

// Writev writes bufs in order, gathered into one writev(2) when nothing is
// buffered, and buffers what the kernel does not take.
func (c *FD) Writev(bufs [][]byte) (int, error) {
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
	skip := 0
	if c.OutboundBuffered() == 0 {
		n, iovs, err := writevRetry(int(c.wfd), bufs, c.shared.iovs)
		c.shared.iovs = iovs
		if err != nil {
			return 0, c.failWrite(err)
		}
		skip = n
		c.wrote(n, total-n)
	}
	if skip < total {
		if c.overOutbound(total - skip) {
			return skip, c.failOverflow()
		}
		for _, b := range bufs {
			if skip >= len(b) {
				skip -= len(b)
				continue
			}
			c.appendOut(b[skip:])
			skip = 0
		}
		c.syncInterest()
	}
	return total, nil
}

func (c *FD) wrote(n, left int) {
	if n > 0 {
		c.shared.BytesOut.Add(int64(n))
		c.lastActive = c.shared.Now
	}
	if left > 0 {
		c.shared.WriteEAGAIN.Add(1)
	}
}

// overOutbound tells whether buffering n more bytes would pass the outbound
// limit. It is asked before the bytes are copied: a reply far past the limit
// (built whole by a handler for a peer that does not read) costs no second
// copy.
func (c *FD) overOutbound(n int) bool {
	max := c.limits().MaxOutbound
	return max > 0 && n > max-c.OutboundBuffered()
}

// failOverflow fails the conn for passing the outbound limit: it is closed
// at once (its peer is not keeping up, so a flush could wait forever), with
// conn.ErrOutboundTooLarge as the cause.
func (c *FD) failOverflow() error {
	if c.writeFailure == nil {
		c.shared.OutboundOverflows.Add(1)
	}
	return c.fail(conn.ErrOutboundTooLarge)
}

// failWrite records a fatal write error and asks the loop to close the conn
// with it; the loop does so after the current callback, never inside it.
func (c *FD) failWrite(err error) error {
	return c.fail(os.NewSyscallError("write", err))
}

// fail records err as the conn's write failure, unless it has one already,
// and asks the loop to close the conn with it. It returns the failure.
func (c *FD) fail(err error) error {
	if c.writeFailure == nil {
		c.writeFailure = err
		if perr := c.owner().Post(func() { c.owner().CloseConn(c, err) }); perr != nil {
			c.owner().CloseConn(c, err)
		}
	}
	return err
}

// maxOutHead is where Flush moves unsent output to the front of its buffer,
// well before outHead (an int32) could overflow; single writes are at most
// 2 GiB on Linux.
var maxOutHead int32 = 1 << 30 // a var so tests can lower it

func (c *FD) appendOut(p []byte) {
	c.shared.Outbound.Add(int64(len(p)))
	if c.out == nil {
		c.out = getBuf(len(p))
		*c.out = append(*c.out, p...)
		return
	}
	buf := *c.out
	pending := len(buf) - int(c.outHead)
	switch {
	case len(buf)+len(p) <= cap(buf):
	case pending+len(p) <= cap(buf):
		// Room at the front: move the pending bytes there.
		n := copy(buf[:cap(buf)], buf[c.outHead:])
		buf = buf[:n]
		c.outHead = 0
	default:
		nb := getBuf(pending + len(p))
		*nb = append((*nb)[:0], buf[c.outHead:]...)
		putBuf(c.out)
		c.out = nb
		c.outHead = 0
		buf = *nb
	}
	*c.out = append(buf, p...)
}

// Flush writes buffered output until the kernel stops taking it. When all is
// written it frees the buffer, ends backpressure, performs a pending
// ShutdownWrite and, if the conn is closing, reports done = true.
func (c *FD) Flush() (done bool, err error) {
	for c.OutboundBuffered() > 0 {
		pending := (*c.out)[c.outHead:]
		n, err := writeRetry(int(c.wfd), pending)
		if err != nil {
			c.writeFailure = os.NewSyscallError("write", err)
			return false, c.writeFailure
		}
		c.outHead += int32(n)
		c.shared.Outbound.Add(-int64(n))
		c.wrote(n, len(pending)-n)
		if n < len(pending) {
			if c.outHead > maxOutHead {
				rest := copy(*c.out, (*c.out)[c.outHead:])
				*c.out = (*c.out)[:rest]
				c.outHead = 0
			}
			break
		}
	}
	if c.OutboundBuffered() == 0 && c.out != nil {
		putBuf(c.out)
		c.out, c.outHead = nil, 0
	}
	if c.OutboundBuffered() == 0 && c.write == writeShutPending {
		if err := c.shutWrite(); err != nil {
			return false, err
		}
	}
	c.syncInterest()
	return c.Closing() && c.OutboundBuffered() == 0, nil
}
