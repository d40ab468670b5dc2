package websocket

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

type connState uint8

const (
	stateHandshake connState = iota // reading the opening request (server) or response (client)
	stateOpen                       // messages flow both ways
	stateClosing                    // this side sent Close and waits for the peer's
	stateEnding                     // a client whose closing handshake is done: waits for the server to close TCP
	stateClosed                     // done: the transport is closing
)

// Conn is a WebSocket conn. It belongs to one loop, as its conn.Conn does:
// methods marked "loop only" may be called only from the Handler's
// callbacks (for a conn of the same loop); those marked "any goroutine"
// queue their work for the conn's loop and wake it.
type Conn struct {
	raw conn.Conn
	ep  *endpoint
	ctx any
	rd  messageReader
	x   *connExtra                 // what only some conns need (made on first use)
	dl  *deadlines                 // made when a deadline is first set
	q   atomic.Pointer[asyncQueue] // work other goroutines queued (made on first use)

	state    connState
	server   bool
	opened   bool // OnOpen was called: OnClose will be
	causeSet bool // the cause is final, even when nil

	// An idle conn is what a server holds by the ten thousand, so it is
	// kept to 128 bytes (TestConnSize): what only the handshake, a client,
	// compression, deadlines or other goroutines' writes need is in
	// structs of its own, made when needed.
}

// endpoint is what a server's conns (or a dial's) share: the handler and
// the options.
type endpoint struct {
	h Handler
	o *Options
}

// connExtra is the part of a conn that most idle server conns never
// need.
type connExtra struct {
	client   *clientHandler // a client's handshake in progress
	head     headReader     // a handshake read by this package (not http1)
	req      *RequestHead
	protocol string
	deflate  *DeflateParams
	dfl      *deflater
	cause    error
}

// deadlines are a conn's handshake, closing and ping deadlines, on the
// loop; one timer wakes the loop for the earliest.
type deadlines struct {
	timer        *time.Timer
	fired        atomic.Bool
	handshake    int64 // monotonic nanoseconds (now()); 0: none
	closing      int64
	ping         int64
	awaitingPong bool
}

// asyncQueue is the work other goroutines queued for a conn's loop.
type asyncQueue struct {
	mu       sync.Mutex
	items    []queued
	bytes    int
	overflow bool // the queue passed MaxBacklog
	gone     bool // the conn has closed: queue nothing more
}

// closedQueue is the queue of every conn that closed before another
// goroutine queued anything for it: the close makes none for it.
var closedQueue = &asyncQueue{gone: true}

// queued is one piece of work another goroutine asked of the conn's loop.
type queued struct {
	op     Opcode
	data   []byte
	pm     *PreparedMessage
	close  bool
	code   CloseCode
	reason string
}

func newConn(raw conn.Conn, ep *endpoint, server bool) *Conn {
	return &Conn{raw: raw, ep: ep, server: server, rd: newMessageReader(server)}
}

// extra returns c's connExtra, made on first use.
func (c *Conn) extra() *connExtra {
	if c.x == nil {
		c.x = new(connExtra)
	}
	return c.x
}

// deadlines returns c's deadlines, made on first use.
func (c *Conn) deadlines() *deadlines {
	if c.dl == nil {
		c.dl = new(deadlines)
	}
	return c.dl
}

// setCause makes err the conn's OnClose cause, final even when nil.
func (c *Conn) setCause(err error) {
	if err != nil || c.x != nil {
		c.extra().cause = err
	}
	c.causeSet = true
}

// cause is the conn's OnClose cause so far.
func (c *Conn) cause() error {
	if c.x == nil {
		return nil
	}
	return c.x.cause
}

// queue returns the conn's queue, made on first use (any goroutine).
func (c *Conn) queue() *asyncQueue {
	if q := c.q.Load(); q != nil {
		return q
	}
	c.q.CompareAndSwap(nil, new(asyncQueue))
	return c.q.Load()
}

// Raw is the transport conn under c (loop only, as its methods are):
// OutboundBuffered, addresses, the TLS state.
func (c *Conn) Raw() conn.Conn { return c.raw }

