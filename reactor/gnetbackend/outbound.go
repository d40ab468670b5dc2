//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// A stream conn's output: writes through gnet, the high watermark, and the
// flush watch that stands in for the writable events gnet does not report.

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/socket"
)

// writable says why the conn takes no more output, if it does not; it reads
// only atomics, so AsyncWrite may ask from any goroutine.
func (w *wconn) writable() error {
	switch {
	case w.closed.Load() || w.closing.Load():
		return conn.ErrClosed
	case w.shut.Load():
		return conn.ErrWriteShut
	}
	return nil
}

// Write implements conn.Conn.
func (w *wconn) Write(p []byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	if w.overflowed {
		return 0, conn.ErrOutboundTooLarge
	}
	before := w.gc.OutboundBuffered()
	if before > 0 && w.overOutbound(before, len(p)) {
		// gnet would buffer all of p: refused before it copies any.
		return 0, w.overflow()
	}
	n, err := w.gc.Write(p)
	if err != nil {
		return n, writeErr(err)
	}
	w.wrote(n)
	if after := w.gc.OutboundBuffered(); after > before && w.overOutbound(0, after) {
		return len(p) - (after - before), w.overflow()
	}
	return n, nil
}

// Writev implements conn.Conn. gnet hands all of bufs to one writev(2), which fails past
// IOV_MAX buffers (and gnet closes the conn), so they go socket.MaxIovecs
// at a time.
func (w *wconn) Writev(bufs [][]byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	if w.overflowed {
		return 0, conn.ErrOutboundTooLarge
	}
	before := w.gc.OutboundBuffered()
	if before > 0 {
		size := 0
		for _, b := range bufs {
			size += len(b)
		}
		if w.overOutbound(before, size) {
			return 0, w.overflow()
		}
	}
	total := 0
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), socket.MaxIovecs)]
		bufs = bufs[len(chunk):]
		w.writev = append(w.writev[:0], chunk...)
		n, err := w.gc.Writev(w.writev)
		clear(w.writev)
		if err != nil {
			w.wrote(total)
			return total + n, writeErr(err)
		}
		total += n
	}
	w.wrote(total)
	if after := w.gc.OutboundBuffered(); after > before && w.overOutbound(0, after) {
		return total - (after - before), w.overflow()
	}
	return total, nil
}

// overOutbound tells whether n more bytes on top of buffered pass
// MaxOutbound.
func (w *wconn) overOutbound(buffered, n int) bool {
	max := w.e.o.MaxOutbound
	return max > 0 && n > max-buffered
}

// overflow fails the conn for passing MaxOutbound, as the native backend
// does: it closes at once with conn.ErrOutboundTooLarge, dropping its
// output. With nothing buffered, gnet hands a write to the kernel first and
// buffers the rest, so that rest is checked once buffered, and dropped with
// the conn. Inside a handler callback the close comes after it (settle,
// afterTask); elsewhere (an async write without a callback, OnTick) in a
// loop task.
func (w *wconn) overflow() error {
	if !w.overflowed {
		w.overflowed = true
		w.stats.outboundOverflows.Add(1)
		if w.cause == nil {
			w.cause = conn.ErrOutboundTooLarge
		}
		if w.inCallback == 0 {
			w.post(func() { w.closeNow(conn.ErrOutboundTooLarge) })
		}
	}
	return conn.ErrOutboundTooLarge
}

func (w *wconn) wrote(n int) {
	if n <= 0 {
		return
	}
	w.stats.bytesOut.Add(int64(n))
	w.touch()
	w.lastOut = w.OutboundBuffered()
	if !w.drainWait && w.e.o.WriteHigh > 0 && w.OutboundBuffered() > w.e.o.WriteHigh {
		w.drainWait = true
		w.watchFlush()
	}
}

// writeErr names a failed write; gnet returns the bare errno (and has
// already closed the conn).
func writeErr(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return os.NewSyscallError("write", errno)
	}
	return mapErr(err)
}

func joinBufs(bufs [][]byte) []byte {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	p := make([]byte, 0, n)
	for _, b := range bufs {
		p = append(p, b...)
	}
	return p
}

