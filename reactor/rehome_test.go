package reactor_test

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// addrEcho answers each read with the remote address it sees and the bytes.
type addrEcho struct{ reactor.BaseHandler }

func (addrEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write([]byte(c.RemoteAddr().String() + " " + string(b)))
	return reactor.None
}

// TestSourceHashUsesProxiedClient: behind a PROXY listener, SourceHash
// places conns by the client address in the header, not by the balancer's
// (every conn here comes from 127.0.0.1): the conn moves to that loop before
// it opens, with the bytes that followed the header.
func TestSourceHashUsesProxiedClient(t *testing.T) {
	for _, b := range []struct {
		name string
		opt  reactor.Option
	}{
		{"epoll", reactor.WithPoller(poller.Epoll)},
		{"poll", reactor.WithPoller(poller.Poll)},
		{"uring", reactor.WithBackend(uringbackend.New())},
		{"uring-multishot", reactor.WithBackend(uringbackend.New(uringbackend.WithMultishotReceive()))},
	} {
		t.Run(b.name, func(t *testing.T) {
			e, err := reactor.Start(addrEcho{}, []string{"tcp://127.0.0.1:0?proxy=required"},
				reactor.WithLoops(4), b.opt, reactor.WithLoadBalancing(reactor.SourceHash),
				reactor.WithLogger(quietLog), reactor.WithProxy(reactor.WithProxyTrustAny()),
				reactor.WithIdleTimeout(time.Minute)) // the moved conn's timer moves too
			require.NoError(t, err)
			defer tpStop(t, e)
			addr := e.Addrs()[0].String()

			open := func(src string) net.Conn {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				require.NoError(t, err)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				h := &proxyproto.Header{Version: 2, Command: proxyproto.Proxy, Family: proxyproto.IPv4, Transport: proxyproto.Stream,
					Source: &net.TCPAddr{IP: net.ParseIP(src), Port: 1000}, Destination: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80}}
				wire, err := h.AppendV2(nil)
				require.NoError(t, err)
				_, err = c.Write(append(wire, "hi"...))
				require.NoError(t, err)
				want := src + ":1000 hi"
				got := make([]byte, len(want))
				_, err = io.ReadFull(c, got)
				require.NoError(t, err)
				require.Equal(t, want, string(got))
				return c
			}
			loopsInUse := func() (n int) {
				for _, l := range e.Stats().Loop {
					if l.Open > 0 {
						n++
					}
				}
				return n
			}

			// One client behind the balancer: all its conns on one loop.
			var held []net.Conn
			for range 8 {
				held = append(held, open("203.0.113.9"))
			}
			require.Equal(t, 1, loopsInUse())
			for _, c := range held {
				c.Close()
			}
			require.Eventually(t, func() bool { return e.Conns() == 0 }, 10*time.Second, 5*time.Millisecond)

			// Many clients behind the one balancer address: spread.
			held = held[:0]
			for i := range 16 {
				held = append(held, open(fmt.Sprintf("198.51.100.%d", i+1)))
			}
			require.Greater(t, loopsInUse(), 1, "%+v", e.Stats().Loop)
			// And each still echoes after its move.
			for _, c := range held {
				_, err := c.Write([]byte("again"))
				require.NoError(t, err)
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				require.NoError(t, err)
				require.Contains(t, string(buf[:n]), "again")
				c.Close()
			}
		})
	}
}
