package reactor_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// The bounds on handshakes in progress: a silent peer gives its slot back
// at the first-byte deadline, one source cannot take the whole cap, and the
// engine options set both for tls:// listeners.

// dialSilent opens n TCP conns to addr from the local IP from, which send
// nothing; the test closes them when it ends.
func dialSilent(t *testing.T, addr, from string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: tlsBound, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return conns
}

// handshakeEcho completes a handshake with addr from 127.0.0.1 and echoes
// one byte through it.
func handshakeEcho(addr string, cfg *tls.Config) error {
	nc, err := net.DialTimeout("tcp", addr, tlsBound)
	if err != nil {
		return err
	}
	c := tls.Client(nc, cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(tlsBound))
	if _, err := c.Write([]byte("x")); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, 1))
	return err
}

// TestTLSSilentSourceCannotTakeTheCap: with the cap at 8 and the default
// per-source bound (a quarter of it), eight silent conns from 127.0.0.2
// hold two slots, and a handshake from 127.0.0.1 goes through.
func TestTLSSilentSourceCannotTakeTheCap(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{MaxHandshakes: 8, HandshakeTimeout: tlsBound, HandshakeFirstByteTimeout: -1}, b.opts...)
			dialSilent(t, addr, "127.0.0.2", 8)
			require.Eventually(t, func() bool {
				st := layer.Stats()
				return st.HandshakesInProgress+st.HandshakesRejected == 8
			}, tlsBound, time.Millisecond)
			st := layer.Stats()
			require.Equal(t, int64(2), st.HandshakesInProgress, "127.0.0.2 holds its quarter of the cap")
			require.Equal(t, int64(6), st.HandshakesRejected)
			require.NoError(t, handshakeEcho(addr, cli), "a handshake from 127.0.0.1")
			require.NoError(t, h.closeErr(t))
		})
	}
}

// TestTLSFirstByteDeadline: a conn that sends nothing is closed at the
// first-byte deadline; one that has begun its ClientHello keeps its slot
// until the whole handshake's deadline.
func TestTLSFirstByteDeadline(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, _ := tlsPair(t, "127.0.0.1")
			layer, addr := startTLS(t, newTLSEcho(), srv, reactor.TLSOptions{HandshakeTimeout: tlsBound, HandshakeFirstByteTimeout: 200 * time.Millisecond}, b.opts...)
			conns := dialSilent(t, addr, "127.0.0.1", 2)
			silent, started := conns[0], conns[1]
			started.Write([]byte{22, 3, 1, 0, 200, 1}) // a ClientHello's first bytes
			require.Eventually(t, func() bool { return layer.Stats().HandshakesInProgress == 2 }, tlsBound, time.Millisecond)

			silent.SetDeadline(time.Now().Add(tlsBound))
			_, err := io.ReadAll(silent)
			require.NoError(t, err, "the silent conn is closed")
			require.Eventually(t, func() bool { return layer.Stats().HandshakeFailures == 1 }, tlsBound, time.Millisecond)

			// The other is still in its handshake, past the first-byte deadline.
			started.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err = started.Read(make([]byte, 1))
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			require.True(t, ne.Timeout(), "the started handshake lives on: %v", err)
			require.Equal(t, int64(1), layer.Stats().HandshakesInProgress)
		})
	}
}

// TestTLSEngineHandshakeBounds: WithTLSMaxHandshakes and
// WithTLSHandshakeTimeout reach a tls:// listener's layer.
func TestTLSEngineHandshakeBounds(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			opts := append([]reactor.Option{reactor.WithTLS(srv),
				reactor.WithTLSMaxHandshakes(1, -1),
				reactor.WithTLSHandshakeTimeout(tlsBound, 300*time.Millisecond)}, b.opts...)
			e := tpStart(t, newTLSEcho(), []string{"tls://127.0.0.1:0"}, opts...)
			addr := e.Addrs()[0].String()

			silent := dialSilent(t, addr, "127.0.0.1", 1)[0]
			require.Eventually(t, func() bool { return e.Stats().TLS.HandshakesInProgress == 1 }, tlsBound, time.Millisecond)
			require.Error(t, handshakeEcho(addr, cli), "over the cap of 1")
			require.Equal(t, int64(1), e.Stats().TLS.HandshakesRejected)

			silent.SetDeadline(time.Now().Add(tlsBound))
			_, err := io.ReadAll(silent)
			require.NoError(t, err, "closed at the first-byte deadline")
			require.Eventually(t, func() bool { return e.Stats().TLS.HandshakesInProgress == 0 }, tlsBound, time.Millisecond)
			require.NoError(t, handshakeEcho(addr, cli))
		})
	}
}

// TestTLSEngineSilentSourceCannotTakeTheCap: a tls:// listener with
// WithTLSMaxHandshakes(8, 0) (the per-source bound at its default, a
// quarter) and no first-byte deadline: eight silent conns from 127.0.0.2
// do not keep a real tls.Dial from 127.0.0.1 out. (With one engine-wide
// cap, as before, they held all eight slots and the dial failed.)
func TestTLSEngineSilentSourceCannotTakeTheCap(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			opts := append([]reactor.Option{reactor.WithTLS(srv),
				reactor.WithTLSMaxHandshakes(8, 0),
				reactor.WithTLSHandshakeTimeout(tlsBound, -1)}, b.opts...)
			e := tpStart(t, newTLSEcho(), []string{"tls://127.0.0.1:0"}, opts...)
			addr := e.Addrs()[0].String()

			dialSilent(t, addr, "127.0.0.2", 8)
			require.Eventually(t, func() bool {
				st := e.Stats().TLS
				return st.HandshakesInProgress+st.HandshakesRejected == 8
			}, tlsBound, time.Millisecond)
			require.Equal(t, int64(2), e.Stats().TLS.HandshakesInProgress, "127.0.0.2 holds a quarter of the cap")

			d := &net.Dialer{Timeout: tlsBound, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}
			c, err := tls.DialWithDialer(d, "tcp", addr, cli)
			require.NoError(t, err, "a handshake from 127.0.0.1")
			defer c.Close()
			c.SetDeadline(time.Now().Add(tlsBound))
			_, err = c.Write([]byte("hi"))
			require.NoError(t, err)
			got := make([]byte, 2)
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)
			require.Equal(t, "hi", string(got))
		})
	}
}
