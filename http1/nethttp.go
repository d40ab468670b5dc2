package http1

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
)

// NetHTTPConfig bounds the goroutines an adapted net/http handler runs on.
type NetHTTPConfig struct {
	// Workers is the number of handlers running at once (default 256).
	Workers int
	// Queue is the number of requests waiting for a worker (default
	// 4×Workers); past it a request is answered 503 at once.
	Queue int
	// ErrorLog receives a handler's panic (but http.ErrAbortHandler's),
	// with its stack, as http.Server.ErrorLog does (default slog.Default()).
	ErrorLog *slog.Logger
}

// NetHTTP runs a standard http.Handler (ServeMux, chi, gorilla/mux, ...)
// under a Server: each request is handed to a bounded set of goroutines
// and its response goes back to the conn in request order. The handler
// code is the same as under http.Server; what differs:
//
//   - Request.Body is streamed: the handler runs once the head is in, and
//     reads the body as the loop receives it, with at most StreamWindow
//     bytes waiting in memory (reading pauses past them). A body the
//     handler leaves unread closes the conn after the response, where
//     http.Server would read on up to 256 KiB of it.
//   - The response is held until the handler returns or calls Flush
//     (http.Flusher); then it goes out with Content-Length or chunked.
//   - Hijack (http.Hijacker) is not offered: the conn belongs to its loop,
//     and its bytes are read by the loop, not by a goroutine.
//   - Request.Context() is cancelled when the conn closes.
//   - Past Workers+Queue requests in flight the answer is 503 Service
//     Unavailable, where http.Server would start one more goroutine.
func NetHTTP(h http.Handler, cfg NetHTTPConfig) Handler {
	if cfg.Workers <= 0 {
		cfg.Workers = 256
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4 * cfg.Workers
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = slog.Default()
	}
	return &netHTTP{
		h:          h,
		log:        cfg.ErrorLog,
		maxWorkers: cfg.Workers,
		max:        int64(cfg.Workers + cfg.Queue),
		quit:       make(chan struct{}),
	}
}

// The handlers run on workers: goroutines started as requests need them,
// up to Workers, each taking one request after another, and ending once
// idle for workerIdle, or when the Server stops. A worker rather than a
// goroutine per request: a new goroutine's small stack grows (copied each
// time) in every handler that needs more, and making it costs too;
// together they were a tenth of the adapter's CPU per request under wrk.
//
// A request goes to the worker that parked last (a stack, not a queue):
// its stack and data are still in the cache, and under a steady load the
// few workers it needs stay busy while the rest end. Handed out in turn
// (a channel's receivers), 256 workers left by a burst stayed alive, each
// woken cold: json under wrk after a pipelined load ran at 1.18x net/http's
// own server, and at 1.35x with the stack (bench/http.sh).
const workerIdle = time.Second

type netHTTP struct {
	h          http.Handler
	log        *slog.Logger
	maxWorkers int
	inflight   atomic.Int64 // requests running and waiting
	max        int64

	mu      sync.Mutex
	queue   []job         // requests waiting for a worker, from head on
	head    int           // the next one in queue
	parked  []*worker     // idle workers, the last parked last
	workers int           // running
	quit    chan struct{} // closed when the Server stops: busy workers end when done
	reaper  *time.Timer   // ends the workers parked for workerIdle; nil until needed
	reaping bool          // reaper is armed
}

// job is one request for a worker; the zero job tells a parked worker to end.
type job struct {
	d   *Deferred
	req *http.Request
}

// worker is a parked worker's mailbox: the request it is handed.
type worker struct {
	wake     chan job  // buffered: the loop never waits for the worker
	parkedAt time.Time // when it last parked
}

// ServeHTTP1 builds the http.Request on the loop (its views are valid only
// there) and runs the handler on a goroutine.
func (a *netHTTP) ServeHTTP1(w *ResponseWriter, r *Request) {
	w.cs.srv.servedBy(a)
	d := w.Defer()
	if a.inflight.Add(1) > a.max {
		a.inflight.Add(-1)
		d.SetStatus(http.StatusServiceUnavailable)
		d.AddHeader("Content-Type", "text/plain; charset=utf-8")
		d.Write([]byte("server busy: request queue full\n"))
		d.Done()
		return
	}
	req, err := a.request(w, r, d.Context())
	if err != nil {
		a.inflight.Add(-1)
		d.SetStatus(http.StatusBadRequest)
		d.CloseAfter()
		d.Done()
		return
	}
	// The worker that takes the job is runnable on this loop's processor:
	// let it run there now rather than have the runtime wake another
	// thread to take it over (conn.LoopYielder). With every worker busy
	// the job waits in the queue, and there is nothing to yield to.
	if a.hand(job{d, req}) {
		if y, ok := w.cs.c.(conn.LoopYielder); ok {
			y.YieldLoop()
		}
	}
}

