package reactor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// plBound bounds every wait of the PROXY layer tests.
const plBound = 5 * time.Second

var plBackends = []struct {
	name string
	opts []reactor.Option
}{
	{"native", []reactor.Option{reactor.WithLoops(2)}},
	{"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New()), reactor.WithLoops(2)}},
}

// plHandler greets each conn with the addresses and header it sees, then
// echoes; it counts opens and closes, which a refused conn must not reach.
type plHandler struct {
	reactor.BaseHandler
	mu     sync.Mutex
	opens  int
	closes int
	async  chan bool // for "async": whether done got the conn OnTraffic got
}

func (h *plHandler) OnOpen(c conn.Conn) reactor.Action {
	h.mu.Lock()
	h.opens++
	h.mu.Unlock()
	line := fmt.Sprintf("remote=%s local=%s", c.RemoteAddr(), c.LocalAddr())
	if ph := reactor.ProxyHeader(c); ph != nil {
		line += fmt.Sprintf(" cmd=%s authority=%s alpn=%s", ph.Command, ph.Authority(), ph.ALPN())
	}
	c.Write([]byte(line + "\n"))
	return reactor.None
}

func (h *plHandler) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if string(b) == "async\n" {
		p := append([]byte(nil), b...)
		go c.AsyncWrite(p, func(got conn.Conn, err error) error {
			h.async <- got == c && err == nil
			return nil
		})
		return reactor.None
	}
	c.Write(b)
	return reactor.None
}

func (h *plHandler) OnClose(conn.Conn, error) {
	h.mu.Lock()
	h.closes++
	h.mu.Unlock()
}

func (h *plHandler) counts() (opens, closes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opens, h.closes
}

// plServer is an engine behind a ProxyLayer, with what the layer refused.
type plServer struct {
	addr    string
	layer   *reactor.ProxyLayer
	handler *plHandler
	refused chan error
}

func startPLServer(t *testing.T, backend []reactor.Option, mode reactor.ProxyMode, opts ...reactor.ProxyOption) *plServer {
	t.Helper()
	s := &plServer{handler: &plHandler{async: make(chan bool, 1)}, refused: make(chan error, 64)}
	opts = append([]reactor.ProxyOption{
		reactor.WithProxyLogger(slog.New(slog.DiscardHandler)),
		reactor.WithProxyRejectHook(func(_ conn.Conn, err error) { s.refused <- err }),
	}, opts...)
	var err error
	s.layer, err = reactor.NewProxyLayer(s.handler, mode, opts...)
	require.NoError(t, err)
	e, err := reactor.Start(s.layer, []string{"tcp://127.0.0.1:0"},
		append([]reactor.Option{reactor.WithLogger(slog.New(slog.DiscardHandler))}, backend...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), plBound)
		defer cancel()
		require.NoError(t, e.Stop(ctx))
	})
	s.addr = e.Addrs()[0].String()
	return s
}

// dial connects and sends each part as a separate write.
func (s *plServer) dial(t *testing.T, parts ...[]byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, plBound)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(plBound)))
	for _, p := range parts {
		_, err := c.Write(p)
		require.NoError(t, err)
	}
	return c, bufio.NewReader(c)
}

func (s *plServer) nextRefusal(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.refused:
		return err
	case <-time.After(plBound):
		t.Fatal("no conn refused")
		return nil
	}
}

// requireClosedByServer reads until the server's close (EOF or reset).
func requireClosedByServer(t *testing.T, r *bufio.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	if err != nil {
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "server did not close: %v", err)
	}
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSuffix(line, "\n")
}

func plFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// checkFDs fails the test if the fds it opened are not all closed once its
// engines stopped (cleanups run last in, first out: this runs after them).
func checkFDs(t *testing.T) {
	before := plFDs()
	t.Cleanup(func() {
		if before < 0 {
			return
		}
		deadline := time.Now().Add(plBound)
		for plFDs() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // Go closes a client's fd a moment after Close
		}
		require.LessOrEqual(t, plFDs(), before, "fds leaked")
	})
}

