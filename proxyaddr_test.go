package evloop_test

// ?proxy= on a listen address puts the PROXY protocol layer in front of that
// listener's handler, on every backend, and Stats counts what it saw.

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
)

// remoteEcho answers each read with the peer address the handler sees.
type remoteEcho struct{ reactor.BaseHandler }

func (remoteEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write([]byte(c.RemoteAddr().String() + " " + string(b)))
	return reactor.None
}

func TestProxyAddressQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		opts := append([]reactor.Option{reactor.WithLogger(discardLogger()),
			reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8")))}, b.opts...)
		e, err := reactor.Start(remoteEcho{}, []string{"tcp://127.0.0.1:0?proxy=required", "tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e) })
		proxied, plain := e.Addrs()[0].String(), e.Addrs()[1].String()

		hdr := &proxyproto.Header{Version: 2, Command: proxyproto.Proxy, Family: proxyproto.IPv4, Transport: proxyproto.Stream,
			Source:      &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 4242},
			Destination: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 443}}
		wire, err := hdr.AppendV2(nil)
		require.NoError(t, err)
		require.Equal(t, "203.0.113.7:4242 hi", roundTrip(t, proxied, append(wire, "hi"...)))

		// The plain listener passes a header through as data.
		got := roundTrip(t, plain, []byte("hi"))
		require.Contains(t, got, "127.0.0.1:")

		// No header on the required listener: closed, counted.
		c, err := net.DialTimeout("tcp", proxied, 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		_, err = io.ReadAll(c)
		require.NoError(t, err) // closed without a reply
		require.Eventually(t, func() bool {
			s := e.Stats().Proxy
			return s.Headers == 1 && s.Malformed == 1
		}, 10*time.Second, 5*time.Millisecond, "stats %+v", e.Stats().Proxy)
	})
}

func roundTrip(t *testing.T, addr string, msg []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write(msg)
	require.NoError(t, err)
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}

// TestProxyBeforeTLS: HAProxy in TCP mode in front of a TLS server sends
// the PROXY header in clear, before the client's TLS bytes. On a tls://
// address with ?proxy=required the header is read first, and the TLS
// handler sees the client's address; with ?proxy=optional a client with no
// header still completes its handshake.
func TestProxyBeforeTLS(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	cliCfg := &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}
	forEachBackend(t, func(t *testing.T, b backend) {
		opts := append([]reactor.Option{reactor.WithLogger(discardLogger()),
			reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
			reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8")))}, b.opts...)
		e, err := reactor.Start(remoteEcho{}, []string{"tls://127.0.0.1:0?proxy=required", "tls://127.0.0.1:0?proxy=optional"}, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e) })
		required, optional := e.Addrs()[0].String(), e.Addrs()[1].String()

		hdr := &proxyproto.Header{Version: 2, Command: proxyproto.Proxy, Family: proxyproto.IPv6, Transport: proxyproto.Stream,
			Source:      &net.TCPAddr{IP: net.ParseIP("2001:db8::7"), Port: 4242},
			Destination: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},
			TLVs:        []proxyproto.TLV{{Type: proxyproto.TypeALPN, Value: []byte("h2")}}}
		wire, err := hdr.AppendV2(nil)
		require.NoError(t, err)
		for _, addr := range []string{required, optional} {
			require.Equal(t, "[2001:db8::7]:4242 hi", tlsRoundTrip(t, addr, wire, cliCfg), addr)
		}
		got := tlsRoundTrip(t, optional, nil, cliCfg)
		require.True(t, strings.HasPrefix(got, "127.0.0.1:"), "no header: the socket's peer, got %q", got)

		// Straight TLS to the required listener: no header, closed before
		// any handshake.
		raw, err := net.DialTimeout("tcp", required, 5*time.Second)
		require.NoError(t, err)
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		require.Error(t, tls.Client(raw, cliCfg).Handshake())
		require.Eventually(t, func() bool {
			s := e.Stats().Proxy
			return s.Headers == 2 && s.Malformed == 1 && s.Passthrough == 1
		}, 10*time.Second, 5*time.Millisecond, "stats %+v", e.Stats().Proxy)
	})
}

// tlsRoundTrip sends header in clear, then "hi" over TLS, and returns the
// reply.
func tlsRoundTrip(t *testing.T, addr string, header []byte, cfg *tls.Config) string {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	if len(header) > 0 {
		_, err = raw.Write(header)
		require.NoError(t, err)
	}
	c := tls.Client(raw, cfg)
	_, err = c.Write([]byte("hi"))
	require.NoError(t, err)
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}

// TestProxyAddressNeedsTrust: a ?proxy= listener that any client may reach
// must say whom it trusts; otherwise a client that connects directly could
// send a header and be logged as whoever it claims to be. A unix listener
// needs no list (only local processes connect), and WithProxyTrustAny is
// the explicit way to trust everyone.
func TestProxyAddressNeedsTrust(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		opts := append([]reactor.Option{reactor.WithLogger(discardLogger())}, b.opts...)
		for _, addr := range []string{"tcp://127.0.0.1:0?proxy=optional", "tcp://127.0.0.1:0?proxy=required"} {
			e, err := reactor.Start(remoteEcho{}, []string{addr}, opts...)
			if err == nil {
				stop(t, e)
			}
			require.ErrorIs(t, err, reactor.ErrProxyNoTrust, addr)
			require.ErrorContains(t, err, "WithProxyTrustAny", addr)
		}

		spoof := []byte("PROXY TCP4 6.6.6.6 127.0.0.1 4242 7000\r\nhi")
		sock := "unix://" + filepath.Join(t.TempDir(), "p.sock") + "?proxy=optional"
		e, err := reactor.Start(remoteEcho{}, []string{sock}, opts...)
		require.NoError(t, err, "a unix listener trusts its peers")
		got := roundTripNet(t, "unix", e.Addrs()[0].String(), spoof)
		stop(t, e)
		require.Equal(t, "6.6.6.6:4242 hi", got)

		e, err = reactor.Start(remoteEcho{}, []string{"tcp://127.0.0.1:0?proxy=optional"},
			append(opts, reactor.WithProxy(reactor.WithProxyTrustAny()))...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e) })
		require.Equal(t, "6.6.6.6:4242 hi", roundTrip(t, e.Addrs()[0].String(), spoof), "trusting any peer, as asked")
	})
}

func roundTripNet(t *testing.T, network, addr string, msg []byte) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write(msg)
	require.NoError(t, err)
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}