// OutboundBuffered implements conn.Conn.
func (w *wconn) OutboundBuffered() int {
	if w.gone || w.gc == nil {
		return 0
	}
	return w.gc.OutboundBuffered()
}

// AsyncWrite implements conn.Conn: p is written on the loop as Write would
// write it there, in order with the conn's other async writes; done
// receives this conn.
func (w *wconn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	return w.onLoopWrite(func() error {
		_, err := w.Write(p)
		return err
	}, done)
}

// AsyncWritev implements conn.Conn as AsyncWrite does.
func (w *wconn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	return w.onLoopWrite(func() error {
		_, err := w.Writev(bufs)
		return err
	}, done)
}

// onLoopWrite runs write on the loop, then done. gnet's AsyncWritev of
// nothing is the hop: its queue keeps one goroutine's async writes in order
// (the loop tasks of Execute have a queue of their own), and it makes no
// system call. gnet's own async write is not used to write: it would write
// to a socket whose write half was shut after the write was queued (by
// ShutdownWrite or a graceful close), get EPIPE and close the conn, where
// the native backend fails that write with ErrWriteShut or ErrClosed and
// keeps the conn.
func (w *wconn) onLoopWrite(write func() error, done conn.AsyncCallback) error {
	if err := w.writable(); err != nil {
		return err
	}
	return mapErr(w.gc.AsyncWritev(nil, func(_ gnet.Conn, err error) error {
		if err == nil {
			err = write()
		} else {
			err = mapErr(err)
		}
		if done != nil {
			w.callDone(done, err)
		}
		return nil
	}))
}

// ShutdownWrite implements conn.Conn. gnet has no half-close, so shutdown(2)
// is called on its socket once gnet's output buffer is empty.
func (w *wconn) ShutdownWrite() error {
	if err := w.writable(); err != nil {
		return err
	}
	w.shut.Store(true)
	if w.gc.OutboundBuffered() == 0 {
		return w.shutWrite()
	}
	w.shutPending = true
	w.watchFlush()
	return nil
}

func (w *wconn) shutWrite() error {
	return os.NewSyscallError("shutdown", unix.Shutdown(w.fd, unix.SHUT_WR))
}

// watchFlush polls the conn's output while something waits for it to
// drain (a graceful close, ShutdownWrite, OnDrained): gnet says nothing when
// its buffer empties.
func (w *wconn) watchFlush() {
	if w.flushTimer != nil {
		return
	}
	if w.flushRunnable == nil {
		w.flushRunnable = gnet.RunnableFunc(func(context.Context) error {
			w.checkFlush()
			return nil
		})
	}
	w.flushDelay = time.Millisecond
	w.flushTimer = time.AfterFunc(w.flushDelay, w.flushFired)
}

const maxFlushDelay = 10 * time.Millisecond

func (w *wconn) flushFired() {
	if !w.closed.Load() {
		w.el.Execute(context.Background(), w.flushRunnable)
	}
}

func (w *wconn) checkFlush() {
	if w.closed.Load() {
		return
	}
	w.flushProgress()
	if w.drainWait && w.gc.OutboundBuffered() <= w.e.o.WriteLow {
		w.drainWait = false
		if w.route.drainer != nil {
			w.afterTask(w.callDrained())
			if w.closed.Load() {
				return
			}
		}
		if w.hidden > 0 {
			w.deliverHeld()
			if w.closed.Load() {
				return
			}
		}
	}
	if w.lingering {
		return // the linger timer owns flushTimer now
	}
	if w.gc.OutboundBuffered() > 0 {
		if w.closing.Load() || w.shutPending || w.drainWait {
			w.flushDelay = min(2*w.flushDelay, maxFlushDelay)
			w.flushTimer.Reset(w.flushDelay)
			return
		}
		w.flushTimer = nil
		return
	}
	w.flushTimer = nil
	if w.shutPending {
		w.shutPending = false
		if err := w.shutWrite(); err != nil {
			w.closeNow(err)
			return
		}
	}
	if w.closing.Load() {
		w.flushedClose()
	}
}