func v1Header(src, dst string) []byte {
	h := &proxyproto.Header{Command: proxyproto.Proxy, Source: mustTCP(src), Destination: mustTCP(dst)}
	b, err := h.AppendV1(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func v2Header(h *proxyproto.Header) []byte {
	b, err := h.AppendV2(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func mustTCP(s string) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

func TestProxyLayerEcho(t *testing.T) {
	tlvHeader := &proxyproto.Header{Command: proxyproto.Proxy, Source: mustTCP("[2001:db8::7]:4242"), Destination: mustTCP("[2001:db8::1]:443"),
		TLVs: []proxyproto.TLV{{Type: proxyproto.TypeAuthority, Value: []byte("example.com")}, {Type: proxyproto.TypeALPN, Value: []byte("h2")}, {Type: proxyproto.TypeCRC32C}}}
	cases := []struct {
		name   string
		mode   reactor.ProxyMode
		header []byte
		want   string // "" means the socket's own addresses
	}{
		{"v1 TCP4", reactor.ProxyRequired, v1Header("203.0.113.7:4242", "198.51.100.1:443"),
			"remote=203.0.113.7:4242 local=198.51.100.1:443 cmd=PROXY authority= alpn="},
		{"v1 TCP6", reactor.ProxyRequired, v1Header("[2001:db8::7]:1", "[2001:db8::1]:2"),
			"remote=[2001:db8::7]:1 local=[2001:db8::1]:2 cmd=PROXY authority= alpn="},
		{"v2 TCP4", reactor.ProxyRequired, v2Header(&proxyproto.Header{Command: proxyproto.Proxy, Source: mustTCP("203.0.113.7:4242"), Destination: mustTCP("198.51.100.1:443")}),
			"remote=203.0.113.7:4242 local=198.51.100.1:443 cmd=PROXY authority= alpn="},
		{"v2 TCP6 TLVs", reactor.ProxyRequired, v2Header(tlvHeader),
			"remote=[2001:db8::7]:4242 local=[2001:db8::1]:443 cmd=PROXY authority=example.com alpn=h2"},
		{"v2 UNIX", reactor.ProxyRequired, v2Header(&proxyproto.Header{Command: proxyproto.Proxy,
			Source: &net.UnixAddr{Name: "/run/c.sock", Net: "unix"}, Destination: &net.UnixAddr{Name: "/run/s.sock", Net: "unix"}}),
			"remote=/run/c.sock local=/run/s.sock cmd=PROXY authority= alpn="},
		{"v2 LOCAL", reactor.ProxyRequired, v2Header(&proxyproto.Header{Command: proxyproto.Local}), ""},
		{"v1 UNKNOWN", reactor.ProxyRequired, []byte("PROXY UNKNOWN\r\n"), ""},
		{"optional v1", reactor.ProxyOptional, v1Header("203.0.113.7:4242", "198.51.100.1:443"),
			"remote=203.0.113.7:4242 local=198.51.100.1:443 cmd=PROXY authority= alpn="},
		{"optional v2", reactor.ProxyOptional, v2Header(tlvHeader),
			"remote=[2001:db8::7]:4242 local=[2001:db8::1]:443 cmd=PROXY authority=example.com alpn=h2"},
		{"optional plain", reactor.ProxyOptional, nil, ""},
	}
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			servers := map[reactor.ProxyMode]*plServer{
				reactor.ProxyRequired: startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny()),
				reactor.ProxyOptional: startPLServer(t, be.opts, reactor.ProxyOptional, reactor.WithProxyTrustAny()),
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					s := servers[c.mode]
					// The header with data in one write, and cut in two.
					for _, parts := range [][][]byte{
						{append(append([]byte(nil), c.header...), "hello\n"...)},
						{c.header[:len(c.header)/2], c.header[len(c.header)/2:], []byte("hello\n")},
					} {
						cl, r := s.dial(t, parts...)
						line := readLine(t, r)
						if c.want == "" {
							want := fmt.Sprintf("remote=%s local=%s", cl.LocalAddr(), cl.RemoteAddr())
							require.True(t, strings.HasPrefix(line, want), "%q, want prefix %q", line, want)
						} else {
							require.Equal(t, c.want, line)
						}
						require.Equal(t, "hello", readLine(t, r))
						_, err := cl.Write([]byte("again\n"))
						require.NoError(t, err)
						require.Equal(t, "again", readLine(t, r))
						cl.Close()
					}
				})
			}
			st := servers[reactor.ProxyRequired].layer.Stats()
			require.Equal(t, int64(14), st.Headers)
			require.Zero(t, st.Malformed+st.Timeouts+st.Untrusted+st.Passthrough)
			st = servers[reactor.ProxyOptional].layer.Stats()
			require.Equal(t, int64(4), st.Headers)
			require.Equal(t, int64(2), st.Passthrough)
		})
	}
}