// hand gives j to the worker that parked last, or queues it (starting a
// worker if fewer than Workers run); it reports whether a worker was made
// runnable. It never blocks: inflight bounds what waits.
func (a *netHTTP) hand(j job) bool {
	a.mu.Lock()
	if n := len(a.parked); n > 0 {
		wk := a.parked[n-1]
		a.parked[n-1] = nil
		a.parked = a.parked[:n-1]
		a.mu.Unlock()
		wk.wake <- j
		return true
	}
	if a.head > 0 && a.head >= len(a.queue)/2 {
		// Most of the array is taken jobs: move the waiting ones down.
		n := copy(a.queue, a.queue[a.head:])
		clear(a.queue[n:])
		a.queue, a.head = a.queue[:n], 0
	}
	a.queue = append(a.queue, j)
	start := a.workers < a.maxWorkers
	if start {
		a.workers++
	}
	quit := a.quit
	a.mu.Unlock()
	if start {
		go a.work(quit)
	}
	return start
}

// next takes the oldest queued job; a.mu is held.
func (a *netHTTP) next() (job, bool) {
	if a.head == len(a.queue) {
		return job{}, false
	}
	j := a.queue[a.head]
	a.queue[a.head] = job{}
	a.head++
	if a.head == len(a.queue) {
		a.queue, a.head = a.queue[:0], 0
	}
	return j, true
}

// work runs queued jobs, then parks for the next one, until it is told to
// end (idle for workerIdle, or the Server stopped). A parked worker waits
// on its mailbox alone: one reaper timer for all of them, not a timer
// reset at every park, which was a select and two timer operations per
// request.
func (a *netHTTP) work(quit chan struct{}) {
	wk := &worker{wake: make(chan job, 1)}
	for {
		a.mu.Lock()
		if j, ok := a.next(); ok {
			a.mu.Unlock()
			a.run(j)
			continue
		}
		select {
		case <-quit:
			a.workers--
			a.mu.Unlock()
			return
		default:
		}
		wk.parkedAt = time.Now()
		a.parked = append(a.parked, wk)
		if !a.reaping {
			a.armReaper(workerIdle)
		}
		a.mu.Unlock()
		j := <-wk.wake
		if j.d == nil {
			return // reaped: a.workers was counted down then
		}
		a.run(j)
	}
}

// armReaper has reap run after d; a.mu is held.
func (a *netHTTP) armReaper(d time.Duration) {
	a.reaping = true
	if a.reaper == nil {
		a.reaper = time.AfterFunc(d, a.reap)
	} else {
		a.reaper.Reset(d)
	}
}

// reap ends the workers parked for workerIdle or longer. The stack's
// bottom parked first, so they are a prefix of it.
func (a *netHTTP) reap() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reaping = false
	now := time.Now()
	n := 0
	for n < len(a.parked) && now.Sub(a.parked[n].parkedAt) >= workerIdle {
		n++
	}
	a.endParked(n)
	if len(a.parked) > 0 {
		a.armReaper(workerIdle - now.Sub(a.parked[0].parkedAt))
	}
}

// endParked ends the n workers at the stack's bottom; a.mu is held.
func (a *netHTTP) endParked(n int) {
	for _, wk := range a.parked[:n] {
		wk.wake <- job{}
	}
	k := copy(a.parked, a.parked[n:])
	clear(a.parked[k:])
	a.parked = a.parked[:k]
	a.workers -= n
}

// shutdown ends the idle workers as the Server stops (and the busy ones
// as they finish): a stopped engine leaves no goroutine behind.
func (a *netHTTP) shutdown() {
	a.mu.Lock()
	close(a.quit)
	a.quit = make(chan struct{})
	a.endParked(len(a.parked))
	if a.reaping {
		a.reaper.Stop()
		a.reaping = false
	}
	a.mu.Unlock()
}

