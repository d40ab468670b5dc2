package http1

// Field is one header or trailer field line: views into the request's
// bytes, valid while the handler runs (copy what you keep).
type Field struct {
	Name  []byte // as sent (case kept)
	Value []byte // leading and trailing whitespace removed
}

// Fields are a request's header or trailer fields in the order sent.
type Fields []Field

// Get returns the value of the first field named name (ASCII
// case-insensitively), or nil.
func (fs Fields) Get(name string) []byte {
	for i := range fs {
		if equalFold(fs[i].Name, name) {
			return fs[i].Value
		}
	}
	return nil
}

// Request is one parsed request. Its byte slices are views into the conn's
// inbound buffer (or the server's copy of them), valid only while the
// handler runs: a handler that answers later copies what it needs first.
type Request struct {
	Method []byte // a token: GET, POST, ...
	Target []byte // as sent: origin-form (/path?q), absolute-form, authority-form or *
	Minor  int    // HTTP/1.Minor: 0 or 1
	Header Fields
	// Host is the Host field's value (nil if absent: HTTP/1.0 only), or
	// for an absolute-form target the target's host[:port], which RFC
	// 9112 §3.2.2 has the server use instead of the field.
	Host []byte

	// ContentLength is the declared body length; -1 for a chunked body.
	ContentLength int64
	// Chunked: the body is chunked (Transfer-Encoding: chunked).
	Chunked bool
	// Close: the conn closes after this request's response (Connection:
	// close, or HTTP/1.0 without keep-alive).
	Close bool
	// Expect100: the client waits for 100 Continue before sending the body.
	Expect100 bool
	// Upgrade: Connection: upgrade with an Upgrade field (see Response.Upgrade).
	Upgrade bool

	// Body is the whole body, read by the server before the handler runs
	// (up to Limits.MaxBodyBytes), a view like the other fields; nil when
	// the body is streamed.
	Body []byte
	// BodyStream, when the server streams bodies (Config.StreamBodies, or
	// the net/http adapter), is the body as it arrives, for the handler
	// to read from any goroutine (it answers with Defer); nil for a
	// request without a body. Its bytes are its own, not views; the field
	// itself, like the others, is valid only while the handler runs, so a
	// handler passes the *BodyStream on, not the Request.
	BodyStream *BodyStream
	// Trailer holds a chunked body's trailer fields, once it is complete.
	Trailer Fields
}

// Proto is the request's protocol version as sent.
func (r *Request) Proto() string {
	if r.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
