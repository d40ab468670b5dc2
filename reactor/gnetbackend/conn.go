//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// wconn is the conn.Conn a handler sees: a gnet.Conn plus the state evloop
// promises and gnet does not keep. Fields without a comment saying otherwise
// are touched only on the conn's loop.
type wconn struct {
	e     *engine
	gc    gnet.Conn
	el    gnet.EventLoop // gc's loop; safe from any goroutine
	stats *loopStats

	// Captured at open: gnet clears its own copies when the conn closes,
	// and they are the listener's address rather than the conn's.
	local, remote net.Addr
	fd            int

	ctx      any
	opened   bool // the handler saw OnOpen (or, for UDP, OnTraffic)
	udp      bool // a datagram on a udp:// listener
	dialErr  error
	retained int // gnet's inbound bytes after the last callback: what is new is counted as read

	closed atomic.Bool // gnet has closed the conn; any goroutine
	gone   bool        // gnet has released the conn's buffers
	// cause is the OnClose cause when evloop, not gnet, closed the conn
	// (panic, idle timeout, inbound limit, forced stop).
	cause        error
	closing      atomic.Bool // close once output is flushed; read by any goroutine
	lingering    bool        // flushed and write-shut: discarding input until the peer's EOF
	inCallback   int
	pendingClose bool
	closeErr     error

	shut        atomic.Bool // ShutdownWrite called; any goroutine
	shutPending bool        // shutdown(2) once output is flushed
	// drainWait: output passed the high watermark. Input that arrives is
	// held back until output is down to the low watermark, when OnDrained
	// and then OnTraffic run.
	drainWait bool
	// hidden is how many bytes at the tail of gnet's inbound buffer the
	// handler does not see: input held back, which the native backend
	// would not have read yet. Every callback, a Wake'd OnTraffic
	// included, sees only what is in front of it; it is revealed a read's
	// worth at a time once output drains (deliverHeld).
	hidden int

	flushTimer    *time.Timer
	flushDelay    time.Duration
	flushRunnable gnet.Runnable

	idle         time.Duration
	lastActive   int64 // unix ns; kept only while idle > 0
	lastOut      int   // OutboundBuffered when last looked at, for flushProgress
	idleTimer    *time.Timer
	idleRunnable gnet.Runnable

	writev [][]byte // scratch: gnet's Writev trims the slice it is given
}

var _ conn.Conn = (*wconn)(nil)

// newConn wraps gc; it runs once per conn, in OnOpen.
func newConn(e *engine, gc gnet.Conn, dialed bool) *wconn {
	el := gc.EventLoop()
	w := &wconn{e: e, gc: gc, el: el, stats: e.loopStatsOf(el), fd: gc.Fd()}
	w.remote = ownAddr(gc.RemoteAddr())
	if dialed {
		w.local = ownAddr(gc.LocalAddr())
	} else {
		w.local = e.acceptedLocal(gc)
	}
	return w
}

// acceptedLocal is an accepted conn's local address. gnet hands every conn
// its listener's address as written (port 0, 0.0.0.0), so it is swapped for
// the bound one, or read from the socket when the listener is on an
// unspecified IP.
func (e *engine) acceptedLocal(gc gnet.Conn) net.Addr {
	la := gc.LocalAddr()
	if la == nil {
		return nil
	}
	if _, ok := la.(*net.UnixAddr); ok {
		return la
	}
	var fix localAddr
	if v, ok := e.localFix.Load(la); ok {
		fix = v.(localAddr)
	} else {
		var found bool
		if fix, found = e.localByKey[la.String()]; !found {
			fix = localAddr{addr: ownAddr(la)}
		}
		e.localFix.Store(la, fix)
	}
	if !fix.perSocket {
		return fix.addr
	}
	if sa, err := unix.Getsockname(gc.Fd()); err == nil {
		if _, udp := la.(*net.UDPAddr); !udp {
			return sockaddrToAddr("tcp", sa)
		}
	}
	return fix.addr
}

// ownAddr copies what gnet may recycle: an IPv6 zone string lives in a
// pooled buffer that gnet returns when the conn closes.
func ownAddr(a net.Addr) net.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a.Zone != "" {
			return &net.TCPAddr{IP: a.IP, Port: a.Port, Zone: strings.Clone(a.Zone)}
		}
	case *net.UDPAddr:
		if a.Zone != "" {
			return &net.UDPAddr{IP: a.IP, Port: a.Port, Zone: strings.Clone(a.Zone)}
		}
	}
	return a
}

func sockaddrToAddr(network string, sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		if network == "udp" {
			return &net.UDPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		}
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	case *unix.SockaddrInet6:
		zone := ""
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		if network == "udp" {
			return &net.UDPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port, Zone: zone}
		}
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port, Zone: zone}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}

