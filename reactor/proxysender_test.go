package reactor_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
)

// The PROXY sender, a dialing client's header, through the layer.

// plDialer is the next handler of a ProxySender: it reports what the
// server says of the dialed conn.
type plDialer struct {
	reactor.BaseHandler
	lines chan string
}

func (d *plDialer) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	d.lines <- string(b)
	return reactor.Close
}

// TestProxySenderThroughLayer: an engine dials through a ProxySender to an
// engine behind a ProxyLayer, which sees the address the sender passed on.
func TestProxySenderThroughLayer(t *testing.T) {
	for _, be := range plBackends {
		for _, version := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/v%d", be.name, version), func(t *testing.T) {
				checkFDs(t)
				s := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny())
				d := &plDialer{lines: make(chan string, 1)}
				client := mustTCP("[2001:db8::99]:5555")
				sender, err := reactor.NewProxySender(d, version, func(conn.Conn) *proxyproto.Header {
					return &proxyproto.Header{Command: proxyproto.Proxy, Source: client, Destination: mustTCP("[2001:db8::1]:80")}
				})
				require.NoError(t, err)
				e, err := reactor.Start(sender, []string{"tcp://127.0.0.1:0"},
					append([]reactor.Option{reactor.WithLogger(slog.New(slog.DiscardHandler))}, be.opts...)...)
				require.NoError(t, err)
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), plBound)
					defer cancel()
					require.NoError(t, e.Stop(ctx))
				}()
				require.NoError(t, e.Dial("tcp", s.addr))
				select {
				case line := <-d.lines:
					require.Equal(t, "remote=[2001:db8::99]:5555 local=[2001:db8::1]:80 cmd=PROXY authority= alpn=\n", line)
				case <-time.After(plBound):
					t.Fatal("no reply through the PROXY sender")
				}
			})
		}
	}
}

func TestProxySenderEncodeFailure(t *testing.T) {
	_, err := reactor.NewProxySender(reactor.BaseHandler{}, 3, func(conn.Conn) *proxyproto.Header { return nil })
	require.Error(t, err)
	closed := make(chan error, 1)
	next := &plCloseRecorder{closed: closed}
	sender, err := reactor.NewProxySender(next, 1, func(conn.Conn) *proxyproto.Header {
		return &proxyproto.Header{Command: proxyproto.Proxy, Family: proxyproto.IPv4, Transport: proxyproto.Stream}
	})
	require.NoError(t, err)
	fc := &plFakeConn{}
	require.Equal(t, reactor.Close, sender.OnOpen(fc))
	require.False(t, next.opened, "OnOpen ran for a conn whose header failed")
	sender.OnClose(fc, nil)
	require.ErrorIs(t, <-closed, proxyproto.ErrUnencodable)
}

type plCloseRecorder struct {
	reactor.BaseHandler
	opened bool
	closed chan error
}

func (r *plCloseRecorder) OnOpen(conn.Conn) reactor.Action { r.opened = true; return reactor.None }
func (r *plCloseRecorder) OnClose(_ conn.Conn, err error)  { r.closed <- err }