// Request is the opening request a server conn was upgraded with (nil on
// a client conn): its path and headers (Origin, cookies, ...). It is nil
// once OnOpen has returned, unless Options.KeepRequest.
func (c *Conn) Request() *RequestHead {
	if c.x == nil {
		return nil
	}
	return c.x.req
}

// Subprotocol is the subprotocol agreed in the handshake, "" for none.
func (c *Conn) Subprotocol() string {
	if c.x == nil {
		return ""
	}
	return c.x.protocol
}

// Deflate is the permessage-deflate agreed in the handshake, nil for none.
func (c *Conn) Deflate() *DeflateParams {
	if c.x == nil {
		return nil
	}
	return c.x.deflate
}

// Context returns the value stored with SetContext (loop only).
func (c *Conn) Context() any { return c.ctx }

// SetContext stores a per-conn value for the application (loop only).
func (c *Conn) SetContext(v any) { c.ctx = v }

// RemoteAddr is the peer's address (the client's, behind a PROXY header).
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// LocalAddr is the local address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// WriteMessage sends data as one text or binary message (loop only). It
// returns ErrClosed once the closing handshake has begun, and
// ErrSlowReceiver (cutting the conn off) when the peer has fallen more
// than MaxBacklog behind. data may be reused once it returns.
func (c *Conn) WriteMessage(op Opcode, data []byte) error {
	if op != OpText && op != OpBinary {
		return protocolErr("WriteMessage takes text or binary, not %v", op)
	}
	if c.state != stateOpen {
		return ErrClosed
	}
	return c.writeMessage(op, data)
}

// WritePrepared sends a prepared message (loop only): its frame, built
// once for every conn it goes to.
func (c *Conn) WritePrepared(pm *PreparedMessage) error {
	if c.state != stateOpen {
		return ErrClosed
	}
	if !c.server {
		return c.writeMessage(pm.op, pm.data) // a client masks each frame anew
	}
	return c.writePrepared(pm)
}

// Ping sends a ping with up to 125 bytes of data (loop only); the peer's
// pong arrives as liveness, not as a message.
func (c *Conn) Ping(data []byte) error {
	if len(data) > MaxControlPayload {
		return protocolErr("ping payload of %d bytes", len(data))
	}
	if c.state != stateOpen {
		return ErrClosed
	}
	return c.writeFrame(OpPing, false, data)
}

// Close starts the closing handshake with code and reason (loop only):
// it sends a Close frame and closes the transport once the peer's arrives,
// or after CloseTimeout. Messages that arrive meanwhile are dropped.
// OnClose then gets nil.
func (c *Conn) Close(code CloseCode, reason string) error {
	if !ValidCloseCode(code) {
		return protocolErr("close code %d may not be sent", code)
	}
	if c.state != stateOpen {
		return ErrClosed
	}
	c.setCause(nil)
	return c.sendClose(code, reason)
}

// AsyncWriteMessage is WriteMessage from any goroutine: the message is
// framed and sent on the conn's loop. data must not be modified until
// then. Messages queued and not yet sent count towards MaxBacklog.
func (c *Conn) AsyncWriteMessage(op Opcode, data []byte) error {
	if op != OpText && op != OpBinary {
		return protocolErr("AsyncWriteMessage takes text or binary, not %v", op)
	}
	return c.enqueue(queued{op: op, data: data}, len(data))
}

// AsyncWritePrepared is WritePrepared from any goroutine: how a message
// fans out to conns on other loops.
func (c *Conn) AsyncWritePrepared(pm *PreparedMessage) error {
	return c.enqueue(queued{pm: pm}, len(pm.frame))
}

// AsyncClose is Close from any goroutine.
func (c *Conn) AsyncClose(code CloseCode, reason string) error {
	if !ValidCloseCode(code) {
		return protocolErr("close code %d may not be sent", code)
	}
	return c.enqueue(queued{close: true, code: code, reason: reason}, 0)
}

