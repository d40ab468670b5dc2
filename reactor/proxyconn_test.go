package reactor_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
)

// plFakeConn is a raw conn that records the calls it gets, to check what a
// layer forwards without an engine.
type plFakeConn struct {
	in    []byte
	calls []string
	ctx   any
	idle  []time.Duration
	done  conn.AsyncCallback
}

func (f *plFakeConn) call(name string) { f.calls = append(f.calls, name) }

func (f *plFakeConn) Read(p []byte) (int, error) {
	f.call("Read")
	n := copy(p, f.in)
	f.in = f.in[n:]
	return n, nil
}

func (f *plFakeConn) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}

func (f *plFakeConn) Next(n int) ([]byte, error) {
	f.call("Next")
	b, _ := f.Peek(n)
	f.in = f.in[len(b):]
	return b, nil
}

func (f *plFakeConn) Discard(n int) (int, error) {
	if n < 0 || n > len(f.in) {
		n = len(f.in)
	}
	f.in = f.in[n:]
	return n, nil
}

func (f *plFakeConn) InboundBuffered() int           { return len(f.in) }
func (f *plFakeConn) Write(p []byte) (int, error)    { f.call("Write"); return len(p), nil }
func (f *plFakeConn) Writev(b [][]byte) (int, error) { f.call("Writev"); return 0, nil }
func (f *plFakeConn) OutboundBuffered() int          { f.call("OutboundBuffered"); return 0 }
func (f *plFakeConn) ShutdownWrite() error           { f.call("ShutdownWrite"); return nil }
func (f *plFakeConn) Context() any                   { return f.ctx }
func (f *plFakeConn) SetContext(v any)               { f.ctx = v }
func (f *plFakeConn) Wake() error                    { f.call("Wake"); return nil }
func (f *plFakeConn) Close() error                   { f.call("Close"); return nil }
func (f *plFakeConn) Fd() int                        { f.call("Fd"); return 42 }
func (f *plFakeConn) LocalAddr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80} }
func (f *plFakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 9999}
}
func (f *plFakeConn) SetIdleTimeout(d time.Duration) error {
	f.idle = append(f.idle, d)
	return nil
}

func (f *plFakeConn) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	f.call("AsyncWrite")
	f.done = done
	return nil
}

func (f *plFakeConn) AsyncWritev(b [][]byte, done conn.AsyncCallback) error {
	f.call("AsyncWritev")
	f.done = done
	return nil
}

var _ conn.Conn = (*plFakeConn)(nil)

// plRecorder is a next handler that keeps the conns and calls it gets.
type plRecorder struct {
	reactor.BaseHandler
	events  []string
	conns   []conn.Conn
	traffic []string
}

func (r *plRecorder) OnOpen(c conn.Conn) reactor.Action {
	r.events = append(r.events, "open")
	r.conns = append(r.conns, c)
	return reactor.None
}

func (r *plRecorder) OnTraffic(c conn.Conn) reactor.Action {
	r.events = append(r.events, "traffic")
	b, _ := c.Next(-1)
	r.traffic = append(r.traffic, string(b))
	return reactor.None
}

func (r *plRecorder) OnClose(c conn.Conn, err error) { r.events = append(r.events, "close") }

func (r *plRecorder) OnDrained(c conn.Conn) reactor.Action {
	r.events = append(r.events, "drained")
	r.conns = append(r.conns, c)
	return reactor.None
}

func TestProxyConnForwards(t *testing.T) {
	next := &plRecorder{}
	l, err := reactor.NewProxyLayer(next, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyIdleTimeout(time.Minute))
	require.NoError(t, err)
	raw := &plFakeConn{}
	require.Equal(t, reactor.None, l.OnOpen(raw))
	require.Equal(t, []time.Duration{reactor.DefaultProxyHeaderTimeout}, raw.idle)
	require.Equal(t, reactor.None, l.OnDrained(raw), "OnDrained before the header")
	require.Empty(t, next.events)

	raw.in = []byte("PROXY TCP4 203.0.113.7 198.51.100.1 4242 443\r\nhel")
	require.Equal(t, reactor.None, l.OnTraffic(raw))
	require.Equal(t, []string{"open", "traffic"}, next.events)
	require.Equal(t, []string{"hel"}, next.traffic)
	require.Equal(t, time.Minute, raw.idle[len(raw.idle)-1], "idle timeout not restored")
	c := next.conns[0]
	require.NotSame(t, raw, c)
	require.Equal(t, "203.0.113.7:4242", c.RemoteAddr().String())
	require.Equal(t, "198.51.100.1:443", c.LocalAddr().String())
	require.Equal(t, proxyproto.Proxy, reactor.ProxyHeader(c).Command)
	require.Nil(t, reactor.ProxyHeader(raw))

	// Context is the handler's own; the raw conn's slot stays the layer's.
	c.SetContext("mine")
	require.Equal(t, "mine", c.Context())
	require.NotEqual(t, "mine", raw.Context())

	// Every other method reaches the raw conn.
	raw.calls = nil
	raw.in = []byte("abcdef")
	p := make([]byte, 1)
	c.Read(p)
	c.Next(1)
	_, _ = c.Peek(1)
	c.Discard(1)
	require.Equal(t, 3, c.InboundBuffered())
	c.Write(p)
	c.Writev([][]byte{p})
	c.OutboundBuffered()
	c.ShutdownWrite()
	c.SetIdleTimeout(time.Second)
	require.Equal(t, time.Second, raw.idle[len(raw.idle)-1])
	c.Wake()
	require.Equal(t, 42, c.Fd())
	c.Close()
	require.Equal(t, []string{"Read", "Next", "Write", "Writev", "OutboundBuffered", "ShutdownWrite", "Wake", "Fd", "Close"}, raw.calls)

	// Async writes' callbacks get the wrapped conn.
	var got conn.Conn
	require.NoError(t, c.AsyncWrite(p, func(cc conn.Conn, err error) error { got = cc; return nil }))
	raw.done(raw, nil)
	require.Same(t, c, got)
	got = nil
	require.NoError(t, c.AsyncWritev([][]byte{p}, func(cc conn.Conn, err error) error { got = cc; return nil }))
	raw.done(raw, nil)
	require.Same(t, c, got)
	require.NoError(t, c.AsyncWrite(p, nil))
	require.Nil(t, raw.done)

	// OnDrained and OnClose reach next with the wrapped conn.
	require.Equal(t, reactor.None, l.OnDrained(raw))
	require.Same(t, c, next.conns[len(next.conns)-1])
	l.OnClose(raw, io.EOF)
	require.Equal(t, []string{"open", "traffic", "drained", "close"}, next.events)
	require.Equal(t, int64(1), l.Stats().Headers)
}

