package http1

import (
	"context"
	"strconv"

	"github.com/evloop/evloop/reactor"
)

// A response is built whole, then appended to the conn's output in one
// piece: its status line, Server and Date, the handler's fields, then the
// framing this package owns (Content-Length or chunked, Connection) and the
// body. Nothing allocates once the buffers have grown.

// response is a response being built.
type response struct {
	status   int
	fields   []byte // the handler's field lines, "Name: value\r\n"
	body     []byte
	minor    int  // the request's HTTP/1.minor
	head     bool // a HEAD request: the body is measured, not sent
	close    bool // the conn closes after this response
	started  bool // the head went out (streaming: chunked)
	chunked  bool
	upgraded bool // a 101 handed the conn to an upgrade hook
	server   bool // the handler wrote its own Server field
	// declared is the handler's own Content-Length (-1: none), sent only
	// where no body goes out to measure: HEAD and 304.
	declared int64
}

func (r *response) reset(req *Request, closing bool) {
	r.status, r.fields, r.body = 200, r.fields[:0], r.body[:0]
	r.minor, r.head, r.close = req.Minor, string(req.Method) == "HEAD", req.Close || closing
	r.started, r.chunked, r.upgraded = false, false, false
	r.server, r.declared = false, -1
}

// bodyless: 1xx, 204 and 304 carry no body (RFC 9110 §6.4.1).
func bodyless(status int) bool {
	return status < 200 || status == 204 || status == 304
}

// appendHead appends the status line and fields. length < 0: the body
// follows chunked (1.1) or up to the close (1.0).
func (r *response) appendHead(b []byte, server []byte, length int) []byte {
	b = appendStatusLine(b, r.status)
	if !r.server {
		b = append(b, server...)
	}
	b = appendDate(b)
	b = append(b, r.fields...)
	switch {
	case r.status < 200 || r.status == 204:
	case (r.head || r.status == 304) && r.declared >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.declared, 10)
		b = append(b, "\r\n"...)
	case r.status == 304, r.head && length == 0:
		// No body to measure: the length a GET's 200 would have is not
		// known here, and a wrong one is forbidden (RFC 9110 §8.6).
	case length >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(length), 10)
		b = append(b, "\r\n"...)
	case r.minor == 1:
		r.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	default:
		r.close = true // a 1.0 client reads a body of unknown length to the close
	}
	switch {
	case r.status == 101:
	case r.close:
		b = append(b, "Connection: close\r\n"...)
	case r.minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendWhole appends the complete response with its Content-Length.
func (r *response) appendWhole(b []byte, server []byte) []byte {
	b = r.appendHead(b, server, len(r.body))
	if !r.head && !bodyless(r.status) {
		b = append(b, r.body...)
	}
	return b
}

// appendChunk appends the body so far as one chunk (after the head, once).
func (r *response) appendChunk(b []byte, server []byte) []byte {
	if !r.started {
		r.started = true
		b = r.appendHead(b, server, -1)
	}
	if len(r.body) > 0 && !r.head && !bodyless(r.status) {
		if r.chunked {
			b = strconv.AppendInt(b, int64(len(r.body)), 16)
			b = append(b, "\r\n"...)
			b = append(b, r.body...)
			b = append(b, "\r\n"...)
		} else {
			b = append(b, r.body...)
		}
	}
	r.body = r.body[:0]
	return b
}

// appendEnd ends a response: whole, or the last chunk of a streamed one.
func (r *response) appendEnd(b []byte, server []byte) []byte {
	if !r.started {
		return r.appendWhole(b, server)
	}
	b = r.appendChunk(b, server)
	if r.chunked && !r.head && !bodyless(r.status) {
		b = append(b, "0\r\n\r\n"...)
	}
	return b
}

// addField appends a field line; the fields that frame the message are
// this package's to write, and are dropped. As net/http's Header.Write
// does, a field whose name is not a token is dropped, and CR and LF in a
// value become spaces: a value taken from the request (a redirect's
// Location, say) cannot end the line and add fields of its own, or end
// the head (response splitting).
func (r *response) addField(name, value string) {
	if !isTokenStr(name) {
		return
	}
	value = fieldValue(value)
	switch len(name) {
	case 4:
		if equalFoldStr(name, "date") {
			return
		}
	case 6:
		// The handler's own Server field replaces the server's.
		r.server = r.server || equalFoldStr(name, "server")
	case 10:
		if equalFoldStr(name, "connection") {
			if equalFoldStr(value, "close") {
				r.close = true
			}
			return
		}
	case 14:
		if equalFoldStr(name, "content-length") {
			r.declared = parseDeclaredLength(value)
			return
		}
	case 17:
		if equalFoldStr(name, "transfer-encoding") {
			return
		}
	}
	r.fields = append(r.fields, name...)
	r.fields = append(r.fields, ": "...)
	r.fields = append(r.fields, value...)
	r.fields = append(r.fields, "\r\n"...)
}

func isTokenStr(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// fieldValue is v with CR and LF replaced by SP and leading and trailing
// whitespace trimmed, as net/http writes a field value; it allocates only
// when v holds a CR or LF.
func fieldValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == '\r' || v[i] == '\n' {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if b[j] == '\r' || b[j] == '\n' {
					b[j] = ' '
				}
			}
			v = string(b)
			break
		}
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// parseDeclaredLength is a handler's Content-Length value, or -1 if it is
// not 1*DIGIT (at most 18 digits).
func parseDeclaredLength(v string) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return -1
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n
}

