package http1

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// Handler answers requests on the loop. It must not block: answer from
// memory, or take a Deferred (ResponseWriter.Defer) and answer later from
// another goroutine. The Request's views are valid until it returns.
type Handler interface {
	ServeHTTP1(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeHTTP1 calls f(w, r).
func (f HandlerFunc) ServeHTTP1(w *ResponseWriter, r *Request) { f(w, r) }

// Config configures a Server.
type Config struct {
	// Limits bound each conn and request (zero fields: the defaults).
	Limits Limits
	// ServerName is the Server field's value; "" is "evloop", "-" sends none.
	ServerName string
	// Methods, when set, are the methods the handler implements; a request
	// with another is answered 501 before the handler sees it.
	Methods []string
	// StreamBodies hands each request with a body to the handler as soon
	// as its head is in, with the body to read from Request.BodyStream as
	// it arrives (no Limits.MaxBodyBytes: at most StreamWindow bytes wait
	// in memory, and reading pauses past them). The net/http adapter
	// streams whatever this says.
	StreamBodies bool
}

// Server is a reactor.Handler that speaks HTTP/1.1 to each conn and calls
// a Handler per request. Give it to reactor.Start (or Run) like any
// Handler; it implements reactor.DrainHandler (parsing resumes once a
// client reads its responses) and reactor.StopHandler.
type Server struct {
	h           Handler
	lim         Limits
	methods     []string
	serverField []byte
	stream      bool // bodies are streamed (Config.StreamBodies, or the handler asks)

	requests sync.Pool // *Request, one per OnTraffic in progress
	writers  sync.Pool // *ResponseWriter
	outs     sync.Pool // *[]byte, a batch of responses per OnTraffic
	states   sync.Pool // *connState, from conns upgraded to another protocol

	// The NetHTTP adapters this server has run requests on (wrapped in a
	// router or not): their workers end with the server. Copied on write.
	adapters  atomic.Pointer[[]*netHTTP]
	adapterMu sync.Mutex
}

// servedBy records that a runs requests of s (once; a load and a short
// scan per request after that).
func (s *Server) servedBy(a *netHTTP) {
	if p := s.adapters.Load(); p != nil && slices.Contains(*p, a) {
		return
	}
	s.adapterMu.Lock()
	defer s.adapterMu.Unlock()
	var list []*netHTTP
	if p := s.adapters.Load(); p != nil {
		if slices.Contains(*p, a) {
			return
		}
		list = slices.Clone(*p)
	}
	list = append(list, a)
	s.adapters.Store(&list)
}

// NewServer returns a Server calling h.
func NewServer(h Handler, cfg Config) *Server {
	s := &Server{h: h, lim: cfg.Limits.withDefaults(), methods: cfg.Methods, stream: cfg.StreamBodies}
	if bs, ok := h.(interface{ streamsBodies() bool }); ok && bs.streamsBodies() {
		s.stream = true
	}
	switch cfg.ServerName {
	case "":
		s.serverField = []byte("Server: evloop\r\n")
	case "-":
	default:
		s.serverField = []byte("Server: " + cfg.ServerName + "\r\n")
	}
	s.requests.New = func() any { return new(Request) }
	s.writers.New = func() any { return new(ResponseWriter) }
	s.outs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return s
}

// Limits returns the limits in force (defaults filled in).
func (s *Server) Limits() Limits { return s.lim }

// OnBoot starts the Date refresher.
func (s *Server) OnBoot(reactor.Engine) reactor.Action {
	startDate()
	return reactor.None
}

// OnShutdown stops the Date refresher, and the workers of a NetHTTP
// handler.
func (s *Server) OnShutdown(reactor.Engine) {
	stopDate()
	if p := s.adapters.Load(); p != nil {
		for _, a := range *p {
			a.shutdown() // their workers
		}
	}
}

// OnTick is not used.
func (s *Server) OnTick() (time.Duration, reactor.Action) { return time.Second, reactor.None }

// OnOpen gives the conn its state; a new conn waits under the idle timeout.
func (s *Server) OnOpen(c conn.Conn) reactor.Action {
	cs, _ := s.states.Get().(*connState)
	if cs == nil {
		cs = new(connState)
	}
	cs.srv, cs.c = s, c
	c.SetContext(cs)
	cs.setTimer(modeIdle)
	return reactor.None
}

// OnTraffic parses and answers what arrived (or what a Deferred handed over).
func (s *Server) OnTraffic(c conn.Conn) reactor.Action {
	if cs, ok := c.Context().(*connState); ok {
		return cs.serve()
	}
	if h, hc := upgraded(c); h != nil {
		return h.OnTraffic(hc)
	}
	c.Discard(-1)
	return reactor.Close
}

// upgraded returns the handler an upgrade handed c to, and c as that
// handler sees it (nil for a conn that is not upgraded).
func upgraded(c conn.Conn) (reactor.Handler, conn.Conn) {
	switch u := c.Context().(type) {
	case *upgradedConn:
		return u.h, u.self
	case reactor.Handler:
		return u, c // UpgradeAsContext
	}
	return nil, nil
}

// OnDrained resumes a conn that stopped parsing for its unread responses.
func (s *Server) OnDrained(c conn.Conn) reactor.Action {
	if h, hc := upgraded(c); h != nil {
		if d, ok := h.(reactor.DrainHandler); ok {
			return d.OnDrained(hc)
		}
		return reactor.None
	}
	return s.OnTraffic(c)
}

// OnEOF implements reactor.EOFHandler: a client that half-closed after its
// requests (nc -N, a health-check script) still gets the responses being
// made for them (Deferreds, the net/http adapter's workers), and the conn
// closes after the last; nothing more is parsed. The Deferreds' Context is
// cancelled, as net/http's server cancels a request's at the client's EOF
// (it cannot tell a half-close from a client gone): a handler that gives up
// then is not kept waiting. With no response awaited, or a request cut
// short (its body incomplete), the conn closes at once, as without OnEOF.
func (s *Server) OnEOF(c conn.Conn) reactor.Action {
	if h, hc := upgraded(c); h != nil {
		if e, ok := h.(reactor.EOFHandler); ok {
			return e.OnEOF(hc)
		}
		return reactor.Close
	}
	cs, ok := c.Context().(*connState)
	if !ok || cs.first == nil || cs.body != nil || cs.det != nil {
		return reactor.Close
	}
	cs.closing = true
	if ds := cs.deferred; ds != nil {
		ds.eof(errClientEOF)
	}
	return reactor.None
}

// errClientEOF is the cause of a Deferred's Context cancelled at the
// client's EOF (context.Cause): the conn is still open for the responses.
var errClientEOF = errors.New("http1: the client ended its requests (EOF)")

// OnStop makes the conn's next response its last (Connection: close), and
// closes the conn at once if it is an idle keep-alive conn (no request
// awaited, none partly read): during a drain (an upgrade) nothing else
// would end it before the drain's deadline.
func (s *Server) OnStop(c conn.Conn) {
	if h, hc := upgraded(c); h != nil {
		if st, ok := h.(reactor.StopHandler); ok {
			st.OnStop(hc)
		}
		return
	}
	cs, ok := c.Context().(*connState)
	if !ok {
		return
	}
	cs.stopping = true
	if cs.up != nil {
		return // the 101 is on its way: the new protocol's OnOpen comes next
	}
	if cs.closing || cs.det != nil || cs.body != nil || c.InboundBuffered() > 0 {
		return // a request is being read: it is answered, and closes the conn
	}
	cs.closing = true
	if cs.pending == 0 {
		c.Close() // idle keep-alive
		return
	}
	// Responses are awaited and nothing else was sent: the last of them
	// closes the conn, and says so if its head is still to be written.
	cs.mu.Lock()
	cs.final = cs.last
	cs.mu.Unlock()
}

// OnClose drops the conn's state; a Deferred answering later is ignored.
func (s *Server) OnClose(c conn.Conn, err error) {
	if h, hc := upgraded(c); h != nil {
		h.OnClose(hc, err)
		return
	}
	if cs, ok := c.Context().(*connState); ok {
		if cs.body != nil {
			cs.body.end(ErrBodyAborted)
		}
		cs.mu.Lock()
		cs.closed = true
		cs.first, cs.last = nil, nil
		cs.mu.Unlock()
		cs.det = nil
		if cs.deferred != nil {
			cs.deferred.cancel()
		}
	}
}

// deferredState is what a conn's Deferreds share, made on the first: most
// conns never have one, and keep a pointer instead.
type deferredState struct {
	ctx    context.Context // cancelled at close (or the client's EOF): the Deferreds' Context
	cancel context.CancelFunc
	eof    context.CancelCauseFunc // cancels ctx with errClientEOF
	remote string                  // the peer's address as a string (the net/http adapter's RemoteAddr)
}

// deferredState returns the conn's, made now if it has none.
func (cs *connState) deferredState() *deferredState {
	if cs.deferred == nil {
		ctx, cause := context.WithCancelCause(context.Background())
		cs.deferred = &deferredState{ctx: ctx, cancel: func() { cause(nil) }, eof: cause}
	}
	return cs.deferred
}

// Timer modes: what the conn's idle timeout stands for now.
const (
	modeNone uint8 = iota
	modeIdle       // keep-alive: waiting for the next request
	modeHead       // a head in progress: its deadline
	modeBody       // waiting for body bytes
	modeBusy       // waiting for the handler: no timeout
)

// connState is one conn's HTTP state. It is kept small: an idle keep-alive
// conn holds only this.
type connState struct {
	srv *Server
	c   conn.Conn
	rd  reader

	mu          sync.Mutex // guards the slots' contents, final and closed (Deferreds run anywhere)
	first, last *slot      // responses awaited, in request order
	final       *slot      // the response after which the stopping conn closes, once known
	pending     int        // len of the slot list (loop only)
	closed      bool
	// serving: the loop is in serve and takes what Deferreds deliver before
	// it writes, so a Deferred done meanwhile (a worker the loop yielded
	// to) needs no Wake.
	serving bool

	deferred *deferredState // made by the conn's first Deferred
	out      *[]byte        // the batch being written (during serve)
	flushed  *slot          // a queued response its loop-native handler flushed, not yet done
	det      *detached
	body     *BodyStream // the body being streamed to its handler
	bodyReq  *Request    // its request, for a chunked body's trailer
	bodyHeld bool        // the body's window is full: reading waits for the handler
	pipeHeld bool        // MaxPipeline requests are awaited: reading waits for answers
	readHeld bool        // the conn is paused (conn.ReadPauser): bodyHeld || pipeHeld
	deadline int64       // a head's deadline, monoNow nanos (modeHead)
	mode     uint8
	closing  bool // a response closes the conn: nothing more is parsed
	stopping bool
	sent100  bool // 100 Continue went out for the request waited on

	// The upgrade (upgrade.go): the handler the conn is handed to once the
	// 101 is written.
	up    reactor.Handler
	upOwn bool // UpgradeAsContext
}

// detached is a request whose body arrives over several reads (chunked, or
// a Content-Length body not in with its head): its head is copied out of
// the stream, its body collected.
type detached struct {
	head []byte
	req  Request
	body []byte
}

// serve runs on each OnTraffic: hand over what Deferreds finished, then
// parse and answer requests until the input runs out or a bound stops it.
func (cs *connState) serve() reactor.Action {
	s := cs.srv
	out := s.outs.Get().(*[]byte)
	*out = (*out)[:0]
	cs.out = out
	req := s.requests.Get().(*Request)
	cs.takeDelivered()
	cs.resumeBody()
	for {
		for !cs.closing && cs.up == nil && cs.pending < s.lim.MaxPipeline && cs.c.OutboundBuffered() <= s.lim.MaxOutbound {
			if !cs.step(req) {
				break
			}
			cs.writeFull()
		}
		if !cs.serving {
			break
		}
		// What Deferreds delivered while the handlers ran goes out now,
		// and from here on a delivery wakes the conn.
		cs.mu.Lock()
		cs.serving = false
		cs.mu.Unlock()
		full := cs.pending >= s.lim.MaxPipeline
		cs.takeDelivered()
		if !full || cs.pending >= s.lim.MaxPipeline {
			break
		}
		// Parsing stopped at MaxPipeline, and those deliveries made room:
		// parse on now. Nothing else would (the requests are read, and no
		// Deferred is left to wake the conn).
	}
	// Past MaxPipeline the conn stops reading too, so that the requests
	// behind wait in the socket, not in the inbound buffer (MaxInbound).
	cs.pipeHeld = cs.pending >= s.lim.MaxPipeline
	cs.syncRead()
	if len(*out) > 0 {
		cs.c.Write(*out)
	}
	cs.out = nil
	if cap(*out) <= 64<<10 {
		s.outs.Put(out)
	}
	req.Body = nil
	s.requests.Put(req)
	if cs.up != nil {
		return cs.openUpgraded()
	}
	if cs.closing && cs.first == nil {
		return reactor.Close
	}
	cs.updateTimer()
	return reactor.None
}

// syncRead pauses or resumes reading as bodyHeld and pipeHeld want
// (conn.ReadPauser; gnet's conns read on, and the input waits in the
// conn's buffer, within MaxInbound).
func (cs *connState) syncRead() {
	hold := cs.bodyHeld || cs.pipeHeld
	if hold == cs.readHeld {
		return
	}
	p, ok := cs.c.(conn.ReadPauser)
	if !ok {
		return
	}
	cs.readHeld = hold
	if hold {
		p.PauseRead()
	} else {
		p.ResumeRead()
	}
}

// writeFull writes the batch once it would take the conn's output past
// MaxOutbound, so that serve stops on the output actually buffered: past
// MaxOutbound, which is at or above the engine's high watermark, reading is
// paused and OnDrained resumes the conn. Stopping on bytes not yet written
// could leave the output under the watermark, with no OnDrained to come.
func (cs *connState) writeFull() {
	if out := cs.out; len(*out) > 0 && cs.c.OutboundBuffered()+len(*out) > cs.srv.lim.MaxOutbound {
		cs.c.Write(*out)
		*out = (*out)[:0]
	}
}

// step parses and answers the next request, or part of a body; false when
// it needs more input.
func (cs *connState) step(req *Request) bool {
	s, c := cs.srv, cs.c
	in, _ := c.Peek(-1)
	if cs.body != nil {
		return cs.stepBody(in)
	}
	if cs.det != nil {
		return cs.stepChunked(in)
	}
	if len(in) == 0 {
		return false
	}
	maxBody := s.lim.MaxBodyBytes
	if s.stream {
		maxBody = -1 // a streamed body is bounded by its window, not its size
	}
	ev, n, _, err := cs.rd.next(in, req, &s.lim, maxBody)
	if err != nil {
		cs.fail(err)
		return false
	}
	if ev != evHead {
		c.Discard(n)
		return false
	}
	if !cs.allowed(req) {
		cs.fail(ErrNotImplemented)
		return false
	}
	switch {
	case s.stream && (req.Chunked || req.ContentLength > 0):
		cs.startBody(req)
		c.Discard(n)
		return true
	case req.Chunked:
		cs.detach(in[:n], req)
		c.Discard(n)
		return true
	case req.ContentLength > 0:
		total := n + int(req.ContentLength)
		if len(in) < total {
			// The body spans reads: it is collected out of the stream
			// as a chunked one is, not left to pile up in the conn's
			// inbound buffer, which the engine bounds (WithMaxInbound:
			// 256 KiB under WithInternetProfile, below MaxBodyBytes)
			// by closing the conn with no response.
			cs.detach(in[:n], req)
			c.Discard(n)
			return true
		}
		cs.rd.phase, cs.rd.left = pHead, 0
		req.Body = in[n:total]
		n = total
	}
	cs.sent100 = false
	cs.handle(req)
	c.Discard(n)
	return true
}

// stepChunked feeds a detached request its body.
func (cs *connState) stepChunked(in []byte) bool {
	s, d := cs.srv, cs.det
	if len(in) == 0 && (cs.rd.phase != pLength || cs.rd.left > 0) {
		return false // (a Content-Length body taken whole still has its end to report)
	}
	ev, n, data, err := cs.rd.next(in, &d.req, &s.lim, s.lim.MaxBodyBytes)
	if err != nil {
		cs.fail(err)
		return false
	}
	d.body = append(d.body, data...)
	cs.c.Discard(n)
	switch ev {
	case evData:
		return true
	case evEnd:
		d.req.Body = d.body
		cs.det, cs.sent100 = nil, false
		cs.handle(&d.req)
		return true
	}
	return false
}

// detach copies a head out of the stream for a body that spans reads.
func (cs *connState) detach(head []byte, req *Request) {
	d := &detached{head: append([]byte(nil), head...)}
	if req.ContentLength > 0 {
		d.body = make([]byte, 0, min(req.ContentLength, 64<<10))
	}
	var hs headState
	parseHead(d.head, &hs, &d.req, &cs.srv.lim) // valid: parsed once already
	finishHead(&d.req)
	cs.det = d
	cs.send100(&d.req)
}

// send100 answers Expect: 100-continue once the request is known to be
// acceptable and before its body is read, if no earlier response is
// still awaited (it would go out of order; the client sends the body
// after its timeout anyway).
func (cs *connState) send100(req *Request) {
	if req.Expect100 && !cs.sent100 && cs.first == nil {
		cs.sent100 = true
		*cs.out = append(*cs.out, "HTTP/1.1 100 Continue\r\n\r\n"...)
	}
}

func (cs *connState) allowed(req *Request) bool {
	if cs.srv.methods == nil {
		return true
	}
	for _, m := range cs.srv.methods {
		if string(req.Method) == m {
			return true
		}
	}
	return false
}

// handle calls the handler for a complete request and places its response.
func (cs *connState) handle(req *Request) {
	s := cs.srv
	w := s.writers.Get().(*ResponseWriter)
	w.cs, w.req, w.deferred = cs, req, nil
	w.resp.reset(req, cs.stopping)
	s.h.ServeHTTP1(w, req)
	if w.upgrade != nil {
		cs.upgradeTo(w)
	} else if w.deferred != nil {
		if w.resp.close {
			cs.closing = true
		}
	} else {
		if req.BodyStream != nil {
			// Answered on the loop: nothing reads the streamed body, and
			// the conn closes after this response (startBody).
			w.resp.close = true
		}
		if w.resp.close {
			cs.closing = true
		}
		cs.emit(w.resp.appendEnd(cs.scratch(), s.serverField), true, w.resp.close)
	}
	w.cs, w.req, w.deferred = nil, nil, nil
	if cap(w.resp.body) <= 64<<10 {
		s.writers.Put(w)
	}
}

// scratch is where a loop-side response is built: the batch itself when
// nothing is awaited before it (no copy), else a new buffer for its slot.
func (cs *connState) scratch() []byte {
	if cs.first == nil {
		return *cs.out
	}
	return nil
}

// emit places bytes built on scratch(): in the batch, or queued behind the
// responses still awaited.
func (cs *connState) emit(b []byte, done, closeAfter bool) {
	if cs.first == nil {
		*cs.out = b
		return
	}
	if sl := cs.flushed; sl != nil {
		// The rest of a response a loop-native handler flushed while it
		// was queued.
		cs.mu.Lock()
		sl.buf = append(sl.buf, b...)
		sl.done, sl.close = done, closeAfter
		cs.mu.Unlock()
		if done {
			cs.flushed = nil
		}
		return
	}
	sl := &slot{buf: b, done: done, close: closeAfter}
	cs.enqueue(sl)
	if !done {
		cs.flushed = sl
	}
}

// enqueue appends sl to the responses awaited (during serve, on the loop),
// and marks the conn serving: a Deferred done before serve ends is taken
// by serve itself, with no Wake.
func (cs *connState) enqueue(sl *slot) {
	cs.mu.Lock()
	if cs.last == nil {
		cs.first = sl
	} else {
		cs.last.next = sl
	}
	cs.last = sl
	cs.serving = true
	cs.mu.Unlock()
	cs.pending++
}

// deliver hands a Deferred's bytes to its slot (any goroutine) and wakes
// the loop to send them.
func (cs *connState) deliver(sl *slot, b []byte, done, closeAfter bool) {
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		return
	}
	if len(sl.buf) == 0 {
		sl.buf = b // the caller's own buffer (Deferred.wire): no copy
	} else {
		sl.buf = append(sl.buf, b...)
	}
	sl.done = sl.done || done
	sl.close = sl.close || closeAfter
	wake := !cs.serving
	cs.mu.Unlock()
	if wake {
		cs.c.Wake()
	}
}

// takeDelivered moves the bytes of the awaited responses at the front into
// the batch, and drops the finished ones.
func (cs *connState) takeDelivered() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for sl := cs.first; sl != nil; sl = cs.first {
		*cs.out = append(*cs.out, sl.buf...)
		sl.buf = sl.buf[:0]
		if !sl.done {
			return
		}
		cs.first = sl.next
		if sl.close {
			// The conn ends with this response: the ones after it (a
			// Deferred that decided to close once later requests had
			// been read) are not sent; their Deferreds write to slots
			// nobody takes.
			cs.closing = true
			for ; cs.first != nil; cs.first = cs.first.next {
				cs.pending--
			}
		}
		if cs.first == nil {
			cs.last = nil
			// The engine stops or drains, and the last request it had
			// read is answered: the conn ends here, not at the drain's
			// deadline (its head went out before the stop was known).
			cs.closing = cs.closing || cs.stopping
		}
		cs.pending--
	}
}

