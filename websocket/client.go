package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// The client side (RFC 6455 §4.1): Dial connects on an engine's loops, as
// reactor's Dial does, writes the opening request at the conn's open and
// checks the server's answer as it arrives, in any pieces; then the conn
// is a WebSocket conn like a server's, but for the masking of its frames.

// ErrBadHandshake is the OnClose cause (wrapped in a *HandshakeError) of a
// dialed conn whose server did not complete the opening handshake as RFC
// 6455 §4.1 requires: a status other than 101, a wrong
// Sec-WebSocket-Accept, a subprotocol or extension the client did not
// offer.
var ErrBadHandshake = errors.New("websocket: bad opening handshake response")

// DialOptions configure a client conn.
type DialOptions struct {
	// Options apply as to a server's conns: MaxMessage, MaxRequestHead
	// (the response head's bound), HandshakeTimeout, CloseTimeout,
	// PingInterval, MaxBacklog. Policy.Subprotocols are offered in that
	// order; Policy.Compression, if set, offers permessage-deflate (with
	// server_no_context_takeover unless ServerContextTakeover, and
	// client_no_context_takeover if ClientNoContextTakeover).
	Options
	// Header holds extra request header fields (Origin, Authorization,
	// Cookie); an http.Header fits.
	Header map[string][]string
}

// Dial opens a WebSocket conn to rawURL (ws://host[:port]/path or
// wss://...) on e's loops, served by h. It returns at once: h.OnOpen runs
// once the opening handshake has succeeded; if the connect or the
// handshake fails, h.OnClose runs instead (without OnOpen), with the
// dial's error (a *net.OpError, as reactor's Dial gives) or a
// *HandshakeError wrapping ErrBadHandshake, or ErrHandshakeTimeout. An
// error from Dial itself (a bad URL, a stopped engine) means neither
// runs.
//
// wss:// dials the engine's "tls" network: the server's certificate is
// checked against the URL's host, with the engine's WithDialTLS config.
func Dial(e reactor.Engine, rawURL string, h Handler, o DialOptions) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("websocket: dial %q: %w", rawURL, err)
	}
	network, port := "", ""
	switch strings.ToLower(u.Scheme) {
	case "ws":
		network, port = "tcp", "80"
	case "wss":
		network, port = "tls", "443"
	default:
		return fmt.Errorf("websocket: dial %q: the scheme must be ws or wss", rawURL)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("websocket: dial %q: no host", rawURL)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	opts := o.Options.withDefaults()
	ch := &clientHandler{endpoint: endpoint{h: h, o: &opts}, key: NewClientKey(), offered: opts.Subprotocols, compress: opts.Compression != nil}
	ch.request = ch.appendRequest(nil, u, o.Header)
	return e.DialHandler(network, net.JoinHostPort(u.Hostname(), port), ch)
}

// clientHandler serves one dialed conn: the opening handshake, then the
// conn's WebSocket life.
type clientHandler struct {
	reactor.BaseHandler
	endpoint
	key      string
	offered  []string
	compress bool
	request  []byte
}

