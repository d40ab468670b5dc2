//go:build unix

package fdconn

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
)

// syncInterest tells the poller what the conn wants now: reading unless
// paused by backpressure, closing or EOF (or lingering, to see the peer's
// EOF); writing while output is pending.
func (c *FD) syncInterest() {
	out := c.OutboundBuffered()
	if c.limits().WriteHigh > 0 {
		if !c.readPaused && out > c.limits().WriteHigh {
			c.readPaused = true
		} else if c.readPaused && out <= c.limits().WriteLow {
			c.readPaused = false
		}
	}
	s := c.closeStage()
	wantRead := s == stageLingering || (s == stageOpen && !c.readPaused && !c.readHeld && !c.readEOF)
	wantWrite := out > 0
	if !c.registered || s == stageReleased {
		return
	}
	if c.rfd == c.wfd {
		if wantRead != c.regRead || wantWrite != c.regWrite {
			c.owner().SetInterest(int(c.rfd), wantRead, wantWrite)
			c.regRead, c.regWrite = wantRead, wantWrite
		}
		return
	}
	if wantRead != c.regRead {
		c.owner().SetInterest(int(c.rfd), wantRead, false)
		c.regRead = wantRead
	}
	if wantWrite != c.regWrite && c.wfd >= 0 {
		c.owner().SetInterest(int(c.wfd), false, wantWrite)
		c.regWrite = wantWrite
	}
}

// Registered records that the loop added the conn's fds to its poller with
// read interest (and no write interest).
func (c *FD) Registered() {
	c.registered = true
	c.regRead, c.regWrite = true, false
	c.lastActive = c.shared.Now
	c.syncInterest()
}

// WantsRead tells whether the conn is reading now (not paused or closing).
func (c *FD) WantsRead() bool { return c.regRead }

// EndRead stops watching the conn for input once its peer's EOF is read,
// for a conn kept open for writing after it.
func (c *FD) EndRead() { c.syncInterest() }

// ReadPaused tells whether backpressure has paused reading.
func (c *FD) ReadPaused() bool { return c.readPaused }

// PauseRead implements conn.ReadPauser.
func (c *FD) PauseRead() error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	c.readHeld = true
	c.syncInterest()
	return nil
}

// ResumeRead implements conn.ReadPauser.
func (c *FD) ResumeRead() error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	if !c.readHeld {
		return nil
	}
	c.readHeld = false
	c.syncInterest()
	if len(c.in) > 0 {
		return c.Wake()
	}
	return nil
}

// BeginClose marks the conn closing: it stops reading and closes once output
// is flushed. It reports whether nothing is left to flush.
func (c *FD) BeginClose() bool {
	if c.closeStage() == stageOpen {
		c.stage.Store(uint32(stageClosing))
	}
	c.syncInterest()
	return c.OutboundBuffered() == 0
}

// Linger shuts the write half of a flushed, closing socket and keeps
// reading, so that the loop can discard what the peer still sends until its
// EOF. Closing a socket with unread input makes the kernel send RST, and an
// RST makes the peer's kernel drop output it has not read yet: lingering is
// how every byte written before a Close reaches the peer. It reports false
// when there is nothing to wait for (EOF already seen, or not a socket), so
// the conn can be released at once.
func (c *FD) Linger() bool {
	if c.readEOF || c.rfd != c.wfd || c.closeStage() != stageClosing {
		return false
	}
	if err := unix.Shutdown(int(c.wfd), unix.SHUT_WR); err != nil {
		return false
	}
	c.write = writeShut
	c.stage.Store(uint32(stageLingering))
	c.in = c.in[:0]
	c.syncInterest()
	return true
}

// Quiet tells whether an open socket conn can be released at once with no
// loss to either side: no output is pending and the peer has sent nothing
// unread (one read finds nothing, or its EOF). Closing such a socket sends a
// FIN after everything written, as flushing and lingering would; closing
// one with unread input would send an RST instead. Input that a read here
// does find is discarded, as a closing conn's is: the conn then closes
// gracefully (BeginClose).
func (c *FD) Quiet() bool {
	if c.closeStage() != stageOpen || c.rfd != c.wfd || c.OutboundBuffered() > 0 || c.write == writeShutPending {
		return false
	}
	n, err := readRetry(int(c.rfd), c.shared.ReadBuf)
	return n == 0 && (err == nil || err == unix.EAGAIN)
}

// Lingering tells whether the conn is discarding input before its close.
func (c *FD) Lingering() bool { return c.closeStage() == stageLingering }

// Closing tells whether the conn is closing: flushing, or lingering after.
func (c *FD) Closing() bool {
	s := c.closeStage()
	return s == stageClosing || s == stageLingering
}

// IsClosed tells whether the conn has been released. Safe from any goroutine.
func (c *FD) IsClosed() bool { return c.closeStage() == stageReleased }

// Release marks the conn closed, closes its fds and returns its buffers. The
// loop removes the fds from its poller first. It reports false if the conn
// was already released, so teardown happens once.
func (c *FD) Release() bool {
	for {
		s := c.stage.Load()
		if closeStage(s) == stageReleased {
			return false
		}
		if c.stage.CompareAndSwap(s, uint32(stageReleased)) {
			break
		}
	}
	if c.rfd >= 0 {
		unix.Close(int(c.rfd))
	}
	if c.wfd >= 0 && c.wfd != c.rfd {
		unix.Close(int(c.wfd))
	}
	c.shared.Outbound.Add(-int64(c.OutboundBuffered()))
	// Inbound stays readable (Peek/Next) in OnClose only if retained; the
	// shared-buffer view would be overwritten, so drop it.
	if c.inBuf == nil {
		c.in = nil
	}
	if c.out != nil {
		putBuf(c.out)
		c.out, c.outHead = nil, 0
	}
	return true
}

// ReleaseInbound frees retained inbound bytes after OnClose.
func (c *FD) ReleaseInbound() { c.releaseInbound() }

// ShutdownWrite half-closes the conn once pending output is flushed.
func (c *FD) ShutdownWrite() error {
	if err := c.writable(); err != nil {
		return err
	}
	c.write = writeShutPending
	if c.OutboundBuffered() == 0 {
		_, err := c.Flush()
		return err
	}
	return nil
}

// shutWrite performs a pending ShutdownWrite once the output is flushed.
func (c *FD) shutWrite() error {
	c.write = writeShut
	if c.wfd != c.rfd {
		// A FIFO pair: closing the write end is how the peer sees EOF. The
		// loop forgets the fd first.
		c.owner().ForgetFd(int(c.wfd))
		err := unix.Close(int(c.wfd))
		c.wfd = -1
		return os.NewSyscallError("close", err)
	}
	return os.NewSyscallError("shutdown", unix.Shutdown(int(c.wfd), unix.SHUT_WR))
}

// Moving prepares a conn that its loop has taken out of its poller to be
// registered on another loop (Registered there): the old loop's interest and
// idle-timer entries are no longer the conn's. The loop drops those entries
// as they come due, without asking the conn (it belongs to another loop).
// Unconsumed inbound bytes must be retained first: the read buffer they may
// sit in is the old loop's.
func (c *FD) Moving() {
	c.registered = false
	c.regRead, c.regWrite = false, false
	c.idleTimers, c.idleLive = 0, false
	c.idleGen++
}