func unspecified(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsUnspecified()
	case *net.UDPAddr:
		return a.IP.IsUnspecified()
	}
	return false
}

// ---- inbound (loop only) ----

// Read implements conn.Conn.
func (w *wconn) Read(p []byte) (int, error) {
	buffered := w.InboundBuffered()
	if buffered == 0 {
		if w.closed.Load() {
			return 0, io.EOF
		}
		return 0, conn.ErrNoData
	}
	if len(p) == 0 {
		return 0, nil
	}
	return w.gc.Read(p[:min(len(p), buffered)])
}

// Peek implements conn.Conn. gnet reads n <= 0 as "all", so 0 is answered
// here.
func (w *wconn) Peek(n int) ([]byte, error) {
	buffered := w.InboundBuffered()
	if n < 0 {
		n = buffered // all there is (of the view)
	}
	switch {
	case buffered == 0:
		if n > 0 {
			return nil, io.ErrShortBuffer
		}
		return nil, nil
	case n == 0:
		return []byte{}, nil
	case n > buffered:
		b, _ := w.gc.Peek(buffered)
		return b, io.ErrShortBuffer
	}
	return w.gc.Peek(n)
}

// Next implements conn.Conn.
func (w *wconn) Next(n int) ([]byte, error) {
	buffered := w.InboundBuffered()
	if n < 0 {
		n = buffered
	}
	switch {
	case n > buffered:
		return nil, io.ErrShortBuffer
	case buffered == 0:
		return nil, nil
	case n == 0:
		return []byte{}, nil
	}
	return w.gc.Next(n)
}

// Discard implements conn.Conn.
func (w *wconn) Discard(n int) (int, error) {
	buffered := w.InboundBuffered()
	if n == 0 || buffered == 0 {
		return 0, nil
	}
	if n < 0 || n > buffered {
		n = buffered
	}
	return w.gc.Discard(n)
}

// InboundBuffered implements conn.Conn.
func (w *wconn) InboundBuffered() int {
	if w.gone || w.gc == nil {
		return 0
	}
	return max(0, w.gc.InboundBuffered()-w.hidden)
}

// ---- outbound (loop only) ----