func TestProxyLayerHidesRefusedConns(t *testing.T) {
	next := &plRecorder{}
	var refused []error
	l, err := reactor.NewProxyLayer(next, reactor.ProxyRequired, reactor.WithProxyTrustAny(),
		reactor.WithProxyRejectHook(func(_ conn.Conn, err error) { refused = append(refused, err) }))
	require.NoError(t, err)

	// Closed before any byte: no OnClose, counted as aborted.
	raw := &plFakeConn{}
	l.OnOpen(raw)
	l.OnClose(raw, nil)
	// Closed inside the header: truncated.
	raw = &plFakeConn{}
	l.OnOpen(raw)
	raw.in = []byte("PROXY TCP4 1.2")
	require.Equal(t, reactor.None, l.OnTraffic(raw))
	l.OnClose(raw, nil)
	// Timed out by the idle timer armed for the deadline.
	raw = &plFakeConn{}
	l.OnOpen(raw)
	l.OnClose(raw, reactor.ErrIdleTimeout)
	// Malformed: closed by the layer; its close is not next's either.
	raw = &plFakeConn{}
	l.OnOpen(raw)
	raw.in = []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r")
	require.Equal(t, reactor.Close, l.OnTraffic(raw))
	require.Zero(t, raw.InboundBuffered())
	l.OnClose(raw, nil)

	require.Empty(t, next.events)
	require.Len(t, refused, 3)
	require.ErrorIs(t, refused[0], proxyproto.ErrTruncated)
	require.ErrorIs(t, refused[1], reactor.ErrProxyHeaderTimeout)
	require.ErrorIs(t, refused[2], proxyproto.ErrBadCRLF)
	require.Equal(t, reactor.ProxyStats{Malformed: 2, Timeouts: 1, Aborted: 1}, l.Stats())

	// A conn the layer never opened (a failed dial) reaches next as is.
	raw = &plFakeConn{}
	l.OnClose(raw, io.ErrUnexpectedEOF)
	require.Equal(t, []string{"close"}, next.events)
}

// TestProxyLayerTrickleRearmsDeadline: each partial header arms the idle
// timer to what is left of the deadline, never to a fresh timeout.
func TestProxyLayerTrickleRearmsDeadline(t *testing.T) {
	l, err := reactor.NewProxyLayer(&plRecorder{}, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyHeaderTimeout(time.Hour))
	require.NoError(t, err)
	raw := &plFakeConn{}
	l.OnOpen(raw)
	for _, b := range []byte("PROXY ") {
		raw.in = append(raw.in, b)
		l.OnTraffic(raw)
	}
	require.Len(t, raw.idle, 7)
	for i := 1; i < len(raw.idle); i++ {
		require.LessOrEqual(t, raw.idle[i], raw.idle[i-1])
	}
}

// TestProxyLayerTrafficAllocatesNothing: once open, a conn's traffic goes
// through the layer without allocating.
func TestProxyLayerTrafficAllocatesNothing(t *testing.T) {
	l, err := reactor.NewProxyLayer(reactor.BaseHandler{}, reactor.ProxyRequired, reactor.WithProxyTrustAny())
	require.NoError(t, err)
	raw := &plFakeConn{in: []byte("PROXY UNKNOWN\r\n")}
	l.OnOpen(raw)
	msg := []byte("hello")
	if a := testing.AllocsPerRun(100, func() {
		raw.in = msg
		l.OnTraffic(raw)
	}); a != 0 {
		t.Errorf("OnTraffic through the layer allocates %v times", a)
	}
}