func TestProxyLayerAsyncWriteGetsWrappedConn(t *testing.T) {
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			s := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny())
			_, r := s.dial(t, append(v1Header("203.0.113.7:1", "198.51.100.1:2"), "async\n"...))
			readLine(t, r)
			require.Equal(t, "async", readLine(t, r))
			select {
			case same := <-s.handler.async:
				require.True(t, same, "AsyncWrite's done got another conn than the handler's")
			case <-time.After(plBound):
				t.Fatal("AsyncWrite's done not called")
			}
		})
	}
}

func TestProxyLayerRefuses(t *testing.T) {
	bigV2 := v2Header(&proxyproto.Header{Command: proxyproto.Proxy, Source: mustTCP("1.2.3.4:1"), Destination: mustTCP("5.6.7.8:2"),
		TLVs: []proxyproto.TLV{{Type: 0xe0, Value: make([]byte, 5000)}}})
	cases := []struct {
		name string
		mode reactor.ProxyMode
		send []byte
		want error
	}{
		{"plain data when required", reactor.ProxyRequired, []byte("GET / HTTP/1.1\r\n\r\n"), proxyproto.ErrNoSignature},
		{"bad CRLF", reactor.ProxyRequired, []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nhello"), proxyproto.ErrBadCRLF},
		{"unknown family", reactor.ProxyOptional, []byte("PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n"), proxyproto.ErrUnknownFamily},
		{"v1 too long", reactor.ProxyOptional, []byte("PROXY UNKNOWN " + strings.Repeat("f", 120) + "\r\n"), proxyproto.ErrTooLong},
		{"v2 past the bound", reactor.ProxyRequired, bigV2, proxyproto.ErrTooLong},
		{"v2 bad version", reactor.ProxyOptional, []byte("\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x0c"), proxyproto.ErrBadVersion},
		{"v2 short block", reactor.ProxyRequired, []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd"), proxyproto.ErrTruncated},
	}
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			servers := map[reactor.ProxyMode]*plServer{
				reactor.ProxyRequired: startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny()),
				reactor.ProxyOptional: startPLServer(t, be.opts, reactor.ProxyOptional, reactor.WithProxyTrustAny()),
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					s := servers[c.mode]
					_, r := s.dial(t, c.send)
					requireClosedByServer(t, r)
					err := s.nextRefusal(t)
					require.ErrorIs(t, err, c.want)
					require.ErrorIs(t, err, proxyproto.ErrInvalid)
				})
			}
			// A header cut by the peer's close.
			s := servers[reactor.ProxyRequired]
			cl, _ := s.dial(t, []byte("PROXY TCP4 1.2.3."))
			cl.Close()
			require.ErrorIs(t, s.nextRefusal(t), proxyproto.ErrTruncated)
			// A connect and close without a byte (a TCP health check) is
			// no error.
			cl, _ = s.dial(t)
			cl.Close()

			for _, s := range servers {
				opens, closes := s.handler.counts()
				require.Zero(t, opens, "a refused conn reached OnOpen")
				require.Zero(t, closes, "a refused conn reached OnClose")
			}
			require.Eventually(t, func() bool { return servers[reactor.ProxyRequired].layer.Stats().Aborted == 1 }, plBound, time.Millisecond)
			st := servers[reactor.ProxyRequired].layer.Stats()
			require.Equal(t, reactor.ProxyStats{Malformed: 5, Aborted: 1}, st)
			require.Equal(t, reactor.ProxyStats{Malformed: 3}, servers[reactor.ProxyOptional].layer.Stats())
		})
	}
}