// fail answers a refused request with its status and closes the conn.
func (cs *connState) fail(err *Error) {
	b := cs.scratch()
	b = appendStatusLine(b, err.Status)
	b = append(b, cs.srv.serverField...)
	b = appendDate(b)
	body := err.Reason
	b = append(b, "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	b = appendInt(b, len(body)+1)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	b = append(b, '\n')
	cs.closing = true
	cs.emit(b, true, true)
}

func appendInt(b []byte, n int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// updateTimer points the conn's idle timeout at what it waits for now.
func (cs *connState) updateTimer() {
	switch {
	case cs.closing:
	case cs.body != nil && !cs.bodyHeld:
		cs.setTimer(modeBody) // the client's pace, not the handler's
	case cs.first != nil:
		cs.setTimer(modeBusy)
	case cs.det != nil:
		cs.setTimer(modeBody)
	case cs.c.OutboundBuffered() > cs.srv.lim.MaxOutbound:
		// Parsing waits for the client to read its responses: the
		// requests buffered meanwhile are no slow head.
		cs.setTimer(modeIdle)
	case cs.c.InboundBuffered() > 0:
		// A head in progress: a deadline from its first read, however
		// slowly its bytes come (slowloris).
		now := monoNow()
		if cs.mode != modeHead {
			cs.mode, cs.deadline = modeHead, now+int64(cs.srv.lim.HeaderTimeout)
		}
		left := time.Duration(cs.deadline - now)
		if left <= 0 {
			cs.c.Close()
			return
		}
		cs.c.SetIdleTimeout(left)
	default:
		cs.setTimer(modeIdle)
	}
}

// monoStart anchors monoNow.
var monoStart = time.Now()

// monoNow is the monotonic clock in nanoseconds: a head's deadline must not
// move when the wall clock is stepped (a step back of a few milliseconds
// closed slow heads early).
func monoNow() int64 { return int64(time.Since(monoStart)) }

func (cs *connState) setTimer(m uint8) {
	if cs.mode == m {
		return
	}
	cs.mode = m
	switch m {
	case modeIdle:
		cs.c.SetIdleTimeout(cs.srv.lim.IdleTimeout)
	case modeBody:
		cs.c.SetIdleTimeout(cs.srv.lim.BodyTimeout)
	case modeBusy:
		cs.c.SetIdleTimeout(0)
	}
}
