package evloop_test

// A conn kept open for writing after its peer's EOF (reactor.EOFHandler).

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// lateAnswerer answers each conn's input from another goroutine, after the
// peer's EOF has come: as an HTTP server whose worker is still making the
// response when the client half-closes.
type lateAnswerer struct {
	reactor.BaseHandler
	eofs   atomic.Int32
	opened chan struct{}
	closed chan error
}

func (h *lateAnswerer) OnOpen(c conn.Conn) reactor.Action {
	h.opened <- struct{}{}
	return reactor.None
}

func (h *lateAnswerer) OnTraffic(c conn.Conn) reactor.Action {
	c.Discard(-1)
	return reactor.None
}

func (h *lateAnswerer) OnEOF(c conn.Conn) reactor.Action {
	h.eofs.Add(1)
	go func() {
		c.AsyncWrite([]byte("late answer"), func(c conn.Conn, err error) error {
			if err == nil {
				c.Close()
			}
			return nil
		})
	}()
	return reactor.None
}

func (h *lateAnswerer) OnClose(c conn.Conn, err error) { h.closed <- err }

// TestEOFHandlerKeepsConnOpenForWriting: a handler whose OnEOF returns None
// writes its answer after the peer half-closed, and the peer gets it whole
// before the server's EOF; the conn closes cleanly when the handler says,
// also through the TLS and PROXY layers.
func TestEOFHandlerKeepsConnOpenForWriting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tr := range []string{"tcp", "tls", "proxy"} {
			t.Run(tr, func(t *testing.T) {
				h := &lateAnswerer{opened: make(chan struct{}, 1), closed: make(chan error, 1)}
				c := startLayered(t, tr, h, b)
				defer c.Close()
				// The server's side of a TLS handshake done: a half-close
				// that comes before it closes the conn (docs/tls.md).
				select {
				case <-h.opened:
				case <-time.After(10 * time.Second):
					t.Fatal("no OnOpen")
				}
				_, err := c.Write([]byte("question"))
				require.NoError(t, err)
				require.NoError(t, closeWrite(c))
				require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
				got, err := io.ReadAll(c)
				require.NoError(t, err)
				require.Equal(t, "late answer", string(got))
				select {
				case err := <-h.closed:
					require.NoError(t, err)
				case <-time.After(10 * time.Second):
					t.Fatal("no OnClose")
				}
				require.EqualValues(t, 1, h.eofs.Load(), "OnEOF calls")
			})
		}
	})
}

// startLayered serves h on b over tr (tcp, tls, or tcp behind a PROXY
// header) and returns a client conn, past the handshake or the header.
func startLayered(t *testing.T, tr string, h reactor.Handler, b backend) net.Conn {
	t.Helper()
	opts := []reactor.Option{reactor.WithLogger(discardLogger())}
	addr := "tcp://127.0.0.1:0"
	var cliCfg *tls.Config
	switch tr {
	case "tls":
		cert, err := selfsigned.New("localhost", "127.0.0.1")
		require.NoError(t, err)
		cliCfg = &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}
		opts = append(opts, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		addr = "tls://127.0.0.1:0"
	case "proxy":
		opts = append(opts, reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8"))))
		addr = "tcp://127.0.0.1:0?proxy=required"
	}
	e := start(t, h, addr, b, opts...)
	c := dial(t, e)
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	switch tr {
	case "tls":
		tc := tls.Client(c, cliCfg)
		require.NoError(t, tc.Handshake())
		return tc
	case "proxy":
		_, err := io.WriteString(c, "PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\n")
		require.NoError(t, err)
	}
	return c
}

// closeWrite half-closes c: a TCP conn's write side, or a TLS client's
// (close_notify, then the TCP half-close under it).
func closeWrite(c net.Conn) error {
	if tc, ok := c.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		c = tc.NetConn()
	}
	return c.(*net.TCPConn).CloseWrite()
}
