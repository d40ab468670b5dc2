package http1

// What the fields of a complete head mean for framing and the conn
// (RFC 9112 §3.2, §6, §9.3; RFC 9110 §10.1.1). The rules that close the
// request smuggling holes are here: a request with both Content-Length and
// Transfer-Encoding, with differing Content-Length values, or whose
// Transfer-Encoding does not end in chunked is refused, not guessed at.

import (
	"net/netip"
	"net/url"
)

// finishHead checks a complete head's request-target and fields and sets
// r's framing (ContentLength, Chunked), Host, Close, Expect100 and Upgrade.
func finishHead(r *Request) *Error {
	if err := checkTarget(r); err != nil {
		return err
	}
	r.ContentLength, r.Chunked, r.Host, r.Body = 0, false, nil, nil
	r.Expect100, r.Upgrade, r.Trailer = false, false, r.Trailer[:0]
	r.Close = r.Minor == 0
	haveCL, haveTE, hosts := false, false, 0
	connUpgrade, connClose := false, false
	var upgrade []byte
	for i := range r.Header {
		f := &r.Header[i]
		switch len(f.Name) {
		case 4:
			if equalFold(f.Name, "host") {
				hosts++
				if hosts > 1 || !validHost(f.Value) {
					return ErrHost
				}
				r.Host = f.Value
			}
		case 6:
			if equalFold(f.Name, "expect") {
				if !equalFold(f.Value, "100-continue") {
					return ErrExpect
				}
				// A 1.0 client does not wait for 100 (RFC 9110 §10.1.1).
				r.Expect100 = r.Minor == 1
			}
		case 7:
			if equalFold(f.Name, "upgrade") {
				upgrade = f.Value
			}
		case 10:
			if equalFold(f.Name, "connection") {
				forEachToken(f.Value, func(t []byte) {
					switch {
					case equalFold(t, "close"):
						connClose = true
					case equalFold(t, "keep-alive"):
						if r.Minor == 0 {
							r.Close = false
						}
					case equalFold(t, "upgrade"):
						connUpgrade = true
					}
				})
			}
		case 14:
			if equalFold(f.Name, "content-length") {
				n, ok := parseContentLength(f.Value)
				if !ok {
					return ErrContentLength
				}
				if haveCL && n != r.ContentLength {
					return ErrContentLengths
				}
				haveCL, r.ContentLength = true, n
			}
		case 17:
			if equalFold(f.Name, "transfer-encoding") {
				if r.Minor == 0 {
					// RFC 9112 §6.1: a 1.0 message with Transfer-Encoding
					// has faulty framing, whatever the codings are.
					return ErrTEHTTP10
				}
				if err := transferCodings(f.Value, haveTE); err != nil {
					return err
				}
				haveTE = true
			}
		}
	}
	if haveTE {
		if haveCL {
			return ErrCLAndTE // RFC 9112 §6.3 allows refusing; never guess
		}
		r.Chunked, r.ContentLength = true, -1
	}
	if hosts == 0 && r.Minor == 1 {
		return ErrHost // RFC 9112 §3.2: a 1.1 request without Host is a 400
	}
	if a, ok := targetAuthority(r.Target); ok {
		// RFC 9112 §3.2.2: the server MUST ignore the Host field of an
		// absolute-form request and use the target's authority (as
		// net/http does), whatever a proxy in front went by.
		r.Host = a
	}
	// close wins over keep-alive, whichever comes first (RFC 9112 §9.3).
	r.Close = r.Close || connClose
	r.Upgrade = connUpgrade && len(upgrade) > 0
	return nil
}

// transferCodings checks one Transfer-Encoding field value; seen says an
// earlier field already ended in chunked. The last coding must be chunked
// (RFC 9112 §6.3), applied once; any other coding before it is one this
// server does not implement.
func transferCodings(v []byte, seen bool) *Error {
	var err *Error
	n, last := 0, false
	forEachToken(v, func(t []byte) {
		if err != nil {
			return
		}
		n++
		if last || seen {
			err = ErrTENotChunked // something after chunked, or chunked twice
			return
		}
		switch {
		case equalFold(t, "chunked"):
			last = true
		case len(t) == 0 || !isToken(t):
			err = ErrTENotChunked
		default:
			err = ErrTEUnknown
		}
	})
	if err == ErrTEUnknown {
		// Tell an unknown coding (501) from a list not ending in chunked
		// (400): scan the rest for the final chunked.
		endsChunked := false
		forEachToken(v, func(t []byte) { endsChunked = equalFold(t, "chunked") })
		if !endsChunked {
			return ErrTENotChunked
		}
	}
	if err == nil && (n == 0 || !last) {
		return ErrTENotChunked
	}
	return err
}

