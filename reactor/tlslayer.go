package reactor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
)

// TLSLayer is a Handler that speaks TLS with the standard library's
// crypto/tls to the peer and plaintext to the Handler it wraps. It sits
// between a loop and the application: the loop hands it the raw conn's
// callbacks (ciphertext), and it calls the next Handler with a conn.Conn that
// carries plaintext (a TLSConn). It uses only the public Handler and
// conn.Conn API, so the same layer runs on every backend.
//
// A conn's handshake runs on a goroutine of its own, because crypto/tls
// cannot suspend a handshake on a would-block read: the loop copies the
// ciphertext it receives into the conn's feed, the goroutine's transport
// blocks until fed, and handshake output goes to the raw conn with
// AsyncWrite. Once the handshake has completed the goroutine ends and the
// loop calls the next OnOpen. From then on records are decrypted and
// encrypted on the loop, with no goroutine: the transport under the
// tls.Conn turns nonblocking and answers an empty read with a temporary
// net.Error, which crypto/tls does not cache, so the next read resumes.
//
// Server side, a conn whose handshake fails (bad input, timeout, the peer
// going away) never reaches the next OnOpen or OnClose: it is counted in
// TLSStats.HandshakeFailures, logged at debug level with the peer and the
// reason, and closed. Client side (a dial), the failure is the dial's
// outcome and reaches the next OnClose as a *net.OpError (Op "dial") that
// wraps the handshake's error, such as a *tls.CertificateVerificationError.
//
// Closing: Close (or a callback's Close action), and the engine's stop
// (OnStop, which the layer first passes on to the next Handler, so that
// its goodbye goes out encrypted), send close_notify after the output
// written so far, then close the raw conn once it is flushed; a Drain only
// passes OnStop on, and the conn serves on;
// ShutdownWrite sends close_notify and half-closes. The peer's close_notify
// is a clean end: the layer answers with its own, the conn closes, and the
// next OnClose gets nil. Errors in the record stream (a bad MAC, an alert
// from the peer) and conn.ErrInboundTooLarge (past TLSOptions.MaxInbound
// unconsumed plaintext) are OnClose causes.
//
// Handshakes in progress are capped (TLSOptions.MaxHandshakes), and for a
// server also per source address (TLSOptions.MaxHandshakesPerSource), so
// that one host cannot take every slot: a conn that arrives over either cap
// is closed at once, before any handshake, and counted in
// TLSStats.HandshakesRejected (a dial over the cap fails with
// ErrTooManyHandshakes). A handshake holds its slot until it ends, at most
// HandshakeTimeout, and a peer that sends nothing at all, only until
// HandshakeFirstByteTimeout. For tls:// listeners and Dial("tls") the
// engine options WithTLSHandshakeTimeout and WithTLSMaxHandshakes set them.
//
// Kernel TLS (kTLS) could slot in after the handshake: where the kernel
// offers it, the switch from the handshake goroutine to the loop would
// instead hand the negotiated keys to the socket (setsockopt TCP_ULP "tls",
// TLS_TX/TLS_RX) and present the raw conn itself, now carrying plaintext,
// to the next Handler, with ConnectionState kept from the handshake. That
// needs crypto/tls to export its traffic secrets and sequence numbers, which
// it does not do today, and a way for the layer to reach the socket below
// the conn.Conn (its Fd), which the conn API already gives.
type TLSLayer struct {
	next      Handler
	drain     DrainHandler // next's, if it has one
	stopper   StopHandler  // next's, if it has one
	eofer     EOFHandler   // next's, if it has one
	cfg       *tls.Config
	client    bool
	timeout   time.Duration
	firstByte time.Duration // 0: none but timeout
	maxHS     int64
	perSource int // 0: no per-source bound
	maxIn     int
	writeHigh int
	log       *slog.Logger
	counters  *TLSCounters
	engine    tlsEngine // see TLSOptions.engine
}

// maxHandshakeFeed bounds the ciphertext the loop hands a handshake
// goroutine ahead of its reads; more waits in the raw conn. A var so tests
// can lower it.
var maxHandshakeFeed = 64 << 10