func (w *wconn) writable() error {
	switch {
	case (w.closed.Load() || w.closing.Load()) && !w.udp:
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
	n, err := w.gc.Write(p)
	if err != nil {
		return n, writeErr(err)
	}
	w.wrote(n)
	return n, nil
}

// Writev implements conn.Conn. A datagram conn sends the buffers as one
// datagram. gnet hands all of bufs to one writev(2), which fails past
// IOV_MAX buffers (and gnet closes the conn), so they go socket.MaxIovecs
// at a time.
func (w *wconn) Writev(bufs [][]byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	if w.udp {
		return w.Write(joinBufs(bufs))
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
	return total, nil
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
	if w.gone || w.gc == nil || w.udp {
		return 0
	}
	return w.gc.OutboundBuffered()
}

// ShutdownWrite implements conn.Conn. gnet has no half-close, so shutdown(2)
// is called on its socket once gnet's output buffer is empty.
func (w *wconn) ShutdownWrite() error {
	if w.udp {
		return fmt.Errorf("%w: ShutdownWrite on a UDP datagram", reactor.ErrUnsupported)
	}
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

// SetIdleTimeout implements conn.Conn, with a timer per conn that checks it
// on its loop.
func (w *wconn) SetIdleTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("gnetbackend: negative idle timeout")
	case w.udp:
		return fmt.Errorf("%w: SetIdleTimeout on a UDP datagram", reactor.ErrUnsupported)
	case w.closed.Load():
		return nil
	}
	w.idle = d
	if d == 0 {
		if w.idleTimer != nil {
			w.idleTimer.Stop()
		}
		return nil
	}
	w.lastActive = time.Now().UnixNano()
	if w.idleTimer == nil {
		w.idleRunnable = gnet.RunnableFunc(func(context.Context) error {
			w.checkIdle()
			return nil
		})
		w.idleTimer = time.AfterFunc(d, w.idleFired)
	} else {
		w.idleTimer.Reset(d)
	}
	return nil
}

// touch records activity for the idle timeout.
func (w *wconn) touch() {
	if w.idle > 0 {
		w.lastActive = time.Now().UnixNano()
	}
}

// flushProgress counts output the kernel has taken since the last look as
// activity, as the native backend's flushes count: gnet flushes its buffer
// without telling. The flush watch looks every few milliseconds while it
// runs (a closing conn, ShutdownWrite, above high); the idle check looks
// when its deadline comes, so a conn whose output moved only in that window
// lives at most one timeout longer than it would on the native backend.
func (w *wconn) flushProgress() {
	out := w.OutboundBuffered()
	if out < w.lastOut {
		w.touch()
	}
	w.lastOut = out
}

// idleFired runs on the timer's goroutine: the check belongs on the loop.
func (w *wconn) idleFired() {
	if !w.closed.Load() {
		w.el.Execute(context.Background(), w.idleRunnable)
	}
}

func (w *wconn) checkIdle() {
	if w.closed.Load() || w.idle <= 0 {
		return
	}
	w.flushProgress()
	now := time.Now().UnixNano()
	if deadline := w.lastActive + int64(w.idle); now < deadline {
		w.idleTimer.Reset(time.Duration(deadline - now))
		return
	}
	if w.lingering {
		// Closed by the handler with its output out; only the peer's EOF
		// is awaited, and the linger bounds that. Not an idle timeout.
		return
	}
	w.closeNow(reactor.ErrIdleTimeout)
}

// Context implements conn.Conn. gnet's own context slot holds the wconn.
func (w *wconn) Context() any { return w.ctx }

// SetContext implements conn.Conn.
func (w *wconn) SetContext(v any) { w.ctx = v }

// ---- any goroutine ----

// AsyncWrite implements conn.Conn with gnet's AsyncWrite, whose queue keeps
// one goroutine's writes in order; done receives this conn.
func (w *wconn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	if w.udp {
		return w.asyncDatagram(p, done)
	}
	if err := w.asyncWritable(); err != nil {
		return err
	}
	n := len(p)
	return mapErr(w.gc.AsyncWrite(p, func(_ gnet.Conn, err error) error {
		w.asyncWrote(n, err, done)
		return nil
	}))
}

// AsyncWritev implements conn.Conn. As in Writev, gnet gets at most
// socket.MaxIovecs buffers per write; done hears of the last one.
func (w *wconn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	if w.udp {
		return w.asyncDatagram(joinBufs(bufs), done)
	}
	if err := w.asyncWritable(); err != nil {
		return err
	}
	for {
		chunk := bufs[:min(len(bufs), socket.MaxIovecs)]
		bufs = bufs[len(chunk):]
		// gnet trims the slice it writes from; the caller's stays as it was.
		own := append([][]byte(nil), chunk...)
		n := 0
		for _, b := range chunk {
			n += len(b)
		}
		last := len(bufs) == 0
		err := w.gc.AsyncWritev(own, func(_ gnet.Conn, err error) error {
			if last {
				w.asyncWrote(n, err, done)
			} else {
				w.asyncWrote(n, err, nil)
			}
			return nil
		})
		if err != nil || last {
			return mapErr(err)
		}
	}
}

func (w *wconn) asyncWritable() error {
	switch {
	case w.closed.Load() || w.closing.Load():
		return conn.ErrClosed
	case w.shut.Load():
		return conn.ErrWriteShut
	}
	return nil
}

// asyncWrote runs on the loop after gnet's write.
func (w *wconn) asyncWrote(n int, err error, done conn.AsyncCallback) {
	err = mapErr(err)
	if err == nil {
		w.wrote(n)
	}
	if done != nil {
		w.callDone(done, err)
	}
}

// asyncDatagram sends at once: gnet's AsyncWrite on UDP is synchronous, and
// the datagram's gnet conn may already be released.
func (w *wconn) asyncDatagram(p []byte, done conn.AsyncCallback) error {
	if w.e.stopFlag.Load() {
		return conn.ErrClosed
	}
	err := mapErr(w.gc.AsyncWrite(p, nil))
	if err == nil {
		w.stats.bytesOut.Add(int64(len(p)))
	}
	if done != nil {
		done(w, err)
	}
	return err
}

// Wake implements conn.Conn: OnTraffic runs in a loop task (see woken).
func (w *wconn) Wake() error {
	if w.udp {
		return fmt.Errorf("%w: Wake on a UDP datagram", reactor.ErrUnsupported)
	}
	if w.closed.Load() {
		return conn.ErrClosed
	}
	return w.post(w.woken)
}

// Close implements conn.Conn: the conn closes on its loop once its output
// is flushed (gnet's Close would drop what the kernel has not taken).
func (w *wconn) Close() error {
	if w.udp {
		return fmt.Errorf("%w: Close on a UDP datagram: there is no connection", reactor.ErrUnsupported)
	}
	if w.closed.Load() {
		return conn.ErrClosed
	}
	return w.post(w.closeGracefully)
}

// LocalAddr implements conn.Conn.
func (w *wconn) LocalAddr() net.Addr { return w.local }

// RemoteAddr implements conn.Conn.
func (w *wconn) RemoteAddr() net.Addr { return w.remote }

// Fd implements conn.Conn: gnet's socket fd.
func (w *wconn) Fd() int { return w.fd }

// ---- closing, on the loop ----

// post runs fn on the conn's loop.
func (w *wconn) post(fn func()) error {
	return mapErr(w.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		fn()
		return nil
	})))
}

