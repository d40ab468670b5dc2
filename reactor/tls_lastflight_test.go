package reactor_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// heldConn holds back every write after the first (the ClientHello) until
// release, which sends them all in one write: the client's last handshake
// flight, its data and its close_notify then reach the server together.
type heldConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (h *heldConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	if h.writes == 1 {
		return h.Conn.Write(p)
	}
	h.held = append(h.held, p...)
	return len(p), nil
}

func (h *heldConn) release() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	// crypto/tls's CloseWrite leaves the write deadline at now.
	h.Conn.SetWriteDeadline(time.Time{})
	_, err := h.Conn.Write(h.held)
	return err
}

// collector keeps what each conn sent, by conn, and reports each close.
type collector struct {
	reactor.BaseHandler
	mu     sync.Mutex
	got    map[conn.Conn][]byte
	closed chan closedWith
}

type closedWith struct {
	got []byte
	err error
}

func (h *collector) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	h.mu.Lock()
	h.got[c] = append(h.got[c], b...)
	h.mu.Unlock()
	return reactor.None
}

func (h *collector) OnClose(c conn.Conn, err error) {
	h.mu.Lock()
	b := h.got[c]
	delete(h.got, c)
	h.mu.Unlock()
	h.closed <- closedWith{b, err}
}

// A client whose last handshake flight, first data and close_notify arrive
// with its FIN (a client that sends one message and hangs up, TLS 1.3's
// Finished followed at once by data): the server completes the handshake
// with what it received, and the handler gets the data, as a plaintext
// conn's handler gets the input that came with the peer's FIN.
func TestTLSDataWithTheLastFlightAndFINIsDelivered(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := &collector{got: map[conn.Conn][]byte{}, closed: make(chan closedWith, 64)}
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)
			const n = 20
			for i := range n {
				nc, err := net.DialTimeout("tcp", addr, tlsBound)
				require.NoError(t, err)
				hc := &heldConn{Conn: nc}
				c := tls.Client(hc, cli)
				c.SetDeadline(time.Now().Add(tlsBound))
				require.NoError(t, c.Handshake())
				_, err = fmt.Fprintf(c, "message %d", i)
				require.NoError(t, err)
				require.NoError(t, c.CloseWrite()) // close_notify, held too
				require.NoError(t, hc.release())
				require.NoError(t, nc.(*net.TCPConn).CloseWrite())
				select {
				case cw := <-h.closed:
					require.Equal(t, fmt.Sprintf("message %d", i), string(cw.got), "conn %d", i)
					require.NoError(t, cw.err, "conn %d: its close_notify came", i)
				case <-time.After(5 * time.Second):
					t.Fatalf("conn %d: no OnClose (handshake failures: %d)", i, layer.Stats().HandshakeFailures)
				}
				nc.Close()
			}
			require.Zero(t, layer.Stats().HandshakeFailures)
		})
	}
}