func equalFoldStr(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// ResponseWriter answers one request from a loop-native Handler. It is
// valid only while the handler runs, on the loop; to answer later, or from
// another goroutine, take a Deferred with Defer.
type ResponseWriter struct {
	cs       *connState
	req      *Request
	resp     response
	deferred *Deferred
	upgrade  reactor.Handler // set by Upgrade
	upOwn    bool            // UpgradeAsContext: upgrade is the conn's context
}

// SetStatus sets the status code (default 200).
func (w *ResponseWriter) SetStatus(code int) { w.resp.status = code }

// AddHeader adds a field line. Content-Length, Transfer-Encoding, Date and
// Connection are written by the server (Connection: close here asks to
// close the conn after the response); a Server field replaces the one of
// Config.ServerName. A name that is not a token is dropped, and CR or LF
// in a value is sent as a space (as net/http does).
func (w *ResponseWriter) AddHeader(name, value string) { w.resp.addField(name, value) }

// Write appends p to the body.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.resp.body = append(w.resp.body, p...)
	return len(p), nil
}

// WriteString appends s to the body.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	w.resp.body = append(w.resp.body, s...)
	return len(s), nil
}

// Flush sends the head and the body so far; the rest of the body follows
// chunked (or, to an HTTP/1.0 client, up to the close).
func (w *ResponseWriter) Flush() {
	w.cs.emit(w.resp.appendChunk(w.cs.scratch(), w.cs.srv.serverField), false, false)
}

// CloseAfter closes the conn once this response is sent.
func (w *ResponseWriter) CloseAfter() { w.resp.close = true }

// Defer detaches the response from the handler's return: the server holds
// the conn's later responses back (in request order) until the Deferred's
// Done. Call it on the loop, in the handler; use the Deferred from any
// goroutine. The Request's views are not valid past the handler's return.
func (w *ResponseWriter) Defer() *Deferred {
	if w.deferred == nil {
		d := &Deferred{cs: w.cs, resp: w.resp, ctx: w.cs.deferredState().ctx}
		d.resp.fields = append([]byte(nil), w.resp.fields...)
		d.resp.body = append([]byte(nil), w.resp.body...)
		w.deferred = d
		// Its place in the order is taken now: Done may come before the
		// handler returns (and if before serve ends, serve takes its bytes).
		w.cs.enqueue(&d.slot)
	}
	return w.deferred
}

// Deferred is a response answered after its handler returned, from any
// goroutine (one at a time). Responses still go out in request order.
type Deferred struct {
	ctx  context.Context
	cs   *connState
	slot slot // its place in the conn's order, made with it
	resp response
	done bool
}

// deferredFieldsCap is the capacity of a Deferred's buffer of field lines,
// made by its first AddHeader: a few fields then take one allocation, not
// five growing from 8 bytes (each line is appended in four parts).
const deferredFieldsCap = 128

// Context is cancelled when the conn closes: the client went away, or the
// engine stopped.
func (d *Deferred) Context() context.Context { return d.ctx }

// SetStatus sets the status code (default 200).
func (d *Deferred) SetStatus(code int) { d.resp.status = code }

// AddHeader adds a field line, as ResponseWriter.AddHeader.
func (d *Deferred) AddHeader(name, value string) {
	if d.resp.fields == nil {
		d.resp.fields = make([]byte, 0, deferredFieldsCap)
	}
	d.resp.addField(name, value)
}

// reserveFields makes room for n more bytes of field lines.
func (d *Deferred) reserveFields(n int) {
	if cap(d.resp.fields)-len(d.resp.fields) < n {
		d.resp.fields = append(make([]byte, 0, len(d.resp.fields)+n), d.resp.fields...)
	}
}

// Write appends p to the body.
func (d *Deferred) Write(p []byte) (int, error) {
	d.resp.body = append(d.resp.body, p...)
	return len(p), nil
}

// Flush hands the head and the body so far to the conn (chunked after).
func (d *Deferred) Flush() {
	d.closeIfFinal()
	d.cs.deliver(&d.slot, d.resp.appendChunk(d.wire(), d.cs.srv.serverField), false, d.resp.close)
}

// closeIfFinal makes a head not yet written say Connection: close when the
// engine stops and this is the conn's last response.
func (d *Deferred) closeIfFinal() {
	if d.resp.started || d.resp.close {
		return
	}
	d.cs.mu.Lock()
	d.resp.close = d.cs.final == &d.slot
	d.cs.mu.Unlock()
}

// CloseAfter closes the conn once this response is sent.
func (d *Deferred) CloseAfter() { d.resp.close = true }

// Done ends the response. Calls after the first are ignored.
func (d *Deferred) Done() {
	if d.done {
		return
	}
	d.done = true
	d.closeIfFinal()
	d.cs.deliver(&d.slot, d.resp.appendEnd(d.wire(), d.cs.srv.serverField), true, d.resp.close)
}

// abort ends the response where it is, without the rest of its body or
// its last chunk, and closes the conn after what went out of it.
func (d *Deferred) abort() {
	if d.done {
		return
	}
	d.done = true
	d.cs.deliver(&d.slot, nil, true, true)
}

// wire is a buffer for the bytes that Flush or Done hands over, with room
// for the head, the fields and the body so far: one allocation, which the
// slot then keeps (deliver takes it rather than copying it).
func (d *Deferred) wire() []byte {
	return make([]byte, 0, 128+len(d.cs.srv.serverField)+len(d.resp.fields)+len(d.resp.body))
}

// slot is a response the conn waits for, in request order: bytes handed
// over so far and whether it is complete.
type slot struct {
	next  *slot
	buf   []byte // guarded by connState.mu
	done  bool   // guarded by connState.mu
	close bool   // guarded by connState.mu
}