// closeGracefully closes the conn once its output is flushed; it runs in a
// loop task, outside gnet's callbacks.
func (w *wconn) closeGracefully() {
	if w.closed.Load() || w.closing.Load() {
		return
	}
	w.closing.Store(true)
	if w.gc.OutboundBuffered() == 0 {
		w.flushedClose()
		return
	}
	w.watchFlush()
}

// lingerTimeout bounds how long a closed conn waits for its peer's EOF, as
// in the native backend.
const lingerTimeout = 2 * time.Second

// flushedClose closes a conn whose output is all out. Like the native
// backend (see conn.FD.Linger) it first shuts the write half and discards
// input until the peer's EOF, on which gnet closes the conn itself: closing
// a socket with unread input sends RST, and an RST makes the peer's kernel
// drop what it has not read yet. lingerTimeout bounds the wait.
func (w *wconn) flushedClose() {
	if w.lingering || w.closed.Load() {
		return
	}
	if w.udp || unix.Shutdown(w.fd, unix.SHUT_WR) != nil {
		w.el.Close(w.gc)
		return
	}
	w.lingering = true
	w.gc.Discard(-1)
	w.retained, w.hidden = 0, 0
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
	// The flush timer is done with: it bounds the linger now.
	w.flushTimer = time.AfterFunc(lingerTimeout, func() {
		w.post(func() {
			if !w.closed.Load() {
				w.el.Close(w.gc)
			}
		})
	})
}

// closeNow closes the conn at once with cause; it runs in a loop task.
func (w *wconn) closeNow(cause error) {
	if w.closed.Load() {
		return
	}
	if w.cause == nil {
		w.cause = cause
	}
	w.el.Close(w.gc)
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
		if w.e.drainer != nil {
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

// deliverHeld hands what arrived while output was past the high watermark
// to OnTraffic as the native backend would read it: a read's worth more per
// call, on top of what the handler kept. It stops when all is consumed, when
// the handler has seen everything and kept it (it hears again when more
// arrives, as from the native backend), or when output passes the watermark
// again (then the rest stays held).
func (w *wconn) deliverHeld() {
	read := w.e.o.ReadBufferSize
	for !w.closed.Load() && !w.closing.Load() && !w.drainWait {
		before := w.gc.InboundBuffered()
		if before == 0 {
			w.hidden = 0
			return
		}
		w.hidden = max(0, w.hidden-read)
		sawAll := w.hidden == 0
		w.touch() // read now, as the native backend would read it
		w.afterTask(w.callTraffic())
		if w.closed.Load() || w.gone {
			return
		}
		if sawAll && w.gc.InboundBuffered() >= before {
			return // saw it all and kept it
		}
	}
}

// deliverHeldAtClose gives input still held back to OnTraffic before the
// conn's OnClose: the peer sent it before its EOF, which gnet answers by
// closing at once. Writes fail by now; what the handler reads is not lost.
func (w *wconn) deliverHeldAtClose() {
	if w.hidden == 0 || w.gone || w.inCallback > 0 {
		return
	}
	w.hidden = 0
	if w.gc.InboundBuffered() > 0 {
		w.callTraffic()
	}
}

// woken runs a Wake's OnTraffic, in a loop task. It is not gnet's Wake,
// whose OnTraffic cannot be told from a read's: a read's OnTraffic is held
// back above the high watermark, a Wake's never is (it sees the input in
// front of what is held, as from the native backend, which stops reading).
func (w *wconn) woken() {
	if w.closed.Load() || w.gone {
		return
	}
	w.afterTask(w.callTraffic())
}

// afterTask carries out what a handler callback run from a loop task (not
// from a gnet callback, so the conn may be closed right here) left to do.
func (w *wconn) afterTask(a reactor.Action) {
	if w.deliverPendingClose() || w.closed.Load() {
		return
	}
	// The callback may have consumed input outside OnTraffic; what OnTraffic
	// counts as new must start from what is left.
	w.retained = w.gc.InboundBuffered()
	if w.cause != nil {
		w.el.Close(w.gc)
		return
	}
	switch a {
	case reactor.Close:
		w.closeGracefully()
	case reactor.Shutdown:
		w.e.shutdownAsync()
	}
}

func (w *wconn) stopTimers() {
	if w.idleTimer != nil {
		w.idleTimer.Stop()
	}
	if w.flushTimer != nil {
		w.flushTimer.Stop()
	}
}

// mapErr turns gnet's "closed" errors into evloop's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, net.ErrClosed), errors.Is(err, gerrors.ErrEngineInShutdown):
		return conn.ErrClosed
	}
	return err
}