// checkTarget allows the four request-target forms (RFC 9112 §3.2):
// origin-form, absolute-form, authority-form (CONNECT only) and asterisk-form
// (OPTIONS only).
func checkTarget(r *Request) *Error {
	t := r.Target
	connect := string(r.Method) == "CONNECT"
	switch {
	case connect:
		// The same URL check as net/http's, on top of ours: a target
		// either server refuses is refused (rare form: the allocation
		// does not matter).
		if !validAuthority(t) || !parsesAsRequestURI("http://"+string(t)) {
			return ErrTarget
		}
	case t[0] == '/':
		if !validEscapes(t) {
			return ErrTarget
		}
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return ErrTarget
		}
	case hasScheme(t):
		if !parsesAsRequestURI(string(t)) {
			return ErrTarget
		}
	default:
		return ErrTarget
	}
	return nil
}

// validEscapes: every '%' in an origin-form target's path (before any
// '?') starts a pct-encoded octet, '%' and two hex digits (RFC 3986
// §2.1), as net/url requires of a path.
func validEscapes(t []byte) bool {
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '?':
			return true
		case '%':
			if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= lower(c) && lower(c) <= 'f'
}

// parsesAsRequestURI: net/url takes s as a request-target, as net/http's
// server does (host, port and escapes checked).
func parsesAsRequestURI(s string) bool {
	_, err := url.ParseRequestURI(s)
	return err == nil
}

// validAuthority: CONNECT's authority-form, uri-host ":" port (RFC 9112
// §3.2.3), where uri-host is a reg-name without percent-encoding or an
// IP-literal in brackets, and port is 1*DIGIT. Userinfo is not allowed.
func validAuthority(t []byte) bool {
	colon := -1
	for i := len(t) - 1; i >= 0 && colon < 0; i-- {
		switch c := t[i]; {
		case c == ':':
			colon = i
		case c < '0' || c > '9':
			return false
		}
	}
	if colon <= 0 || colon == len(t)-1 {
		return false
	}
	host := t[:colon]
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		a, err := netip.ParseAddr(string(host[1 : len(host)-1]))
		return err == nil && a.Is6() && a.Zone() == ""
	}
	for _, c := range host {
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z', '0' <= c && c <= '9':
		case indexByte("-._~!$&'()*+,;=", c):
		default:
			return false
		}
	}
	return true
}

// targetAuthority is the host[:port] of an absolute-form target (its
// authority without userinfo); ok is false for the other forms.
func targetAuthority(t []byte) (a []byte, ok bool) {
	if len(t) == 0 || t[0] == '/' || !hasScheme(t) {
		return nil, false
	}
	i := 0
	for t[i] != ':' {
		i++
	}
	a = t[i+3:]
	for j, c := range a {
		if c == '/' || c == '?' || c == '#' {
			a = a[:j]
			break
		}
	}
	for j := len(a) - 1; j >= 0; j-- {
		if a[j] == '@' {
			return a[j+1:], true
		}
	}
	return a, true
}

// hasScheme: t starts with scheme "://" (absolute-form).
func hasScheme(t []byte) bool {
	for i, c := range t {
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			return len(t) > i+2 && t[i+1] == '/' && t[i+2] == '/'
		default:
			return false
		}
	}
	return false
}

// validHost allows an empty Host (RFC 9110 §7.2) or uri-host [":" port]
// without whitespace, '/' or other bytes that cannot be in an authority.
func validHost(v []byte) bool {
	for _, c := range v {
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z', '0' <= c && c <= '9':
		case indexByte("-._~%!$&'()*+,;=:[]", c):
		default:
			return false
		}
	}
	return true
}

// parseContentLength: 1*DIGIT, at most 18 digits (no overflow); no sign,
// no list.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// forEachToken calls fn with each element of a comma-separated list, OWS
// trimmed; empty elements are skipped (RFC 9110 §5.6.1).
func forEachToken(v []byte, fn func(t []byte)) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if t := trimOWS(v[:i]); len(t) > 0 {
			fn(t)
		}
		if i == len(v) {
			return
		}
		v = v[i+1:]
	}
}

func isToken(t []byte) bool {
	for _, c := range t {
		if !tchar[c] {
			return false
		}
	}
	return len(t) > 0
}
