package reactor_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// verdictHandler echoes, and notes on its loop what it saw, in order.
type verdictHandler struct {
	reactor.BaseHandler
	mu      sync.Mutex
	events  []string
	dialErr chan error
}

func (h *verdictHandler) note(s string) {
	h.mu.Lock()
	h.events = append(h.events, s)
	h.mu.Unlock()
}

func (h *verdictHandler) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

func (h *verdictHandler) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	h.note("echo " + string(b))
	return reactor.None
}

func (h *verdictHandler) OnClose(_ conn.Conn, err error) {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		h.note("dial failed")
		h.dialErr <- err
	}
}

// TestTLSDialVerdictDoesNotBlockTheLoop: a TLS dial's raw conn closes
// while its handshake goroutine is still deciding (here, in
// VerifyConnection). The dial's OnClose waits for that verdict, but not on
// the loop: another dialed conn of the same (only) loop echoes meanwhile,
// and the
// verdict, which comes only after that echo, is the dial's cause. (A loop
// that blocked until the verdict came would see neither.)
func TestTLSDialVerdictDoesNotBlockTheLoop(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srvCfg, cli := tlsPair(t, "127.0.0.1")
			entered, release := make(chan struct{}), make(chan struct{})
			errRefused := errors.New("test: refused once the loop moved on")
			cli.VerifyConnection = func(tls.ConnectionState) error {
				close(entered)
				select {
				case <-release:
				case <-time.After(tlsBound):
				}
				return errRefused
			}
			h := &verdictHandler{dialErr: make(chan error, 1)}
			// The handshake's deadline, which also bounds the wait for its
			// verdict, is far off.
			opts := append([]reactor.Option{reactor.WithLoops(1), reactor.WithDialTLS(cli),
				reactor.WithTLSHandshakeTimeout(tlsBound, 0)}, b.opts...)
			e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, opts...)

			// The other conn is dialed too: gnet runs dialed conns on
			// loops of their own.
			echoLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer echoLn.Close()
			require.NoError(t, e.Dial("tcp", echoLn.Addr().String()))
			echoLn.(*net.TCPListener).SetDeadline(time.Now().Add(tlsBound))
			other, err := echoLn.Accept()
			require.NoError(t, err)
			defer other.Close()
			other.SetDeadline(time.Now().Add(tlsBound))
			roundTrip := func(s string) time.Duration {
				start := time.Now()
				_, err := other.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, s, string(readN(t, other, len(s))))
				return time.Since(start)
			}
			roundTrip("a")

			// A server that answers the ClientHello, then is closed
			// while the client verifies its certificate.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			served := make(chan net.Conn, 1)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := ln.Accept()
				if err != nil {
					close(served)
					return
				}
				served <- nc
				nc.SetDeadline(time.Now().Add(tlsBound))
				tls.Server(nc, srvCfg).Handshake()
			}()
			defer wg.Wait()
			require.NoError(t, e.Dial("tls", ln.Addr().String()))
			nc := <-served
			require.NotNil(t, nc)
			select {
			case <-entered:
			case <-time.After(tlsBound):
				t.Fatal("the client never verified")
			}
			closed := e.Stats().Closed
			nc.Close()
			// The dial's raw conn is closed (the count goes up before its
			// OnClose runs, on both backends).
			require.Eventually(t, func() bool { return e.Stats().Closed > closed }, tlsBound, time.Millisecond)

			took := roundTrip("b")
			t.Logf("round trip while the dial's verdict was due: %v", took)
			close(release)
			require.ErrorIs(t, waitErr(t, h.dialErr), errRefused, "the verdict is the dial's cause")
			require.Equal(t, []string{"echo a", "echo b", "dial failed"}, h.seen())
		})
	}
}

// TestTLSDialVerdictWaitEndsAtTheDeadline: a dial's raw conn closes while
// its VerifyConnection hangs. The wait for that verdict ends at the
// handshake's deadline: the dial is reported then, with the EOF as its
// cause, though the goroutine has not finished.
func TestTLSDialVerdictWaitEndsAtTheDeadline(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srvCfg, cli := tlsPair(t, "127.0.0.1")
			entered, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			cli.VerifyConnection = func(tls.ConnectionState) error {
				close(entered)
				<-release
				return errors.New("test: too late")
			}
			h := &verdictHandler{dialErr: make(chan error, 1)}
			const deadline = 300 * time.Millisecond
			opts := append([]reactor.Option{reactor.WithLoops(1), reactor.WithDialTLS(cli),
				reactor.WithTLSHandshakeTimeout(deadline, 0)}, b.opts...)
			e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, opts...)

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			served := make(chan net.Conn, 1)
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := ln.Accept()
				if err != nil {
					close(served)
					return
				}
				served <- nc
				nc.SetDeadline(time.Now().Add(tlsBound))
				tls.Server(nc, srvCfg).Handshake()
			}()
			start := time.Now()
			require.NoError(t, e.Dial("tls", ln.Addr().String()))
			nc := <-served
			require.NotNil(t, nc)
			select {
			case <-entered:
			case <-time.After(tlsBound):
				t.Fatal("the client never verified")
			}
			nc.Close()
			err = waitErr(t, h.dialErr)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the EOF, not the verdict still due")
			require.GreaterOrEqual(t, time.Since(start), deadline, "reported at the deadline, not before")
		})
	}
}
