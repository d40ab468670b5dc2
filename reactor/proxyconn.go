package reactor

import (
	"errors"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
)

// The conn a ProxyLayer gives its next Handler: the raw conn, with the
// addresses of the PROXY header and a context slot of its own.

// proxyConn states.
const (
	proxyAwaiting uint8 = iota // the header is not complete yet
	proxyOpen                  // next has the conn
	proxyRejected              // closed by the layer; next never saw it
	proxyMoving                // header in; moving to the real client's loop (SourceHash)
)

// proxyConn is the conn next sees: the raw conn with the header's addresses
// and a context slot of its own (the layer keeps the raw conn's).
type proxyConn struct {
	raw           conn.Conn
	layer         *ProxyLayer
	header        *proxyproto.Header
	local, remote net.Addr
	ctx           any
	deadline      time.Time
	state         uint8
	trusted       bool
	seen          bool // some bytes arrived
}

var _ ProxyInfo = (*proxyConn)(nil)

// readHeader parses what has arrived; once the header is complete it opens
// the conn to next, with the bytes that follow it.
func (pc *proxyConn) readHeader() Action {
	l := pc.layer
	now := time.Now()
	if !now.Before(pc.deadline) {
		l.timeouts.Add(1)
		return pc.reject(ErrProxyHeaderTimeout)
	}
	b, _ := pc.raw.Peek(-1)
	if len(b) > 0 {
		pc.seen = true
	}
	h, n, err := l.cfg.parser.Parse(b)
	switch {
	case err == proxyproto.ErrNeedMore:
		// The idle timer enforces the deadline: trickled bytes must not
		// push it back.
		pc.raw.SetIdleTimeout(pc.deadline.Sub(now))
		return None
	case errors.Is(err, proxyproto.ErrNoSignature) && l.mode == ProxyOptional:
		l.passthrough.Add(1)
		return pc.open()
	case err != nil:
		l.malformed.Add(1)
		return pc.reject(err)
	case !pc.trusted:
		l.untrusted.Add(1)
		return pc.reject(ErrProxyUntrusted)
	}
	pc.raw.Discard(n)
	l.headers.Add(1)
	pc.header = h
	if h.HasAddresses() {
		pc.remote, pc.local = h.Source, h.Destination
		if MoveBySource(pc.raw, h.Source) {
			// SourceHash: the loop for the real client goes on, with an
			// OnTraffic (rehome.go).
			pc.state = proxyMoving
			return None
		}
	}
	return pc.open()
}

// open hands the conn to next: OnOpen, then OnTraffic if data followed the
// header.
func (pc *proxyConn) open() Action {
	pc.state = proxyOpen
	pc.raw.SetIdleTimeout(pc.layer.cfg.idleTimeout)
	if a := pc.layer.next.OnOpen(pc); a != None {
		return a
	}
	if pc.raw.InboundBuffered() > 0 {
		return pc.layer.next.OnTraffic(pc)
	}
	return None
}

func (pc *proxyConn) reject(err error) Action {
	pc.state = proxyRejected
	pc.raw.Discard(-1)
	pc.layer.rejected(pc.raw, err)
	return Close
}

// ProxyHeader implements ProxyInfo.
func (pc *proxyConn) ProxyHeader() *proxyproto.Header { return pc.header }

// Read implements conn.Conn.
func (pc *proxyConn) Read(p []byte) (int, error) { return pc.raw.Read(p) }

// Peek implements conn.Conn.
func (pc *proxyConn) Peek(n int) ([]byte, error) { return pc.raw.Peek(n) }

// Next implements conn.Conn.
func (pc *proxyConn) Next(n int) ([]byte, error) { return pc.raw.Next(n) }

// Discard implements conn.Conn.
func (pc *proxyConn) Discard(n int) (int, error) { return pc.raw.Discard(n) }

// InboundBuffered implements conn.Conn.
func (pc *proxyConn) InboundBuffered() int { return pc.raw.InboundBuffered() }

// Write implements conn.Conn.
func (pc *proxyConn) Write(p []byte) (int, error) { return pc.raw.Write(p) }

// Writev implements conn.Conn.
func (pc *proxyConn) Writev(bufs [][]byte) (int, error) { return pc.raw.Writev(bufs) }

// OutboundBuffered implements conn.Conn.
func (pc *proxyConn) OutboundBuffered() int { return pc.raw.OutboundBuffered() }

// ShutdownWrite implements conn.Conn.
func (pc *proxyConn) ShutdownWrite() error { return pc.raw.ShutdownWrite() }

// SetIdleTimeout implements conn.Conn.
func (pc *proxyConn) SetIdleTimeout(d time.Duration) error { return pc.raw.SetIdleTimeout(d) }

// Context implements conn.Conn.
func (pc *proxyConn) Context() any { return pc.ctx }

// SetContext implements conn.Conn.
func (pc *proxyConn) SetContext(v any) { pc.ctx = v }

// AsyncWrite implements conn.Conn; done receives this conn, not the raw one.
func (pc *proxyConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	return pc.raw.AsyncWrite(p, pc.callback(done))
}

// AsyncWritev implements conn.Conn; done receives this conn.
func (pc *proxyConn) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	return pc.raw.AsyncWritev(bufs, pc.callback(done))
}

func (pc *proxyConn) callback(done conn.AsyncCallback) conn.AsyncCallback {
	if done == nil {
		return nil
	}
	return func(_ conn.Conn, err error) error { return done(pc, err) }
}

// Wake implements conn.Conn.
func (pc *proxyConn) Wake() error { return pc.raw.Wake() }

// Close implements conn.Conn.
func (pc *proxyConn) Close() error { return pc.raw.Close() }

// LocalAddr implements conn.Conn: the header's destination if it has one.
func (pc *proxyConn) LocalAddr() net.Addr {
	if pc.local != nil {
		return pc.local
	}
	return pc.raw.LocalAddr()
}

// RemoteAddr implements conn.Conn: the header's source if it has one.
func (pc *proxyConn) RemoteAddr() net.Addr {
	if pc.remote != nil {
		return pc.remote
	}
	return pc.raw.RemoteAddr()
}

// Fd implements conn.Conn.
func (pc *proxyConn) Fd() int { return pc.raw.Fd() }

var _ conn.Conn = (*proxyConn)(nil)
