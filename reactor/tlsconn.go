package reactor

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
)

// The states of a TLS conn, changed on its loop.
const (
	tlsHandshaking uint8 = iota
	tlsOpen              // the next handler has seen OnOpen
	tlsFailed            // the handshake failed; the raw conn is closing
	tlsClosed            // the next handler has seen OnClose
)

// tlsConn is one TLS conn: the plaintext conn.Conn the next handler sees
// and the state that drives the tls.Conn below it. Fields are the loop's
// unless marked otherwise.
type tlsConn struct {
	layer *TLSLayer
	raw   conn.Conn
	tc    *tls.Conn
	tr    tlsTransport

	state uint8
	// onLoop: the handshake goroutine is done and the transport is the
	// loop's, nonblocking. Written once by the loop after it has seen
	// hsDone, which the goroutine sets as its last use of the transport.
	onLoop bool

	// The handshake's exchange with its goroutine, under mu.
	mu       sync.Mutex
	feed     []byte        // ciphertext received, not yet read by crypto/tls
	fed      chan struct{} // signalled when feed grows
	abort    chan struct{} // closed when the handshake must end
	abortErr error         // why abort was closed
	held     bool          // the raw conn holds ciphertext the feed had no room for
	hsDone   bool          // the goroutine's Handshake has returned
	hsErr    error
	goDone   chan struct{} // closed when the goroutine has set hsDone
	timer    *time.Timer

	// plaintext: decrypted, unconsumed bytes, a view of inBuf.
	in    []byte
	inBuf *[]byte
	// batch collects records crypto/tls writes during one call, so they
	// reach the raw conn in one Write.
	batch *[]byte

	// rec follows the records handed to crypto/tls: the handshake
	// goroutine's while it runs, then the loop's.
	rec recordFramer

	ctx        any
	wakeAsked  atomic.Bool // the next handler called Wake; any goroutine
	backlog    bool        // decrypting paused for the watermark; OnDrained resumes
	peerClosed bool        // close_notify received
	eof        bool        // the raw conn has closed: reads end with io.EOF
	closeSent  bool        // close_notify sent
	cause      error       // the OnClose cause the layer decided on
}

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

var errHandshakeAborted = errors.New("reactor: TLS handshake aborted: conn closed")

func newTLSConn(l *TLSLayer, raw conn.Conn) *tlsConn {
	c := &tlsConn{layer: l, raw: raw}
	c.tr.c = c
	return c
}

// ---- handshake ----

