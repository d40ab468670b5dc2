package evloop_test

import (
	"crypto/tls"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// pausingSink pauses every conn as it opens; once resume is set, the next
// OnTraffic (a Wake's) resumes reading, and from then on it counts and
// drops what arrives.
type pausingSink struct {
	reactor.BaseHandler
	opened   chan conn.Conn
	resume   atomic.Bool
	received atomic.Int64
	early    atomic.Int64 // bytes seen by OnTraffic while paused
}

func (h *pausingSink) OnOpen(c conn.Conn) reactor.Action {
	p, ok := c.(conn.ReadPauser)
	if !ok {
		return reactor.Close
	}
	if err := p.PauseRead(); err != nil {
		return reactor.Close
	}
	h.opened <- c
	return reactor.None
}

func (h *pausingSink) OnTraffic(c conn.Conn) reactor.Action {
	if !h.resume.Load() {
		h.early.Add(int64(c.InboundBuffered()))
		return reactor.None
	}
	if err := c.(conn.ReadPauser).ResumeRead(); err != nil { // nothing to do once resumed
		return reactor.Close
	}
	n, _ := c.Discard(-1)
	h.received.Add(int64(n))
	return reactor.None
}

// TestPauseReadHoldsInput: a conn paused with conn.ReadPauser takes no
// input: the peer's writes fill the socket buffers and then block, and no
// OnTraffic reports input; ResumeRead takes it all in, not a byte lost.
// The TLS and PROXY layers pass the pause on. gnet cannot pause reading
// (docs/backends.md).
func TestPauseReadHoldsInput(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}
	forEachBackend(t, func(t *testing.T, b backend) {
		if strings.HasPrefix(b.name, "gnet") {
			t.Skip("gnet reads whatever arrives: its conns are no conn.ReadPauser (docs/backends.md)")
		}
		for _, scheme := range []string{"tcp", "tls"} {
			t.Run(scheme, func(t *testing.T) {
				h := &pausingSink{opened: make(chan conn.Conn, 1)}
				e := start(t, h, scheme+"://127.0.0.1:0", b, reactor.WithSocketBuffers(64<<10, 64<<10),
					reactor.WithTLS(srvCfg), reactor.WithLogger(discardLogger()))
				raw := dial(t, e)
				defer raw.Close()
				raw.(*net.TCPConn).SetWriteBuffer(64 << 10)
				c := raw
				if scheme == "tls" {
					tc := tls.Client(raw, cliCfg)
					tc.SetDeadline(time.Now().Add(10 * time.Second))
					require.NoError(t, tc.Handshake())
					tc.SetDeadline(time.Time{})
					c = tc
				}
				var sc conn.Conn
				select {
				case sc = <-h.opened:
				case <-time.After(10 * time.Second):
					t.Fatal("no OnOpen")
				}

				const total = 8 << 20
				payload := make([]byte, total)
				c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				n, err := c.Write(payload)
				require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the peer's write never blocked: the paused conn kept reading")
				require.Less(t, n, total)
				require.Less(t, e.Stats().BytesIn, int64(2<<20), "the server took far more than its socket buffers hold")
				require.Zero(t, h.early.Load(), "OnTraffic reported input while paused")
				if scheme == "tls" {
					return // a TLS conn whose write timed out is broken: the rest cannot follow
				}

				h.resume.Store(true)
				require.NoError(t, sc.Wake())
				c.SetWriteDeadline(time.Now().Add(20 * time.Second))
				_, err = c.Write(payload[n:])
				require.NoError(t, err)
				require.Eventually(t, func() bool { return h.received.Load() == total }, 20*time.Second, 5*time.Millisecond,
					"received %d of %d bytes after ResumeRead", h.received.Load(), int64(total))
			})
		}
	})
}