// TestProxyLayerHeaderDeadline: a peer that trickles its header one byte
// at a time, faster than the timeout, is still cut off at the deadline.
func TestProxyLayerHeaderDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			s := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyHeaderTimeout(timeout))
			start := time.Now()
			cl, r := s.dial(t)
			header := v1Header("203.0.113.7:4242", "198.51.100.1:443")
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				requireClosedByServer(t, r)
			}()
			func() {
				for i := range len(header) - 2 { // never complete
					select {
					case <-closed:
						return
					case <-time.After(timeout / 4):
					}
					if _, err := cl.Write(header[i : i+1]); err != nil {
						return
					}
				}
			}()
			<-closed
			took := time.Since(start)
			require.GreaterOrEqual(t, took, timeout)
			// The trickle lasts over 10 timeouts: a deadline it pushed back
			// would close the conn after it.
			require.Less(t, took, 6*timeout, "the trickle extended the deadline")
			require.ErrorIs(t, s.nextRefusal(t), reactor.ErrProxyHeaderTimeout)
			require.Equal(t, int64(1), s.layer.Stats().Timeouts)

			// Silence also times out.
			_, r = s.dial(t)
			requireClosedByServer(t, r)
			require.ErrorIs(t, s.nextRefusal(t), reactor.ErrProxyHeaderTimeout)
			require.Equal(t, int64(2), s.layer.Stats().Timeouts)
		})
	}
}

// TestProxyLayerRestoresIdleTimeout: once the header is in, the header
// deadline no longer applies; the configured idle timeout does.
func TestProxyLayerRestoresIdleTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			s := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyHeaderTimeout(timeout),
				reactor.WithProxyIdleTimeout(5*timeout))
			cl, r := s.dial(t, v1Header("203.0.113.7:4242", "198.51.100.1:443"))
			readLine(t, r)
			time.Sleep(2 * timeout) // past the header deadline, within the idle timeout
			_, err := cl.Write([]byte("alive\n"))
			require.NoError(t, err)
			require.Equal(t, "alive", readLine(t, r))
			start := time.Now()
			requireClosedByServer(t, r) // the idle timeout closes it
			require.GreaterOrEqual(t, time.Since(start), 4*timeout)
			require.Eventually(t, func() bool {
				opens, closes := s.handler.counts()
				return opens == 1 && closes == 1
			}, plBound, time.Millisecond)
			require.Zero(t, s.layer.Stats().Timeouts)
		})
	}
}

func TestProxyLayerTrustedSources(t *testing.T) {
	elsewhere := reactor.WithProxyTrusted(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))
	header := v1Header("203.0.113.7:4242", "198.51.100.1:443")
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			// Required: a peer outside the list is closed at once.
			req := startPLServer(t, be.opts, reactor.ProxyRequired, elsewhere)
			_, r := req.dial(t, header)
			requireClosedByServer(t, r)
			require.ErrorIs(t, req.nextRefusal(t), reactor.ErrProxyUntrusted)
			require.Equal(t, int64(1), req.layer.Stats().Untrusted)

			// Optional: its plain data passes, its header does not.
			opt := startPLServer(t, be.opts, reactor.ProxyOptional, elsewhere)
			cl, r := opt.dial(t, []byte("hello\n"))
			require.Equal(t, fmt.Sprintf("remote=%s local=%s", cl.LocalAddr(), cl.RemoteAddr()), readLine(t, r))
			require.Equal(t, "hello", readLine(t, r))
			_, r = opt.dial(t, header)
			requireClosedByServer(t, r)
			require.ErrorIs(t, opt.nextRefusal(t), reactor.ErrProxyUntrusted)
			require.Equal(t, reactor.ProxyStats{Passthrough: 1, Untrusted: 1}, opt.layer.Stats())

			// Loopback listed: trusted.
			ok := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8")))
			_, r = ok.dial(t, header)
			require.Equal(t, "remote=203.0.113.7:4242 local=198.51.100.1:443 cmd=PROXY authority= alpn=", readLine(t, r))
		})
	}
}

func TestParseProxyMode(t *testing.T) {
	for _, m := range []reactor.ProxyMode{reactor.ProxyRequired, reactor.ProxyOptional} {
		got, err := reactor.ParseProxyMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := reactor.ParseProxyMode("yes")
	require.ErrorIs(t, err, reactor.ErrBadAddress)
	_, err = reactor.NewProxyLayer(reactor.BaseHandler{}, 0)
	require.Error(t, err)
	_, err = reactor.NewProxyLayer(reactor.BaseHandler{}, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyHeaderTimeout(0))
	require.Error(t, err)
	for _, mode := range []reactor.ProxyMode{reactor.ProxyRequired, reactor.ProxyOptional} {
		_, err = reactor.NewProxyLayer(reactor.BaseHandler{}, mode)
		require.ErrorIs(t, err, reactor.ErrProxyNoTrust, "no trust list, no opt-in: refused")
	}
}
