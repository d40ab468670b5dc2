package websocket

import (
	"bytes"
	"fmt"
	"strconv"
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
//
// A client's failed handshake is one too (it wraps ErrBadHandshake):
// Status is then the server's status code (0 when the response had none).
type HandshakeError struct {
	Status int
	Reason string
	client bool
}

func (e *HandshakeError) Error() string {
	if e.client {
		return fmt.Sprintf("websocket: bad opening handshake response (status %d): %s", e.Status, e.Reason)
	}
	return fmt.Sprintf("websocket: handshake refused with %d: %s", e.Status, e.Reason)
}

// Unwrap is ErrBadHandshake for a client's handshake.
func (e *HandshakeError) Unwrap() error {
	if e.client {
		return ErrBadHandshake
	}
	return nil
}

// RequestHead is an HTTP/1.1 request head: what the opening handshake
// needs of a request. Its strings are copies, free of the conn's buffer.
type RequestHead struct {
	Method string
	Target string // the request-target: path and query
	fields fieldBlock
}

// fieldBlock is a head's header fields as one string of "name: value\r\n"
// lines, values trimmed: one allocation however many fields.
type fieldBlock string

// nthValue returns the nth value (from 0) of the field name,
// case-insensitively, and whether there is one.
func (b fieldBlock) nthValue(name string, n int) (string, bool) {
	for s := string(b); s != ""; {
		var line string
		line, s, _ = strings.Cut(s, "\r\n")
		k, v, _ := strings.Cut(line, ": ")
		if len(k) == len(name) && strings.EqualFold(k, name) {
			if n == 0 {
				return v, true
			}
			n--
		}
	}
	return "", false
}

// values returns every value of the field name, in order.
func (b fieldBlock) values(name string) []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := b.nthValue(name, i)
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// Values returns every value of the header name, case-insensitively, in
// order (Headers).
func (r *RequestHead) Values(name string) []string { return r.fields.values(name) }

// nthValue implements valueRanger.
func (r *RequestHead) nthValue(name string, n int) (string, bool) {
	return r.fields.nthValue(name, n)
}

// Path is the target's path, without its query.
func (r *RequestHead) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	return p
}

// headReader reads a request head as its bytes arrive, in any pieces: it
// remembers how far it has looked for the blank line that ends the head,
// so a head sent a byte at a time costs linear time, and it refuses a head
// past its bound (max; DefaultMaxRequestHead for 0) before buffering more.
type headReader struct {
	scanned int // bytes already searched for "\r\n\r\n"
}

// read looks for a whole head at the front of b (the conn's unconsumed
// bytes, growing by what arrived). n == 0 with a nil error: not yet. On
// success n is the head's length; the bytes after it belong to the
// WebSocket stream.
func (h *headReader) read(b []byte, max int) (head *RequestHead, n int, err error) {
	n, err = h.scan(b, max)
	if n == 0 || err != nil {
		return nil, n, err
	}
	head, err = parseHead(b[:n-4])
	return head, n, err
}

// scan finds the end of a head (request or response) at the front of b:
// its length with the blank line, 0 for not yet.
func (h *headReader) scan(b []byte, max int) (n int, err error) {
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
			return 0, &HandshakeError{Status: 431, Reason: fmt.Sprintf("head over %d bytes", max)}
		}
		h.scanned = len(b)
		return 0, nil
	}
	return from + end + 4, nil
}

// parseHead parses a request line and header lines (RFC 9112 §3, §5),
// strictly: no folded lines, names that are tokens, HTTP/1.1 or later.
func parseHead(b []byte) (*RequestHead, error) {
	bad := func(format string, args ...any) error {
		return &HandshakeError{Status: 400, Reason: fmt.Sprintf(format, args...)}
	}
	lines := strings.Split(string(b), "\r\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, bad("malformed request line %q", lines[0])
	}
	if !isToken(parts[0]) {
		return nil, bad("malformed method %q", parts[0])
	}
	if v := parts[2]; !http11OrLater(v) {
		return nil, bad("a WebSocket handshake needs HTTP/1.1, not %q", v)
	}
	r := &RequestHead{Method: parts[0], Target: parts[1]}
	var err error
	r.fields, err = parseFields(lines[1:], 400)
	return r, err
}

func http11OrLater(v string) bool {
	return v == "HTTP/1.1" || strings.HasPrefix(v, "HTTP/") && len(v) == 8 && v[5] > '1' && v[5] <= '9' && v[6] == '.'
}

// parseFields parses header lines; a bad one is refused with status.
func parseFields(lines []string, status int) (fieldBlock, error) {
	if len(lines) > maxHeaderFields {
		return "", &HandshakeError{Status: 431, Reason: fmt.Sprintf("more than %d header fields", maxHeaderFields)}
	}
	var b strings.Builder
	for _, l := range lines {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			return "", &HandshakeError{Status: status, Reason: fmt.Sprintf("folded or empty header line %q", l)}
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !isToken(name) || strings.ContainsAny(value, "\r\n") {
			return "", &HandshakeError{Status: status, Reason: fmt.Sprintf("malformed header line %q", l)}
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(strings.Trim(value, " \t"))
		b.WriteString("\r\n")
	}
	return fieldBlock(b.String()), nil
}

// ResponseHead is the server's answer to a client's opening request: its
// status and header fields (Headers).
type ResponseHead struct {
	Status int
	fields fieldBlock
}

// Values returns every value of the header name, case-insensitively, in
// order (Headers).
func (r *ResponseHead) Values(name string) []string { return r.fields.values(name) }

// parseResponseHead parses a status line and header lines.
func parseResponseHead(b []byte) (*ResponseHead, error) {
	lines := strings.Split(string(b), "\r\n")
	version, rest, _ := strings.Cut(lines[0], " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !http11OrLater(version) || err != nil || len(code) != 3 || status < 100 {
		return nil, &HandshakeError{Status: 0, Reason: fmt.Sprintf("malformed status line %q", lines[0])}
	}
	fields, err := parseFields(lines[1:], status)
	if err != nil {
		return nil, err
	}
	return &ResponseHead{Status: status, fields: fields}, nil
}