// TLSConn is the conn.Conn a TLS layer gives its next Handler. A handler
// reaches the negotiated state through conn.TLSInfo (conn.TLSState), which
// does not depend on this package's layer.
type TLSConn interface {
	conn.Conn
	conn.TLSInfo
}

// Errors of the TLS layer, for errors.Is.
var (
	// ErrHandshakeTimeout ends a handshake that outlived HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("reactor: TLS handshake timeout")
	// ErrTLSTruncated is the OnClose cause when the peer's stream ended
	// without close_notify: data may have been cut short by someone other
	// than the peer. (crypto/tls itself takes an EOF at a record boundary
	// as the end; a conn the engine closes while it stops is not counted.)
	// An EOF inside a record is ErrTLSRecordTruncated, which is also
	// ErrTLSTruncated for errors.Is.
	ErrTLSTruncated = errors.New("reactor: TLS stream truncated (EOF without close_notify)")
	// ErrTLSRecordTruncated is the OnClose cause when the peer's stream
	// ended inside a record, without close_notify.
	ErrTLSRecordTruncated = fmt.Errorf("%w inside a record", ErrTLSTruncated)
)

// NewTLSServer wraps next in a TLS server layer with config cfg (which must
// hold a certificate or GetCertificate/GetConfigForClient; certificate
// reloading works through those).
func NewTLSServer(next Handler, cfg *tls.Config, o TLSOptions) *TLSLayer {
	return newTLSLayer(next, cfg, false, o)
}

// NewTLSClient wraps next in a TLS client layer for dialed conns. The server
// name verified is serverName, or cfg.ServerName when serverName is empty.
func NewTLSClient(next Handler, cfg *tls.Config, serverName string, o TLSOptions) *TLSLayer {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if serverName != "" {
		cfg = cfg.Clone()
		cfg.ServerName = serverName
	}
	return newTLSLayer(next, cfg, true, o)
}