func (a *netHTTP) run(j job) {
	d, req := j.d, j.req
	defer a.inflight.Add(-1)
	rw := &netHTTPWriter{d: d, header: http.Header{}, req: req}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				a.log.Error("http1: panic serving", "remote", req.RemoteAddr, "method", req.Method,
					"target", req.RequestURI, "panic", p, "stack", string(debug.Stack()))
			}
			rw.abort(p)
			return
		}
		rw.finish()
	}()
	if b, ok := req.Body.(*BodyStream); ok {
		// As net/http's server does; the rest unread closes the conn, and
		// the response (finished after this) says so.
		defer func() {
			if b.close() {
				d.CloseAfter()
			}
		}()
	}
	// A request whose client has gone is not served; one whose client
	// only half-closed is, with its Context cancelled, as under net/http.
	if ctx := req.Context(); ctx.Err() == nil || context.Cause(ctx) == errClientEOF {
		a.h.ServeHTTP(rw, req)
	}
}

// streamsBodies: the adapter's requests come with their bodies streamed,
// as net/http's handlers expect of Request.Body.
func (a *netHTTP) streamsBodies() bool { return true }

// request copies r into an http.Request, as net/http's server would make it.
// The strings of the request line and the fields are made with one copy
// (net/http's reader also shares one block between its values), and the
// fields' []string values share one backing array.
func (a *netHTTP) request(w *ResponseWriter, r *Request, ctx context.Context) (*http.Request, error) {
	n := len(r.Method) + len(r.Target) + len(r.Host)
	for _, f := range r.Header {
		n += len(f.Name) + len(f.Value)
	}
	var sb strings.Builder
	sb.Grow(n)
	take := func(b []byte) string {
		i := sb.Len()
		sb.Write(b)
		return sb.String()[i:]
	}
	method, target, host := knownMethod(r.Method), take(r.Target), take(r.Host)
	if method == "" {
		method = take(r.Method)
	}
	// As net/http's server: CONNECT's authority-form is parsed as the
	// host of a URL with no scheme (url.ParseRequestURI alone takes
	// "example.com:443" for a scheme and an opaque part, and refuses
	// "127.0.0.1:443").
	connect := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	rawURL := target
	if connect {
		rawURL = "http://" + target
	}
	u, err := url.ParseRequestURI(rawURL)
	if err != nil {
		return nil, err
	}
	if connect {
		u.Scheme = ""
	}
	ds := w.cs.deferredState()
	if ds.remote == "" {
		ds.remote = w.cs.c.RemoteAddr().String()
	}
	req := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         r.Proto(),
		ProtoMajor:    1,
		ProtoMinor:    r.Minor,
		Header:        make(http.Header, len(r.Header)),
		ContentLength: r.ContentLength,
		Close:         r.Close,
		Host:          host,
		RequestURI:    target,
		RemoteAddr:    ds.remote,
	}
	values := make([]string, len(r.Header))
	for i, f := range r.Header {
		k := textproto.CanonicalMIMEHeaderKey(take(f.Name)) // no copy when already canonical
		if k == "Host" {
			continue
		}
		values[i] = take(f.Value)
		if vs, ok := req.Header[k]; ok {
			req.Header[k] = append(vs, values[i])
		} else {
			req.Header[k] = values[i : i+1 : i+1]
		}
	}
	if u.Host != "" {
		// The target's authority wins over the Host field (absolute-form,
		// RFC 9112 §3.2.2; CONNECT), as in net/http's server.
		req.Host = u.Host
	}
	if r.Chunked {
		req.TransferEncoding = []string{"chunked"}
		if r.BodyStream == nil {
			req.ContentLength = int64(len(r.Body))
		}
		// As net/http's server: the keys the Trailer field announces, with
		// nil values until the body's end brings them.
		for _, v := range req.Header["Trailer"] {
			for _, k := range strings.Split(v, ",") {
				switch k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k)); k {
				case "", "Transfer-Encoding", "Trailer", "Content-Length":
				default:
					if req.Trailer == nil {
						req.Trailer = make(http.Header)
					}
					req.Trailer[k] = nil
				}
			}
		}
	}
	if len(r.Trailer) > 0 {
		if req.Trailer == nil {
			req.Trailer = make(http.Header, len(r.Trailer))
		}
		mergeTrailer(req.Trailer, r.Trailer)
	}
	switch {
	case r.BodyStream != nil:
		req.Body = r.BodyStream
	case len(r.Body) > 0:
		req.Body = io.NopCloser(bytes.NewReader(bytes.Clone(r.Body)))
	default:
		req.Body = http.NoBody
	}
	// The TLS layer's conn reports its handshake (reactor.TLSConn).
	if tc, ok := w.cs.c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	out := req.WithContext(ctx)
	if r.BodyStream != nil && r.Chunked {
		// A streamed body's trailer arrives after the handler started:
		// it is merged in when Body.Read returns io.EOF, as net/http does.
		r.BodyStream.onEOF = trailerInto(out)
	}
	return out, nil
}

