package websocket

import (
	"bytes"
	"fmt"
	"strings"
)

// Bounds of a request head read straight off a conn.
const (
	// DefaultMaxRequestHead is the largest request head (request line and
	// headers) the server reads; a larger one is answered 431.
	DefaultMaxRequestHead = 8 << 10
	// maxHeaderFields bounds the header lines of a head.
	maxHeaderFields = 100
)

// HandshakeError is an opening request refused before Negotiate: the
// status to answer with and why.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket: handshake refused with %d: %s", e.Status, e.Reason)
}

// RequestHead is an HTTP/1.1 request head: what the opening handshake
// needs of a request. Its strings are copies, free of the conn's buffer.
type RequestHead struct {
	Method string
	Target string // the request-target: path and query
	fields []headerField
}

type headerField struct{ name, value string }

// Values returns every value of the header name, case-insensitively, in
// order (Headers).
func (r *RequestHead) Values(name string) []string {
	var out []string
	for _, f := range r.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// Path is the target's path, without its query.
func (r *RequestHead) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	return p
}

// headReader reads a request head as its bytes arrive, in any pieces: it
// remembers how far it has looked for the blank line that ends the head,
// so a head sent a byte at a time costs linear time, and it refuses a head
// past its bound before buffering more.
type headReader struct {
	max     int
	scanned int // bytes already searched for "\r\n\r\n"
}

// read looks for a whole head at the front of b (the conn's unconsumed
// bytes, growing by what arrived). n == 0 with a nil error: not yet. On
// success n is the head's length; the bytes after it belong to the
// WebSocket stream.
func (h *headReader) read(b []byte) (head *RequestHead, n int, err error) {
	max := h.max
	if max <= 0 {
		max = DefaultMaxRequestHead
	}
	from := h.scanned - 3
	if from < 0 {
		from = 0
	}
	end := bytes.Index(b[from:min(len(b), max)], []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= max {
			return nil, 0, &HandshakeError{431, fmt.Sprintf("request head over %d bytes", max)}
		}
		h.scanned = len(b)
		return nil, 0, nil
	}
	n = from + end + 4
	head, err = parseHead(b[:n-4])
	return head, n, err
}

// parseHead parses a request line and header lines (RFC 9112 §3, §5),
// strictly: no folded lines, names that are tokens, HTTP/1.1 or later.
func parseHead(b []byte) (*RequestHead, error) {
	bad := func(format string, args ...any) error {
		return &HandshakeError{400, fmt.Sprintf(format, args...)}
	}
	lines := strings.Split(string(b), "\r\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, bad("malformed request line %q", lines[0])
	}
	if !isToken(parts[0]) {
		return nil, bad("malformed method %q", parts[0])
	}
	if v := parts[2]; v != "HTTP/1.1" && !(strings.HasPrefix(v, "HTTP/") && len(v) == 8 && v[5] > '1' && v[5] <= '9' && v[6] == '.') {
		return nil, bad("a WebSocket handshake needs HTTP/1.1, not %q", v)
	}
	r := &RequestHead{Method: parts[0], Target: parts[1]}
	if len(lines)-1 > maxHeaderFields {
		return nil, &HandshakeError{431, fmt.Sprintf("more than %d header fields", maxHeaderFields)}
	}
	for _, l := range lines[1:] {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			return nil, bad("folded or empty header line %q", l)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !isToken(name) {
			return nil, bad("malformed header line %q", l)
		}
		r.fields = append(r.fields, headerField{name, strings.Trim(value, " \t")})
	}
	return r, nil
}