func newTLSLayer(next Handler, cfg *tls.Config, client bool, o TLSOptions) *TLSLayer {
	l := &TLSLayer{next: next, cfg: cfg, client: client, timeout: o.HandshakeTimeout,
		maxHS: int64(o.MaxHandshakes), maxIn: o.MaxInbound, writeHigh: o.WriteHigh, log: o.Logger, counters: o.Counters, engine: o.engine}
	l.drain, _ = next.(DrainHandler)
	l.stopper, _ = next.(StopHandler)
	l.eofer, _ = next.(EOFHandler)
	if l.timeout <= 0 {
		l.timeout = DefaultHandshakeTimeout
	}
	if l.maxHS == 0 {
		l.maxHS = DefaultMaxHandshakes
	}
	l.firstByte = o.HandshakeFirstByteTimeout
	if l.firstByte == 0 {
		l.firstByte = DefaultHandshakeFirstByteTimeout
	}
	l.perSource = o.MaxHandshakesPerSource
	switch {
	case l.perSource < 0:
		l.perSource = 0
	case l.perSource == 0 && l.maxHS > 0:
		l.perSource = max(int(l.maxHS/4), 1)
	}
	if l.writeHigh <= 0 {
		l.writeHigh = DefaultWriteHigh
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.counters == nil {
		l.counters = new(TLSCounters)
	}
	if l.engine == nil {
		l.engine = neverStopping{}
	}
	return l
}

// Stats returns the layer's counters.
func (l *TLSLayer) Stats() TLSStats { return l.counters.Stats() }

// Counters returns where the layer counts.
func (l *TLSLayer) Counters() *TLSCounters { return l.counters }

// OnBoot implements Handler: it is next's.
func (l *TLSLayer) OnBoot(e Engine) Action { return l.next.OnBoot(e) }

// OnTick implements Handler: it is next's.
func (l *TLSLayer) OnTick() (time.Duration, Action) { return l.next.OnTick() }

// OnShutdown implements Handler: it is next's.
func (l *TLSLayer) OnShutdown(e Engine) { l.next.OnShutdown(e) }

// OnOpen implements Handler: it starts the conn's handshake.
func (l *TLSLayer) OnOpen(raw conn.Conn) Action {
	perSource := l.perSource
	if l.client {
		perSource = 0 // a client's handshakes all go to one server
	}
	slot, err := l.counters.admit(raw.RemoteAddr(), l.maxHS, perSource)
	if err != nil {
		l.counters.rejected.Add(1)
		l.log.Debug("tls handshake rejected", "remote", raw.RemoteAddr(), "err", err)
		if l.client {
			c := newTLSConn(l, raw)
			c.moveTo(tlsFailed)
			raw.SetContext(c)
			c.moveTo(tlsDialFailed)
			l.next.OnClose(c, c.dialError(err))
		}
		return Close
	}
	c := newTLSConn(l, raw)
	c.slot = slot
	raw.SetContext(c)
	c.startHandshake()
	return None
}

// OnTraffic implements Handler: ciphertext arrived, or the conn was woken.
func (l *TLSLayer) OnTraffic(raw conn.Conn) Action {
	c, _ := raw.Context().(*tlsConn)
	if c == nil {
		raw.Discard(-1)
		return None
	}
	switch c.state() {
	case tlsHandshaking:
		// A handshake that is done takes what arrived after it as records.
		if done, err := c.handshakeResult(); done {
			if err != nil {
				return c.handshakeFailed(err)
			}
			return c.opened()
		}
		c.feedHandshake()
		return None
	case tlsOpen:
		return c.traffic()
	}
	raw.Discard(-1)
	return None
}

// OnDrained implements DrainHandler: the raw conn's ciphertext fell to the
// low watermark, so the next handler may write more.
func (l *TLSLayer) OnDrained(raw conn.Conn) Action {
	c, _ := raw.Context().(*tlsConn)
	if c == nil || c.state() != tlsOpen {
		return None
	}
	if l.drain != nil {
		if a := c.act(l.drain.OnDrained(c)); a != None || c.state() != tlsOpen {
			return a
		}
	}
	if c.backlog {
		c.backlog = false
		return c.traffic()
	}
	return None
}

// OnEOF implements EOFHandler: the raw conn's peer ended its stream. For an
// open conn the next handler's OnEOF decides, if it has one (None keeps the
// conn open for writing; Close sends close_notify after what was written);
// else, and for a conn still handshaking, the conn closes as without OnEOF.
func (l *TLSLayer) OnEOF(raw conn.Conn) Action {
	c, _ := raw.Context().(*tlsConn)
	if c == nil || c.state() != tlsOpen || l.eofer == nil {
		return Close
	}
	if c.eofTold {
		return None // at close_notify: it keeps the conn open for writing
	}
	c.eofTold = true
	return c.act(l.eofer.OnEOF(c))
}

// OnStop implements StopHandler: the next handler's OnStop runs first,
// with the plaintext conn, so that its goodbye (a WebSocket close frame)
// goes out encrypted; then an open conn that the stopping engine closes
// sends close_notify, after the output written so far, as Close does, and
// its peer sees a clean end, not a truncation. While the engine only
// drains, the conn serves on. A conn still handshaking is closed by the
// engine without a word: next never saw it.
func (l *TLSLayer) OnStop(raw conn.Conn) {
	c, _ := raw.Context().(*tlsConn)
	if c == nil || c.state() != tlsOpen {
		return
	}
	if l.stopper != nil {
		l.stopper.OnStop(c)
	}
	if !l.engine.drainingOnly() {
		c.sendCloseNotify() // only for an open conn, once
	}
}

// OnClose implements Handler.
func (l *TLSLayer) OnClose(raw conn.Conn, err error) {
	c, _ := raw.Context().(*tlsConn)
	if c == nil {
		// Never opened: a dial that failed to connect, or a conn refused
		// before OnOpen. Only a dial's failure is reported.
		if l.client {
			l.next.OnClose(newTLSConn(l, raw), err)
		}
		return
	}
	c.rawClosed(err)
}

// dialError is how a failed client handshake is reported: as a failed dial.
func (c *tlsConn) dialError(err error) error {
	addr := c.raw.RemoteAddr()
	network := "tcp"
	if addr != nil {
		network = addr.Network()
	}
	return &net.OpError{Op: "dial", Net: network, Addr: addr, Err: err}
}

var (
	_ Handler      = (*TLSLayer)(nil)
	_ DrainHandler = (*TLSLayer)(nil)
	_ StopHandler  = (*TLSLayer)(nil)
	_ EOFHandler   = (*TLSLayer)(nil)
)
