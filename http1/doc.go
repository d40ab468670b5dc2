// Package http1 serves HTTP/1.1 (RFC 9112) on evloop's reactor: a request
// parser that works in place on a conn's inbound bytes and resumes at any
// byte, a response writer that allocates nothing on the fast path, and a
// reactor.Handler (Server) that keeps pipelined responses in request order.
// It uses the reactor's public API only, so it runs on both backends, over
// tls:// and behind ?proxy=.
//
// The parser is strict where leniency lets two parsers disagree about where
// a request ends (request smuggling): every violation is answered with its
// status and the conn is closed. Deliberate differences from net/http's
// http.ReadRequest, checked by FuzzDifferential:
//
//   - A bare LF (or bare CR) as a line end is refused (400); net/http takes
//     LF. RFC 9112 §2.2 only permits accepting it.
//   - A request with both Content-Length and Transfer-Encoding is refused
//     (400); net/http serves it by Transfer-Encoding and keeps the conn.
//   - Transfer-Encoding in an HTTP/1.0 request is refused (400); net/http
//     ignores it and frames by Content-Length.
//   - obs-fold (a field line starting with whitespace) is refused (400);
//     net/http unfolds it.
//   - A request-target with bytes outside visible ASCII, or in a form that
//     does not fit the method (authority-form only for CONNECT, * only for
//     OPTIONS), is refused (400).
//   - A chunk size followed by whitespace that is not before a ';' is
//     refused (400); sizes with more than 16 hex digits (leading zeros) and
//     whitespace before a chunk extension's ';' are accepted, as RFC 9112
//     §7.1 allows; net/http refuses them.
//   - Empty lines before a request line are skipped (RFC 9112 §2.2);
//     net/http refuses them.
//   - Empty elements of the Transfer-Encoding list (",chunked",
//     "chunked,") are ignored, as RFC 9110 §5.6.1 asks of a recipient;
//     net/http refuses them.
//   - Missing or repeated Host in 1.1, other HTTP versions and expectations
//     other than 100-continue are refused by the parser itself (400, 505,
//     417), where http.ReadRequest leaves them to net/http's server, which
//     answers the same.
package http1
