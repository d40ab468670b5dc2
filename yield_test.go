package evloop_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// yielder echoes each line, and before it yields the loop to a goroutine
// it has just started: it counts the lines whose goroutine ran by the time
// YieldLoop returned.
type yielder struct {
	reactor.BaseHandler
	implements atomic.Int32 // 1: the conn is a conn.LoopYielder, 2: it is not
	ranFirst   atomic.Int32
}

func (h *yielder) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	y, ok := c.(conn.LoopYielder)
	if !ok {
		h.implements.Store(2)
		c.Write(b)
		return reactor.None
	}
	h.implements.Store(1)
	var ran atomic.Bool
	go ran.Store(true)
	y.YieldLoop()
	if ran.Load() {
		h.ranFirst.Add(1)
	}
	c.Write(b)
	return reactor.None
}

// TestLoopYielder: the conns of the native and gnet backends are
// conn.LoopYielders, and with one processor a goroutine their callback
// started runs before YieldLoop returns; the io_uring backend's are not
// (its loop is locked to its thread). The TLS and PROXY layers pass the
// yield on.
func TestLoopYielder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const lines = 20
	roundTrips := func(t *testing.T, c net.Conn) {
		t.Helper()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		r := bufio.NewReader(c)
		for i := range lines {
			_, err := c.Write([]byte("line\n"))
			require.NoError(t, err, "line %d", i)
			got, err := r.ReadString('\n')
			require.NoError(t, err, "line %d", i)
			require.Equal(t, "line\n", got)
		}
	}
	check := func(t *testing.T, h *yielder, uring, layered bool) {
		t.Helper()
		switch {
		case uring && layered:
			// The layer is a LoopYielder whose yield does nothing: with one
			// processor the goroutine waits for the loop to block.
			require.Equal(t, int32(1), h.implements.Load(), "the layer is not a conn.LoopYielder")
			require.Less(t, h.ranFirst.Load(), int32(lines/2), "the layer yielded an io_uring loop")
			return
		case uring:
			require.Equal(t, int32(2), h.implements.Load(), "an io_uring conn is a conn.LoopYielder")
			return
		}
		require.Equal(t, int32(1), h.implements.Load(), "not a conn.LoopYielder")
		// The scheduler takes from its global queue first once in 61
		// rounds, which can resume the loop before the goroutine.
		require.GreaterOrEqual(t, h.ranFirst.Load(), int32(lines-2), "yields after which the goroutine had run")
	}
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}
	forEachBackend(t, func(t *testing.T, b backend) {
		uring := strings.HasPrefix(b.name, "uring")
		t.Run("tcp", func(t *testing.T) {
			h := &yielder{}
			e := start(t, h, "tcp://127.0.0.1:0", b)
			c := dial(t, e)
			defer c.Close()
			roundTrips(t, c)
			check(t, h, uring, false)
		})
		t.Run("tls", func(t *testing.T) {
			h := &yielder{}
			e := start(t, h, "tls://127.0.0.1:0", b, reactor.WithTLS(srvCfg))
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.Addrs()[0].String(), cliCfg)
			require.NoError(t, err)
			defer c.Close()
			roundTrips(t, c)
			check(t, h, uring, true)
		})
		t.Run("proxy", func(t *testing.T) {
			h := &yielder{}
			e := start(t, h, "tcp://127.0.0.1:0?proxy=required", b,
				reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8"))))
			c := dial(t, e)
			defer c.Close()
			_, err := c.Write([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n"))
			require.NoError(t, err)
			roundTrips(t, c)
			check(t, h, uring, true)
		})
	})
}
