package websocket

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
)

// acceptGUID is the magic of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey is the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key (§4.2.2): base64 of SHA-1 of the key and the GUID.
func AcceptKey(key string) string {
	if len(key) > 64 {
		h := sha1.New() // not a valid key: no fast path for it
		h.Write([]byte(key))
		h.Write([]byte(acceptGUID))
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	var in [64 + len(acceptGUID)]byte
	n := copy(in[:], key)
	n += copy(in[n:], acceptGUID)
	sum := sha1.Sum(in[:n])
	var out [28]byte
	base64.StdEncoding.Encode(out[:], sum[:])
	return string(out[:]) // the one allocation
}

// NewClientKey returns a fresh Sec-WebSocket-Key: 16 random bytes in
// base64 (§4.1).
func NewClientKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// validKey reports whether key is base64 of 16 bytes, as §4.2.1 wants.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// Headers is how the handshake reads header fields: every value of name
// (case-insensitive), in order. net/http's Header satisfies it, and so
// will the http1 package's request; RequestHead (request.go) is this
// package's own.
type Headers interface {
	Values(name string) []string
}

// valueRanger is Headers that can give one value of a field without
// making a slice of copies: this package's heads and http1's fields. The
// value may be valid only as long as the head's bytes are.
type valueRanger interface {
	nthValue(name string, n int) (string, bool)
}

// values iterates over the values of a field of h, with no allocation
// when h is a valueRanger.
type values struct {
	r    valueRanger
	list []string
	name string
	i    int
	rest string // of the value nextToken is in
}

func valuesOf(h Headers, name string) values {
	if r, ok := h.(valueRanger); ok {
		return values{r: r, name: name}
	}
	return values{list: h.Values(name)}
}

// next returns the next value, and false after the last.
func (vs *values) next() (string, bool) {
	i := vs.i
	vs.i++
	if vs.r != nil {
		return vs.r.nthValue(vs.name, i)
	}
	if i < len(vs.list) {
		return vs.list[i], true
	}
	return "", false
}

// nextToken returns the next comma-separated token over all the values,
// trimmed (empty between two commas), and false after the last.
func (vs *values) nextToken() (string, bool) {
	for vs.rest == "" {
		v, ok := vs.next()
		if !ok {
			return "", false
		}
		vs.rest = v
	}
	t, rest, _ := strings.Cut(vs.rest, ",")
	vs.rest = rest
	return strings.TrimSpace(t), true
}

// onlyValue is the value of name when h has exactly one (trimmed, and
// valid as long as h's bytes are), and whether it has exactly one.
func onlyValue(h Headers, name string) (string, bool) {
	vs := valuesOf(h, name)
	v, ok := vs.next()
	if _, more := vs.next(); !ok || more {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// hasToken reports whether a comma-separated header (over all its lines)
// holds token, case-insensitively (Connection: keep-alive, Upgrade).
func hasToken(h Headers, name, token string) bool {
	for vs := valuesOf(h, name); ; {
		t, ok := vs.nextToken()
		if !ok || strings.EqualFold(t, token) {
			return ok
		}
	}
}

// tokens returns the comma-separated tokens of a header over all its
// lines; they are valid as long as h's bytes are.
func tokens(h Headers, name string) []string {
	var out []string
	for vs := valuesOf(h, name); ; {
		t, ok := vs.nextToken()
		if !ok {
			return out
		}
		if t != "" {
			out = append(out, t)
		}
	}
}

// Handshake is a server's answer to an opening request, as Negotiate
// works it out: 101 and what was agreed, or the status to refuse with and
// why.
type Handshake struct {
	// Status is 101 (Switching Protocols) or the refusal: 400 (a missing
	// or malformed Upgrade, Connection or Sec-WebSocket-Key, not GET),
	// 403 (the origin check said no), 426 (a version other than 13;
	// answered with Sec-WebSocket-Version: 13).
	Status int
	// Reason says why a request was refused (the response's body).
	Reason string
	// Accept is the Sec-WebSocket-Accept value.
	Accept string
	// Protocol is the chosen subprotocol, "" for none.
	Protocol string
	// Deflate is the permessage-deflate agreed, nil for none.
	Deflate *DeflateParams
}

// Policy is what a server accepts in an opening handshake.
type Policy struct {
	// Subprotocols the server speaks, in its order of preference: the
	// first one the client also offers is chosen (§4.2.2).
	Subprotocols []string
	// CheckOrigin decides whether to accept a request from origin (the
	// Origin header, "" when absent: not a browser). nil accepts all. A
	// server reachable from browsers should check it: a page on any site
	// can open a WebSocket to it with the user's cookies.
	CheckOrigin func(origin string, h Headers) bool
	// Compression, if set, negotiates permessage-deflate when offered.
	Compression *Compression
}

// Negotiate checks a client's opening request (RFC 6455 §4.2.1) and
// works out the server's answer. It depends on no HTTP server: a server
// passes the request's method and headers, then writes the response
// (AppendResponse).
func (p *Policy) Negotiate(method string, h Headers) Handshake {
	refuse := func(status int, reason string) Handshake { return Handshake{Status: status, Reason: reason} }
	if method != "GET" {
		return refuse(400, "a WebSocket handshake is a GET request")
	}
	if !hasToken(h, "Upgrade", "websocket") {
		return refuse(400, "missing Upgrade: websocket")
	}
	if !hasToken(h, "Connection", "upgrade") {
		return refuse(400, "missing Connection: Upgrade")
	}
	if v, ok := onlyValue(h, "Sec-WebSocket-Version"); !ok || v != "13" {
		return refuse(426, "Sec-WebSocket-Version must be 13")
	}
	key, ok := onlyValue(h, "Sec-WebSocket-Key")
	if !ok || !validKey(key) {
		return refuse(400, "missing or malformed Sec-WebSocket-Key")
	}
	hs := Handshake{Status: 101, Accept: AcceptKey(key)} // before key's bytes may change
	if p.CheckOrigin != nil {
		vs := valuesOf(h, "Origin")
		origin, _ := vs.next()
		origin = strings.Clone(origin) // the check may keep it
		if !p.CheckOrigin(origin, h) {
			return refuse(403, "origin not allowed")
		}
	}
	if offered := tokens(h, "Sec-WebSocket-Protocol"); len(offered) > 0 {
	pick:
		for _, want := range p.Subprotocols {
			for _, o := range offered {
				if o == want {
					hs.Protocol = want
					break pick
				}
			}
		}
	}
	if p.Compression != nil {
		// A malformed header declines compression rather than the
		// conn: extensions are optional.
		if exts, err := ParseExtensions(h.Values("Sec-WebSocket-Extensions")); err == nil {
			hs.Deflate, _ = p.Compression.negotiateDeflate(exts)
		}
	}
	return hs
}

// AppendResponse appends the HTTP/1.1 response for hs to dst: the 101
// with its headers, or the refusal with a short text body and Connection:
// close.
func (hs *Handshake) AppendResponse(dst []byte) []byte {
	if hs.Status == 101 {
		dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
		dst = append(dst, hs.Accept...)
		dst = append(dst, "\r\n"...)
		if hs.Protocol != "" {
			dst = append(dst, "Sec-WebSocket-Protocol: "...)
			dst = append(dst, hs.Protocol...)
			dst = append(dst, "\r\n"...)
		}
		if hs.Deflate != nil {
			dst = append(dst, "Sec-WebSocket-Extensions: "...)
			dst = append(dst, hs.Deflate.String()...)
			dst = append(dst, "\r\n"...)
		}
		return append(dst, "\r\n"...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(hs.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(hs.Status)...)
	dst = append(dst, "\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"...)
	if hs.Status == 426 {
		dst = append(dst, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"...)
	}
	body := hs.Reason + "\n"
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

func statusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	}
	return "Error"
}