// appendRequest appends the opening request (§4.1).
func (ch *clientHandler) appendRequest(b []byte, u *url.URL, extra map[string][]string) []byte {
	target := u.RequestURI()
	b = append(b, "GET "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, ch.key...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if len(ch.offered) > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, strings.Join(ch.offered, ", ")...)
		b = append(b, "\r\n"...)
	}
	if c := ch.o.Compression; c != nil {
		b = append(b, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"...)
		if !c.ServerContextTakeover {
			b = append(b, "; server_no_context_takeover"...)
		}
		if c.ClientNoContextTakeover {
			b = append(b, "; client_no_context_takeover"...)
		}
		b = append(b, "\r\n"...)
	}
	for name, values := range extra {
		for _, v := range values {
			// Line breaks in a value would smuggle header lines in.
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// OnOpen implements reactor.Handler: the transport is up (TLS included);
// the request goes out and the handshake's clock starts.
func (ch *clientHandler) OnOpen(raw conn.Conn) reactor.Action {
	c := newConn(raw, &ch.endpoint, false)
	c.extra().client = ch
	raw.SetContext(c)
	raw.Write(ch.request)
	c.deadline(&c.deadlines().handshake, ch.o.HandshakeTimeout)
	return reactor.None
}

// OnTraffic implements reactor.Handler.
func (ch *clientHandler) OnTraffic(raw conn.Conn) reactor.Action {
	c, ok := raw.Context().(*Conn)
	if !ok {
		raw.Discard(-1)
		return reactor.Close
	}
	return c.traffic()
}

// OnClose implements reactor.Handler: a dial that failed before OnOpen
// reaches the application's OnClose too.
func (ch *clientHandler) OnClose(raw conn.Conn, err error) {
	c, ok := raw.Context().(*Conn)
	if !ok {
		c = newConn(raw, &ch.endpoint, false)
		c.extra().client = ch
	}
	c.closed(err)
}

// OnStop implements reactor.StopHandler: 1001 to the server as the
// engine stops.
func (ch *clientHandler) OnStop(raw conn.Conn) {
	if c, ok := raw.Context().(*Conn); ok {
		c.stop("client stopping")
	}
}

// readClientHandshake reads the server's answer to the opening request
// and checks it (§4.1, the client's requirements).
func (c *Conn) readClientHandshake() {
	b, _ := c.raw.Peek(-1)
	x := c.extra()
	n, err := x.head.scan(b, c.ep.o.MaxRequestHead)
	if err != nil {
		c.failHandshake(err)
		return
	}
	if n == 0 {
		return
	}
	resp, err := parseResponseHead(b[:n-4])
	c.raw.Discard(n)
	if err == nil {
		err = x.client.check(resp, c)
	}
	if err != nil {
		c.failHandshake(err)
		return
	}
	c.open()
}

// failHandshake ends a client conn whose handshake failed.
func (c *Conn) failHandshake(err error) {
	he, ok := err.(*HandshakeError)
	if !ok {
		he = &HandshakeError{Reason: err.Error()}
	}
	he.client = true
	c.setCause(he)
	c.state = stateClosed
}

// check applies §4.1's rules to the response and takes what was agreed.
func (ch *clientHandler) check(resp *ResponseHead, c *Conn) error {
	bad := func(format string, args ...any) error {
		return &HandshakeError{Status: resp.Status, Reason: fmt.Sprintf(format, args...)}
	}
	if resp.Status != 101 {
		return bad("the server answered %d, not 101", resp.Status)
	}
	if !hasToken(resp, "Upgrade", "websocket") {
		return bad("no Upgrade: websocket in the response")
	}
	if !hasToken(resp, "Connection", "upgrade") {
		return bad("no Connection: Upgrade in the response")
	}
	if a := resp.Values("Sec-WebSocket-Accept"); len(a) != 1 || a[0] != AcceptKey(ch.key) {
		return bad("Sec-WebSocket-Accept %q does not answer the key", a)
	}
	if p := tokens(resp, "Sec-WebSocket-Protocol"); len(p) > 0 {
		if len(p) > 1 || !contains(ch.offered, p[0]) {
			return bad("subprotocol %q was not offered", p)
		}
		c.extra().protocol = p[0]
	}
	exts, err := ParseExtensions(resp.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return bad("%v", err)
	}
	if len(exts) > 0 && !ch.compress {
		return bad("extension %q was not offered", exts[0].Name)
	}
	params, err := acceptDeflateResponse(exts)
	if err != nil {
		return bad("%v", err)
	}
	if params != nil && ch.o.Compression.ClientNoContextTakeover && !params.ClientNoContextTakeover {
		// The server may only add to what was asked (RFC 7692 §7.1.1.2
		// lets it answer without the hint; the client keeps it anyway).
		params.ClientNoContextTakeover = true
	}
	c.setDeflate(params)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