// trailerInto returns the function that merges a streamed body's trailer
// into req.Trailer (made apart from request, so that the capture does not
// move request's variables to the heap).
func trailerInto(req *http.Request) func(Fields) {
	return func(tr Fields) {
		if req.Trailer == nil {
			req.Trailer = make(http.Header, len(tr))
		}
		mergeTrailer(req.Trailer, tr)
	}
}

// mergeTrailer sets the trailer fields tr in h, a field named more than
// once with all its values (net/http's mergeSetHeader).
func mergeTrailer(h http.Header, tr Fields) {
	got := make(http.Header, len(tr))
	for _, f := range tr {
		k := textproto.CanonicalMIMEHeaderKey(string(f.Name))
		got[k] = append(got[k], string(f.Value))
	}
	for k, vs := range got {
		h[k] = vs
	}
}

// knownMethod returns the standard method m names as a constant string
// (no copy), or "".
func knownMethod(m []byte) string {
	for _, s := range [...]string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut,
		http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		if string(m) == s {
			return s
		}
	}
	return ""
}

// netHTTPWriter is the http.ResponseWriter (and http.Flusher) a handler
// gets; it writes into the request's Deferred.
type netHTTPWriter struct {
	d           *Deferred
	req         *http.Request
	header      http.Header
	wroteHeader bool
	fieldsDone  bool
	hasType     bool // the handler set Content-Type
	sniffed     bool
	status      int
	finished    bool
}

func (w *netHTTPWriter) Header() http.Header { return w.header }

func (w *netHTTPWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 && code != 101 {
		return // informational responses other than 101 are not relayed
	}
	w.wroteHeader, w.status = true, code
	// The fields are taken now: as under http.Server, changes to the
	// header map after WriteHeader (or the first Write) have no effect.
	w.writeFields()
}

// writeFields hands the status and fields to the Deferred, once.
func (w *netHTTPWriter) writeFields() {
	if w.fieldsDone {
		return
	}
	w.fieldsDone = true
	w.d.SetStatus(w.status)
	_, w.hasType = w.header["Content-Type"]
	n := 0
	for k, vs := range w.header {
		for _, v := range vs {
			n += len(k) + len(v) + len(": \r\n")
		}
	}
	w.d.reserveFields(n + 64) // and a sniffed Content-Type
	for k, vs := range w.header {
		for _, v := range vs {
			w.d.AddHeader(k, v)
		}
	}
	if cl := w.header.Get("Content-Length"); cl != "" {
		if _, err := strconv.ParseInt(cl, 10, 64); err != nil {
			w.d.CloseAfter()
		}
	}
}

// sniff adds the Content-Type the body's first bytes suggest when the
// handler set none, once, as the head goes out: over what the handler
// wrote so far (up to 512 bytes), not its first Write alone, as net/http
// sniffs its buffered output.
func (w *netHTTPWriter) sniff() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.sniffed {
		return
	}
	w.sniffed = true
	if body := w.d.resp.body; !w.hasType && len(body) > 0 && !bodyless(w.status) {
		w.d.AddHeader("Content-Type", http.DetectContentType(body[:min(len(body), 512)]))
	}
}

func (w *netHTTPWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, http.ErrHandlerTimeout
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.d.Write(p)
}

// Flush sends what was written so far; the rest follows chunked.
func (w *netHTTPWriter) Flush() {
	w.sniff()
	w.d.Flush()
}

// abort ends the response of a handler that panicked, and the conn after
// it. What the handler had written is dropped: if nothing went out yet the
// answer is a 500, else (its head was flushed) the response is cut short,
// so that the client cannot take a part of it for the whole. A panic with
// http.ErrAbortHandler closes the conn without a response, as under
// http.Server.
func (w *netHTTPWriter) abort(p any) {
	if w.finished {
		return
	}
	w.finished = true
	d := w.d
	if d.resp.started || p == http.ErrAbortHandler {
		d.abort()
		return
	}
	d.resp.fields, d.resp.body, d.resp.server = d.resp.fields[:0], d.resp.body[:0], false
	d.SetStatus(http.StatusInternalServerError)
	d.AddHeader("Content-Type", "text/plain; charset=utf-8")
	d.Write([]byte("Internal Server Error\n"))
	d.CloseAfter()
	d.Done()
}

func (w *netHTTPWriter) finish() {
	if w.finished {
		return
	}
	w.sniff()
	w.finished = true
	w.d.Done()
}
