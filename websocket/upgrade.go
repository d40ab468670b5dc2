package websocket

import (
	"strings"
	"time"
	"unsafe"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
)

// WebSocket on the HTTP/1.1 server's upgrade path: Server.ServeHTTP1 is an
// http1.Handler, so one address serves pages and a WebSocket endpoint
// (route its path to the Server). The opening request is parsed, bounded
// and timed by http1.Server; Negotiate decides; the 101 hands the conn to
// the Server's WebSocket side (http1.ResponseWriter.Upgrade).

// http1Headers gives Negotiate the request's fields.
type http1Headers http1.Fields

// Values implements Headers.
func (h *http1Headers) Values(name string) []string {
	var out []string
	for _, f := range *h {
		if len(f.Name) == len(name) && equalFoldASCII(f.Name, name) {
			out = append(out, string(f.Value))
		}
	}
	return out
}

// nthValue implements valueRanger: the value is a view of the conn's
// buffer, valid while the handler runs.
func (h *http1Headers) nthValue(name string, n int) (string, bool) {
	for _, f := range *h {
		if len(f.Name) == len(name) && equalFoldASCII(f.Name, name) {
			if n == 0 {
				return unsafe.String(unsafe.SliceData(f.Value), len(f.Value)), true
			}
			n--
		}
	}
	return "", false
}

func equalFoldASCII(b []byte, s string) bool {
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ServeHTTP1 implements http1.Handler: it answers a WebSocket opening
// request, and hands the conn to s once the 101 is written; a request
// that is not one (or that s's Policy refuses) gets its status (400, 403,
// 404, 426) and the conn stays HTTP. Options.Path, if set, is checked
// here too; Options.MaxRequestHead and HandshakeTimeout do not apply: the
// http1.Server's limits bound the request.
func (s *Server) ServeHTTP1(w *http1.ResponseWriter, r *http1.Request) {
	if s.o.Path != "" {
		if path, _, _ := strings.Cut(string(r.Target), "?"); path != s.o.Path {
			refuseHTTP1(w, Handshake{Status: 404, Reason: "no WebSocket endpoint at " + path})
			return
		}
	}
	method := "GET" // Negotiate refuses any other: only a refusal makes a string
	if string(r.Method) != method {
		method = string(r.Method)
	}
	hs := s.o.Policy.Negotiate(method, (*http1Headers)(&r.Header))
	if hs.Status != 101 {
		refuseHTTP1(w, hs)
		return
	}
	// The hand-over is checked first: a request http1 cannot upgrade
	// (HTTP/1.0, responses still awaited) is refused without the 101's
	// fields, which would otherwise go out with the refusal.
	c := newConn(nil, &s.ep, true)
	if err := w.UpgradeAsContext((*upgradedHandler)(c)); err != nil {
		refuseHTTP1(w, Handshake{Status: 400, Reason: err.Error()})
		return
	}
	w.AddHeader("Upgrade", "websocket")
	w.AddHeader("Sec-WebSocket-Accept", hs.Accept)
	if hs.Protocol != "" {
		w.AddHeader("Sec-WebSocket-Protocol", hs.Protocol)
	}
	if hs.Deflate != nil {
		w.AddHeader("Sec-WebSocket-Extensions", hs.Deflate.String())
	}
	c.extra().req = copyHead(r) // until OnOpen returns (Options.KeepRequest: for good)
	c.x.protocol = hs.Protocol
	c.setDeflate(hs.Deflate)
}

func refuseHTTP1(w *http1.ResponseWriter, hs Handshake) {
	w.SetStatus(hs.Status)
	w.AddHeader("Content-Type", "text/plain; charset=utf-8")
	if hs.Status == 426 {
		w.AddHeader("Sec-WebSocket-Version", "13")
		w.AddHeader("Upgrade", "websocket")
	}
	w.WriteString(hs.Reason + "\n")
}

// upgradedHandler is a conn handed over by http1 as its own handler and
// context (UpgradeAsContext): http1 keeps the handler for the conn's life,
// so the conn is all it holds, with no wrapper. Its handshake is done, so
// the conn opens at once.
type upgradedHandler Conn

func (u *upgradedHandler) conn() *Conn { return (*Conn)(u) }

// OnOpen implements reactor.Handler: the conn is open.
func (u *upgradedHandler) OnOpen(raw conn.Conn) reactor.Action {
	c := u.conn()
	c.raw = raw // whose context is u: http1's, left alone
	c.open()
	if c.state == stateClosed {
		return reactor.Close
	}
	return reactor.None
}

// OnTraffic implements reactor.Handler.
func (u *upgradedHandler) OnTraffic(conn.Conn) reactor.Action { return u.conn().traffic() }

// OnClose implements reactor.Handler.
func (u *upgradedHandler) OnClose(_ conn.Conn, err error) { u.conn().closed(err) }

// OnStop implements reactor.StopHandler: the engine stops (1001).
func (u *upgradedHandler) OnStop(conn.Conn) { u.conn().stop("server stopping") }

// OnBoot, OnTick and OnShutdown are the engine's, never a conn's.
func (u *upgradedHandler) OnBoot(reactor.Engine) reactor.Action { return reactor.None }

// OnTick implements reactor.Handler (never called for a conn's handler).
func (u *upgradedHandler) OnTick() (time.Duration, reactor.Action) { return 0, reactor.None }

// OnShutdown implements reactor.Handler (never called for a conn's handler).
func (u *upgradedHandler) OnShutdown(reactor.Engine) {}

var _ http1.Handler = (*Server)(nil)

// copyHead copies a request's target and fields out of the conn's
// buffer into one string, which the head's strings slice: two
// allocations however many fields (the head and the string).
func copyHead(r *http1.Request) *RequestHead {
	n := len(r.Target)
	for _, f := range r.Header {
		n += len(f.Name) + len(f.Value) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, r.Target...)
	for _, f := range r.Header {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	all := unsafe.String(unsafe.SliceData(b), len(b)) // b is never written again
	return &RequestHead{Method: "GET", Target: all[:len(r.Target)], fields: fieldBlock(all[len(r.Target):])}
}
