package reactor_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// How a TLS conn ends: close_notify either way, truncation, half-close,
// and the engine's stop.

// alertRecord is the TLS record type of alerts, close_notify among them.
const alertRecord = 21

func TestTLSCloseNotifyBothWays(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			// TLS 1.2 leaves the record type of an alert in the clear.
			cli.MaxVersion = tls.VersionTLS12
			h := &closingEcho{tlsEcho: newTLSEcho()}
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)

			t.Run("client closes", func(t *testing.T) {
				c, rc := dialRecorded(t, addr, cli)
				c.Write([]byte("abc"))
				require.Equal(t, "abc", string(readN(t, c, 3)))
				require.NoError(t, c.CloseWrite())
				require.NoError(t, h.closeErr(t), "close_notify is a clean EOF")
				_, err := c.Read(make([]byte, 1))
				require.Equal(t, io.EOF, err)
				types := rc.recordTypes()
				require.Equal(t, byte(alertRecord), types[len(types)-1], "the server answered with close_notify")
				c.Close()
			})

			t.Run("server closes", func(t *testing.T) {
				c, rc := dialRecorded(t, addr, cli)
				c.Write([]byte("bye"))
				require.Equal(t, "bye", string(readN(t, c, 3)))
				_, err := c.Read(make([]byte, 1))
				require.Equal(t, io.EOF, err)
				types := rc.recordTypes()
				require.Equal(t, byte(alertRecord), types[len(types)-1], "the server sent close_notify")
				require.NoError(t, h.closeErr(t))
				c.Close()
			})
		})
	}
}

// closingEcho echoes and closes after echoing "bye".
type closingEcho struct{ *tlsEcho }

func (h *closingEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	if string(b) == "bye" {
		return reactor.Close
	}
	return reactor.None
}

func TestTLSTruncationDetected(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)

			c, rc := dialRecorded(t, addr, cli)
			c.Write([]byte("whole"))
			require.Equal(t, "whole", string(readN(t, c, 5)))
			rc.mu.Lock()
			rc.cutNext = 9 // a record header and four bytes of its body
			rc.mu.Unlock()
			c.Write([]byte("this record is cut short"))
			rc.Conn.Close() // TCP EOF, no close_notify
			err := h.closeErr(t)
			require.ErrorIs(t, err, reactor.ErrTLSRecordTruncated)
			require.ErrorIs(t, err, reactor.ErrTLSTruncated)
			require.Contains(t, err.Error(), "inside a record")

			// An EOF at a record boundary without close_notify is no end
			// either: whoever cut the stream could have cut it there.
			c, rc = dialRecorded(t, addr, cli)
			c.Write([]byte("whole"))
			require.Equal(t, "whole", string(readN(t, c, 5)))
			rc.Conn.Close()
			err = h.closeErr(t)
			require.ErrorIs(t, err, reactor.ErrTLSTruncated)
			require.NotErrorIs(t, err, reactor.ErrTLSRecordTruncated)
			require.NotContains(t, err.Error(), "inside a record", "the EOF came at a record boundary")
		})
	}
}

// halfCloser echoes until "half", which it answers and then shuts its write
// half: it still reads, and reports what comes after.
type halfCloser struct {
	reactor.BaseHandler
	shut  bool
	after chan string
}

func (h *halfCloser) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if h.shut {
		h.after <- string(b)
		return reactor.None
	}
	c.Write(b)
	if string(b) == "half" {
		h.shut = true
		if err := c.ShutdownWrite(); err != nil {
			panic(err)
		}
		if _, err := c.Write([]byte("late")); !errors.Is(err, conn.ErrWriteShut) {
			panic(fmt.Sprintf("write after ShutdownWrite: %v", err))
		}
	}
	return reactor.None
}

func TestTLSShutdownWriteIsCloseNotifyThenHalfClose(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			cli.MaxVersion = tls.VersionTLS12
			h := &halfCloser{after: make(chan string, 4)}
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{}, append([]reactor.Option{reactor.WithLoops(1)}, b.opts...)...)
			c, rc := dialRecorded(t, addr, cli)
			defer c.Close()
			c.Write([]byte("half"))
			got, err := io.ReadAll(c)
			require.NoError(t, err)
			require.Equal(t, "half", string(got))
			types := rc.recordTypes()
			require.Equal(t, byte(alertRecord), types[len(types)-1], "close_notify before the FIN")
			_, err = c.Write([]byte("still heard"))
			require.NoError(t, err)
			select {
			case s := <-h.after:
				require.Equal(t, "still heard", s)
			case <-time.After(tlsBound):
				t.Fatal("the server stopped reading after ShutdownWrite")
			}
		})
	}
}

// TestTLSStopSendsCloseNotify: the TLS conns an engine closes as it stops
// end as Close ends them, with close_notify after the output written
// before, so a crypto/tls client reads all of it, then a clean io.EOF, and
// the server's handler sees a clean close. Both for a TLS layer as the
// handler and for a tls:// listener, whose layer sits under the PROXY
// protocol layer with ?proxy=optional.
func TestTLSStopSendsCloseNotify(t *testing.T) {
	for _, b := range tlsBackends {
		for _, addr := range []string{"tcp://127.0.0.1:0", "tls://127.0.0.1:0", "tls://127.0.0.1:0?proxy=optional"} {
			t.Run(b.name+"/"+addr, func(t *testing.T) {
				srv, cli := tlsPair(t, "127.0.0.1")
				// TLS 1.2 leaves the record type of an alert in the clear.
				cli.MaxVersion = tls.VersionTLS12
				h := newTLSEcho()
				var root reactor.Handler = h
				opts := append([]reactor.Option{reactor.WithLogger(quietLog), reactor.WithTLS(srv), reactor.WithProxy(reactor.WithProxyTrustAny())}, b.opts...)
				if strings.HasPrefix(addr, "tcp:") {
					root = reactor.NewTLSServer(h, srv, reactor.TLSOptions{Logger: quietLog})
				}
				e, err := reactor.Start(root, []string{addr}, opts...)
				require.NoError(t, err)
				stopped := make(chan error, 1)
				defer func() {
					select {
					case <-stopped:
					default:
						tpStop(t, e)
					}
				}()
				hostPort := e.Addrs()[0].String()
				if i := strings.Index(hostPort, "://"); i >= 0 {
					hostPort = hostPort[i+3:]
				}
				if i := strings.IndexByte(hostPort, '?'); i >= 0 {
					hostPort = hostPort[:i]
				}
				const n = 3
				conns := make([]*tls.Conn, n)
				recs := make([]*recordConn, n)
				for i := range conns {
					conns[i], recs[i] = dialRecorded(t, hostPort, cli)
					conns[i].Write([]byte("hi"))
					require.Equal(t, "hi", string(readN(t, conns[i], 2)))
				}
				go func() { stopped <- tpStop(t, e) }()
				for i, c := range conns {
					_, err := c.Read(make([]byte, 1))
					require.Equal(t, io.EOF, err)
					types := recs[i].recordTypes()
					require.Equal(t, byte(alertRecord), types[len(types)-1], "the server sent close_notify")
					c.Close()
				}
				select {
				case err := <-stopped:
					require.NoError(t, err)
				case <-time.After(tlsBound):
					t.Fatal("Stop did not return")
				}
				for range conns {
					require.NoError(t, h.closeErr(t))
				}
			})
		}
	}
}