func (c *tlsConn) startHandshake() {
	c.fed = make(chan struct{}, 1)
	c.abort = make(chan struct{})
	c.goDone = make(chan struct{})
	if c.layer.client {
		c.tc = tls.Client(&c.tr, c.layer.cfg)
	} else {
		c.tc = tls.Server(&c.tr, c.layer.cfg)
	}
	c.timer = time.AfterFunc(c.layer.timeout, c.handshakeTimedOut)
	go c.handshake()
	handOver()
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
	// Closed under mu: once the loop has seen hsDone, this goroutine
	// touches nothing of c but the raw conn, so the loop may drop what
	// served the handshake.
	close(c.goDone)
	c.mu.Unlock()
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

func (c *tlsConn) handshakeTimedOut() {
	if c.abortHandshake(ErrHandshakeTimeout) {
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
// limit, until the goroutine asks for more.
func (c *tlsConn) feedHandshake() {
	b, _ := c.raw.Peek(-1)
	if len(b) == 0 {
		return
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
// closed by the caller (or is closing already).
func (c *tlsConn) failed(err error) {
	if c.state != tlsHandshaking {
		return
	}
	c.state = tlsFailed
	c.abortHandshake(errHandshakeAborted)
	c.timer.Stop()
	l := c.layer
	l.counters.inProgress.Add(-1)
	l.counters.failures.Add(1)
	l.log.Debug("tls handshake failed", "remote", c.raw.RemoteAddr(), "err", err)
	c.raw.Discard(-1)
	if l.client {
		c.state = tlsClosed
		l.next.OnClose(c, c.dialError(err))
	}
}

// opened switches a conn whose handshake completed to the loop and calls
// the next OnOpen, then OnTraffic for what arrived meanwhile.
func (c *tlsConn) opened() Action {
	c.timer.Stop()
	c.onLoop = true
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
	c.state = tlsOpen
	l := c.layer
	l.counters.inProgress.Add(-1)
	l.counters.handshakes.Add(1)
	if a := c.act(l.next.OnOpen(c)); a != None || c.state != tlsOpen {
		return a
	}
	return c.traffic()
}

// ---- on the loop, after the handshake ----

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
		if c.state != tlsOpen {
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
			// The peer's close_notify: answer it and close once flushed.
			c.peerClosed = true
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
	if c.closeSent || c.state != tlsOpen {
		return
	}
	c.closeSent = true
	c.beginBatch()
	c.tc.CloseWrite()
	c.endBatch()
}

// closeLocal is Close on the loop.
func (c *tlsConn) closeLocal() {
	switch c.state {
	case tlsOpen:
		c.sendCloseNotify()
		c.raw.Close()
	case tlsHandshaking:
		c.raw.Close()
	}
}

// rawClosed is the raw conn's OnClose.
func (c *tlsConn) rawClosed(err error) {
	l := c.layer
	switch c.state {
	case tlsHandshaking:
		c.abortHandshake(errHandshakeAborted)
		if l.client {
			// The goroutine may have failed a moment ago (a bad
			// certificate, whose alert made the server close): wait
			// briefly for its verdict, which says more than the EOF.
			t := time.NewTimer(clientVerdictWait)
			select {
			case <-c.goDone:
			case <-t.C:
			}
			t.Stop()
		}
		c.mu.Lock()
		hsErr, abortErr := c.hsErr, c.abortErr
		c.mu.Unlock()
		cause := hsErr
		switch {
		case abortErr == ErrHandshakeTimeout:
			cause = ErrHandshakeTimeout
		case cause == nil || errors.Is(cause, errHandshakeAborted):
			cause = err
			if cause == nil {
				cause = io.ErrUnexpectedEOF
			}
		}
		c.failed(cause)
	case tlsOpen:
		c.state = tlsClosed
		cause := c.cause
		if cause == nil && !c.peerClosed {
			// After the peer's close_notify, a reset is only the peer
			// closing its socket before our close_notify reached it.
			cause = err
		}
		if cause == nil && !c.peerClosed && !c.closeSent {
			// The peer's EOF without close_notify: truncated, unless
			// the engine closed the conn as it stops. (truncated reads
			// on, so crypto/tls sees the EOF either way.)
			if cut := c.truncated(); cut || !l.engine.stopping() {
				cause = ErrTLSTruncated
			}
		}
		l.next.OnClose(c, cause)
		c.releaseInbound()
	}
}

// truncated says whether the peer's EOF, which came without close_notify,
// cut a record short. crypto/tls answers that with io.ErrUnexpectedEOF and
// an EOF at a record boundary with io.EOF (which it accepts as the end, as
// many peers close so); the transport now reports the EOF to find out.
func (c *tlsConn) truncated() bool {
	c.eof = true
	_, err := c.tc.Read(c.inboundTail())
	return err == io.ErrUnexpectedEOF
}

// clientVerdictWait bounds how long a dial's OnClose waits, on the loop,
// for its handshake goroutine to say why it failed.
const clientVerdictWait = 250 * time.Millisecond

// ---- buffers ----

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

// ---- transport (net.Conn for crypto/tls) ----

// Read implements net.Conn.
func (t *tlsTransport) Read(p []byte) (int, error) {
	c := t.c
	if c.onLoop {
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
	if c.onLoop {
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

// ---- conn.Conn for the next handler ----

// Read implements conn.Conn over plaintext.
func (c *tlsConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		if c.state != tlsOpen || c.peerClosed {
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
	case c.state != tlsOpen:
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
	if !c.onLoop {
		// Never opened: the handshake may still hold the tls.Conn.
		return tls.ConnectionState{}
	}
	return c.tc.ConnectionState()
}

var _ TLSConn = (*tlsConn)(nil)

// ---- record framing ----

// recordHeaderLen is the size of a TLS record header: type, version,
// length.
const recordHeaderLen = 5

// recordFramer follows the record framing of the ciphertext the transport
// hands to crypto/tls, so that no read goes past the end of a record.
// crypto/tls then never holds ciphertext beyond the record it is reading:
// between records (boundary) it holds none, and the loop need not call
// Read to find out that nothing is left (each such call allocates in
// crypto/tls). A whole record still goes over in one read when it has
// arrived, as crypto/tls asks for it.
type recordFramer struct {
	hdr  [recordHeaderLen]byte
	hdrN int // header bytes handed over
	body int // body bytes of the current record still to hand over
}

// boundary says whether every record handed over is complete.
func (f *recordFramer) boundary() bool { return f.hdrN == 0 }

// limit is how many bytes may be handed over without crossing the end of
// the current record, given next, the start of what is available (at
// least the rest of a header, if that much is there).
func (f *recordFramer) limit(next []byte) int {
	if f.hdrN == recordHeaderLen {
		return f.body
	}
	need := recordHeaderLen - f.hdrN
	if len(next) < need {
		return len(next)
	}
	var hdr [recordHeaderLen]byte
	copy(hdr[copy(hdr[:], f.hdr[:f.hdrN]):], next[:need])
	return need + (int(hdr[3])<<8 | int(hdr[4]))
}

// advance notes that b was handed over.
func (f *recordFramer) advance(b []byte) {
	for len(b) > 0 {
		if f.hdrN < recordHeaderLen {
			k := copy(f.hdr[f.hdrN:], b)
			f.hdrN += k
			b = b[k:]
			if f.hdrN == recordHeaderLen {
				f.body = int(f.hdr[3])<<8 | int(f.hdr[4])
				if f.body == 0 {
					f.hdrN = 0
				}
			}
			continue
		}
		k := min(f.body, len(b))
		f.body -= k
		b = b[k:]
		if f.body == 0 {
			f.hdrN = 0
		}
	}
}

// take copies from src into p up to the end of the current record and
// returns how many bytes it copied.
func (f *recordFramer) take(p, src []byte) int {
	if n := f.limit(src); n < len(p) {
		p = p[:n]
	}
	n := copy(p, src)
	f.advance(p[:n])
	return n
}