func (c *Conn) enqueue(w queued, size int) error {
	q := c.queue()
	q.mu.Lock()
	if q.gone {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.bytes > 0 && q.bytes+size > c.ep.o.MaxBacklog {
		wake := !q.overflow
		q.overflow = true
		q.mu.Unlock()
		if wake {
			c.raw.Wake()
		}
		return ErrSlowReceiver
	}
	first := len(q.items) == 0
	q.items = append(q.items, w)
	q.bytes += size
	q.mu.Unlock()
	if first {
		return c.raw.Wake()
	}
	return nil
}

// runQueue does what other goroutines queued, in order (loop only).
func (c *Conn) runQueue() {
	q := c.q.Load()
	if q == nil {
		return
	}
	q.mu.Lock()
	items, overflow := q.items, q.overflow
	q.items, q.bytes, q.overflow = nil, 0, false
	q.mu.Unlock()
	if overflow {
		c.cutOff(ErrSlowReceiver)
		return
	}
	for i := range items {
		if c.state != stateOpen {
			break
		}
		switch w := &items[i]; {
		case w.close:
			c.Close(w.code, w.reason)
		case w.pm != nil:
			c.WritePrepared(w.pm)
		default:
			c.writeMessage(w.op, w.data)
		}
	}
}

// traffic is the conn's OnTraffic: due deadlines, the handshake, queued
// work, then the frames that arrived.
func (c *Conn) traffic() reactor.Action {
	if c.dl != nil && c.dl.fired.Swap(false) {
		c.runDeadlines()
	}
	if c.state == stateHandshake {
		c.readHandshake()
	}
	if c.state == stateOpen {
		c.runQueue()
	}
	for c.state == stateOpen || c.state == stateClosing {
		b, _ := c.raw.Peek(-1)
		if len(b) == 0 {
			break
		}
		ev, n, err := c.rd.next(b, uint64(c.ep.o.MaxMessage)) // set by withDefaults
		if err != nil {
			c.fail(err)
			break
		}
		if n == 0 {
			break
		}
		if ev.op != OpContinuation {
			c.handle(ev)
			c.rd.release()
		}
		c.raw.Discard(n)
	}
	if c.state == stateEnding {
		c.raw.Discard(-1) // nothing may follow the server's Close
	}
	if c.state == stateClosed {
		c.raw.Discard(-1)
		return reactor.Close
	}
	return reactor.None
}

// readHandshake reads the opening request and answers it (server side).
func (c *Conn) readHandshake() {
	if !c.server {
		c.readClientHandshake()
		return
	}
	o := c.ep.o
	x := c.extra()
	b, _ := c.raw.Peek(-1)
	head, n, err := x.head.read(b, o.MaxRequestHead)
	if err != nil {
		he := err.(*HandshakeError)
		c.refuse(Handshake{Status: he.Status, Reason: he.Reason})
		return
	}
	if n == 0 {
		return
	}
	c.raw.Discard(n)
	if o.Path != "" && head.Path() != o.Path {
		c.refuse(Handshake{Status: 404, Reason: "no WebSocket endpoint at " + head.Path()})
		return
	}
	hs := o.Policy.Negotiate(head.Method, head)
	if hs.Status != 101 {
		c.refuse(hs)
		return
	}
	c.writeResponse(hs)
	x.req, x.protocol = head, hs.Protocol
	c.setDeflate(hs.Deflate)
	c.open()
}

// open moves a conn whose handshake succeeded to the open state.
func (c *Conn) open() {
	c.state, c.opened = stateOpen, true
	if c.dl != nil {
		c.dl.handshake = 0
	}
	if c.ep.o.PingInterval > 0 {
		c.deadlines().ping = now() + int64(c.ep.o.PingInterval)
	}
	c.armTimer()
	if x := c.x; x != nil {
		x.client, x.head = nil, headReader{} // the handshake's state is done with
	}
	c.ep.h.OnOpen(c)
	// So is the request, unless kept: a connExtra left holding nothing
	// goes.
	if x := c.x; x != nil && x.req != nil && !c.ep.o.KeepRequest {
		x.req = nil
	}
	if x := c.x; x != nil && *x == (connExtra{}) {
		c.x = nil
	}
}

func (c *Conn) refuse(hs Handshake) {
	c.writeResponse(hs)
	c.state = stateClosed
}

// writeResponse writes the handshake's answer.
func (c *Conn) writeResponse(hs Handshake) {
	b := getScratch()
	*b = hs.AppendResponse((*b)[:0])
	c.raw.Write(*b)
	putScratch(b)
}

// handle acts on one event from the reader.
func (c *Conn) handle(ev event) {
	switch ev.op {
	case OpText, OpBinary:
		if c.state == stateOpen {
			c.ep.h.OnMessage(c, ev.op, ev.data)
		}
	case OpPing:
		if c.state == stateOpen {
			c.writeFrame(OpPong, false, ev.data)
		}
	case OpPong:
		if c.dl != nil {
			c.dl.awaitingPong = false
		}
	case OpClose:
		code, reason, _ := ParseClosePayload(ev.data) // the reader checked it
		if c.state == stateOpen {
			// Echo the peer's code (§5.5.1); none for none.
			c.sendClose(code, "")
			switch code {
			case CloseNormal, CloseGoingAway, CloseNoStatus:
				c.setCause(nil)
			default:
				c.setCause(&CloseError{Code: code, Reason: reason})
			}
		}
		// The handshake is complete: a server closes the transport first
		// (§7.1.1), so that it holds TIME_WAIT; a client waits for that,
		// up to CloseTimeout.
		if c.server {
			c.state = stateClosed
		} else {
			c.state = stateEnding
			c.deadline(&c.deadlines().closing, c.ep.o.CloseTimeout)
		}
	}
}

// fail closes the conn after a violation by the peer, with the code that
// names it (§7.1.7: Fail the WebSocket Connection).
func (c *Conn) fail(err error) {
	if !c.causeSet {
		c.setCause(err)
	}
	if c.state == stateOpen {
		detail := ""
		if e, ok := err.(*Error); ok {
			detail = e.Detail
		}
		c.sendClose(CloseCodeFor(err), detail)
	}
	c.state = stateClosed
	c.raw.SetIdleTimeout(c.ep.o.CloseTimeout)
}

// cutOff closes a conn that cannot keep up or did not answer: what is
// buffered may still go out, bounded by CloseTimeout without progress.
func (c *Conn) cutOff(err error) {
	if !c.causeSet {
		c.setCause(err)
	}
	c.state = stateClosed
	c.raw.SetIdleTimeout(c.ep.o.CloseTimeout)
	c.raw.Close()
}

// sendClose writes a Close frame and starts waiting for the peer's.
func (c *Conn) sendClose(code CloseCode, reason string) error {
	p := AppendClosePayload(nil, code, reason)
	c.state = stateClosing
	c.deadline(&c.deadlines().closing, c.ep.o.CloseTimeout)
	return c.writeFrame(OpClose, false, p)
}

// writeMessage frames (and compresses) a message and writes it.
func (c *Conn) writeMessage(op Opcode, data []byte) error {
	if x := c.x; x != nil && x.deflate != nil && len(data) >= c.ep.o.Compression.Threshold {
		z, err := c.compress(data)
		if err != nil {
			return err
		}
		return c.writeFrame(op, true, z)
	}
	return c.writeFrame(op, false, data)
}

// behind reports whether writing n more bytes would leave the peer more
// than MaxBacklog behind. A message written while nothing waits goes,
// however large: the application holds it already, the engine's
// WithMaxOutbound bounds it, and else a message over MaxBacklog (which
// MaxMessage may allow) could never be sent at all.
func (c *Conn) behind(n int) bool {
	buffered := c.raw.OutboundBuffered()
	return buffered > 0 && buffered+n > c.ep.o.MaxBacklog
}

// writeFrame writes one whole frame: a server's unmasked, as header and
// payload; a client's masked, in a copy.
func (c *Conn) writeFrame(op Opcode, rsv1 bool, data []byte) error {
	if c.behind(len(data)) && !op.IsControl() {
		c.cutOff(ErrSlowReceiver)
		return ErrSlowReceiver
	}
	h := Header{Fin: true, Opcode: op, RSV1: rsv1}
	if !c.server {
		h.Masked, h.Mask = true, newMaskKey()
	}
	if !h.Masked && len(data) > 1<<10 {
		// Header and payload in one writev, with no copy. The header and
		// iovecs escape into Writev: two small allocations, which a
		// payload this large dwarfs.
		hdr := AppendHeader(make([]byte, 0, MaxHeaderLen), h, len(data))
		_, err := c.raw.Writev([][]byte{hdr, data})
		return err
	}
	// A small frame (or a client's, masked in a copy) is built whole in a
	// pooled buffer: one write, and no buffer held by an idle conn.
	b := getScratch()
	if h.Masked {
		*b = AppendFrame((*b)[:0], h, data)
	} else {
		*b = append(AppendHeader((*b)[:0], h, len(data)), data...)
	}
	_, err := c.raw.Write(*b)
	putScratch(b)
	return err
}

// scratches are the buffers frames are built in: a conn's write copies
// the frame, so one is back in the pool as soon as the write returns.
var scratches = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getScratch() *[]byte { return scratches.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= retainBuffer {
		scratches.Put(b)
	}
}

// writePrepared writes pm's frame: the compressed one if the conn
// negotiated permessage-deflate and pm is over the threshold.
func (c *Conn) writePrepared(pm *PreparedMessage) error {
	frame := pm.frame
	if x := c.x; x != nil && x.dfl != nil && !x.dfl.smallWindow && len(pm.data) >= c.ep.o.Compression.Threshold {
		frame = pm.deflatedFrame()
		c.afterForeignDeflate()
	}
	if c.behind(len(frame)) {
		c.cutOff(ErrSlowReceiver)
		return ErrSlowReceiver
	}
	_, err := c.raw.Write(frame)
	return err
}

// closed is the transport's OnClose: the application's OnClose, once.
func (c *Conn) closed(err error) {
	if c.dl != nil && c.dl.timer != nil {
		c.dl.timer.Stop()
	}
	if !c.q.CompareAndSwap(nil, closedQueue) {
		q := c.q.Load()
		q.mu.Lock()
		q.gone, q.items = true, nil
		q.mu.Unlock()
	}
	c.releaseDeflate()
	if !c.opened {
		if c.server {
			return
		}
		// A dialed conn whose connect or handshake failed: the
		// application learns it here.
		if c.causeSet && c.cause() != nil {
			err = c.cause()
		}
		c.ep.h.OnClose(c, err)
		return
	}
	cause := c.cause()
	if !c.causeSet {
		cause = err
		if cause == nil {
			cause = &CloseError{Code: CloseAbnormal}
		}
	}
	c.ep.h.OnClose(c, cause)
}

// deadline sets one of the conn's deadlines d from now (loop only).
func (c *Conn) deadline(at *int64, d time.Duration) {
	*at = now() + int64(d)
	c.armTimer()
}

// epoch is where the conns' monotonic deadlines count from: an int64 per
// deadline rather than a time.Time keeps the deadlines small.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// armTimer sets the timer for the earliest deadline.
func (c *Conn) armTimer() {
	dl := c.dl
	if dl == nil {
		return
	}
	var next int64
	for _, t := range [...]int64{dl.handshake, dl.closing, dl.ping} {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	if next == 0 {
		if dl.timer != nil {
			dl.timer.Stop()
		}
		return
	}
	d := time.Duration(next - now())
	if dl.timer == nil {
		dl.timer = time.AfterFunc(d, c.wake)
	} else {
		dl.timer.Reset(d)
	}
}

// wake is the timer's: the loop runs the deadlines in its next OnTraffic.
func (c *Conn) wake() {
	c.dl.fired.Store(true)
	c.raw.Wake()
}

func (c *Conn) runDeadlines() {
	dl := c.dl
	t0 := now()
	due := func(t *int64) bool {
		if *t == 0 || t0 < *t {
			return false
		}
		*t = 0
		return true
	}
	if due(&dl.handshake) && c.state == stateHandshake {
		if c.server {
			c.refuse(Handshake{Status: 408, Reason: "opening handshake timed out"})
		} else {
			c.cutOff(ErrHandshakeTimeout)
		}
	}
	if due(&dl.closing) && (c.state == stateClosing || c.state == stateEnding) {
		c.state = stateClosed
	}
	if due(&dl.ping) && c.state == stateOpen {
		if dl.awaitingPong {
			c.cutOff(ErrPongTimeout)
		} else {
			dl.awaitingPong = true
			dl.ping = t0 + int64(c.ep.o.PingInterval)
			c.writeFrame(OpPing, false, nil)
		}
	}
	c.armTimer()
}
