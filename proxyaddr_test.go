package evloop_test

// ?proxy= on a listen address puts the PROXY protocol layer in front of that
// listener's handler, on every backend, and Stats counts what it saw.

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
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
