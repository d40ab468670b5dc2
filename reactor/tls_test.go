package reactor_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/reactor"
)

// tlsEchoBytes is how much each conn of the echo test sends: 16 MiB, less
// under the race detector, which slows every copy tenfold.
func tlsEchoBytes() int {
	if raceEnabled {
		return 1 << 20
	}
	return 16 << 20
}

func TestTLSEchoManyConns(t *testing.T) {
	const conns = 50
	size := tlsEchoBytes()
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{HandshakeTimeout: tlsBound}, b.opts...)
			var wg, shaken sync.WaitGroup
			shaken.Add(conns)
			errs := make(chan error, conns)
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- echoOnce(addr, cli, size, byte(i), &shaken)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Logf("stats %+v; server closes:", layer.Stats())
					for len(h.closed) > 0 {
						t.Log(<-h.closed)
					}
				}
				require.NoError(t, err)
			}
			for range conns {
				require.NoError(t, h.closeErr(t), "a client's close_notify is a clean EOF")
			}
			st := layer.Stats()
			require.Equal(t, int64(conns), st.Handshakes)
			require.Zero(t, st.HandshakeFailures)
			require.Zero(t, st.HandshakesInProgress)
		})
	}
}

// echoOnce sends size bytes over one TLS conn while reading the echo, and
// checks every byte. It streams once every conn's handshake is done
// (shaken): on two loaded cores, conns streaming at full speed would
// otherwise leave the handshake goroutines of the others little CPU.
func echoOnce(addr string, cfg *tls.Config, size int, seed byte, shaken *sync.WaitGroup) error {
	nc, err := net.DialTimeout("tcp", addr, tlsBound)
	if err != nil {
		shaken.Done()
		return err
	}
	c := tls.Client(nc, cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(4 * tlsBound))
	err = c.Handshake()
	shaken.Done()
	if err != nil {
		return err
	}
	shaken.Wait()
	want := make([]byte, size)
	for i := range want {
		want[i] = seed + byte(i*7+i>>9)
	}
	werr := make(chan error, 1)
	go func() {
		for off := 0; off < size; {
			n := min(size-off, 48<<10)
			if _, err := c.Write(want[off : off+n]); err != nil {
				werr <- err
				return
			}
			off += n
		}
		werr <- nil
	}()
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("echo differs")
	}
	return c.CloseWrite()
}

func TestTLSALPNAndSNISeenByHandler(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "api.example.test")
			srv.NextProtos = []string{"h2", "evloop/1"}
			cli.NextProtos = []string{"evloop/1"}
			h := newTLSEcho()
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)
			c := dialTLS(t, addr, cli)
			c.Write([]byte("ping"))
			require.Equal(t, "ping", string(readN(t, c, 4)))
			c.Close()
			h.closeErr(t)
			h.mu.Lock()
			st := h.states[0]
			h.mu.Unlock()
			require.Equal(t, "evloop/1", st.NegotiatedProtocol)
			require.Equal(t, "api.example.test", st.ServerName)
			require.Equal(t, uint16(tls.VersionTLS13), st.Version)
			require.True(t, st.HandshakeComplete)
		})
	}
}

// tlsDialer is the next handler of a client layer: it greets, collects the
// echo and reports how the dial ended.
type tlsDialer struct {
	reactor.BaseHandler
	opened chan tls.ConnectionState
	got    chan string
	closed chan error
}

func newTLSDialer() *tlsDialer {
	return &tlsDialer{opened: make(chan tls.ConnectionState, 1), got: make(chan string, 1), closed: make(chan error, 1)}
}

func (d *tlsDialer) OnOpen(c conn.Conn) reactor.Action {
	d.opened <- c.(reactor.TLSConn).ConnectionState()
	c.Write([]byte("hello"))
	return reactor.None
}

func (d *tlsDialer) OnTraffic(c conn.Conn) reactor.Action {
	if c.InboundBuffered() < 5 {
		return reactor.None
	}
	b, _ := c.Next(5)
	d.got <- string(b)
	return reactor.Close
}

func (d *tlsDialer) OnClose(c conn.Conn, err error) { d.closed <- err }

func TestTLSDialVerifiesTheServer(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "good.example.test")
			h := newTLSEcho()
			server, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)

			t.Run("match", func(t *testing.T) {
				d := newTLSDialer()
				client := reactor.NewTLSClient(d, cli, "good.example.test", reactor.TLSOptions{Logger: quietLog})
				e := tpStart(t, client, []string{"tcp://127.0.0.1:0"}, b.opts...)
				require.NoError(t, e.Dial("tcp", addr))
				select {
				case st := <-d.opened:
					require.Equal(t, "good.example.test", st.ServerName)
				case <-time.After(tlsBound):
					t.Fatal("no OnOpen")
				}
				require.Equal(t, "hello", <-d.got)
				require.NoError(t, waitErr(t, d.closed))
				require.NoError(t, h.closeErr(t), "the dialer's close_notify reached the server")
				require.Equal(t, int64(1), client.Stats().Handshakes)
			})

			t.Run("mismatch", func(t *testing.T) {
				d := newTLSDialer()
				client := reactor.NewTLSClient(d, cli, "evil.example.test", reactor.TLSOptions{Logger: quietLog})
				e := tpStart(t, client, []string{"tcp://127.0.0.1:0"}, b.opts...)
				require.NoError(t, e.Dial("tcp", addr))
				err := waitErr(t, d.closed)
				var cve *tls.CertificateVerificationError
				require.ErrorAs(t, err, &cve)
				var host x509.HostnameError
				require.ErrorAs(t, err, &host)
				var op *net.OpError
				require.ErrorAs(t, err, &op)
				require.Equal(t, "dial", op.Op)
				require.Empty(t, d.opened, "OnOpen ran for a failed handshake")
				require.Equal(t, int64(1), client.Stats().HandshakeFailures)
				// The server saw the client's alert: a failure it counts, and no conn.
				require.Eventually(t, func() bool { return server.Stats().HandshakeFailures == 1 }, tlsBound, 5*time.Millisecond)
				require.Empty(t, h.closed)
			})

			t.Run("refused", func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				dead := ln.Addr().String()
				ln.Close()
				d := newTLSDialer()
				client := reactor.NewTLSClient(d, cli, "good.example.test", reactor.TLSOptions{Logger: quietLog})
				e := tpStart(t, client, []string{"tcp://127.0.0.1:0"}, b.opts...)
				require.NoError(t, e.Dial("tcp", dead))
				require.Error(t, waitErr(t, d.closed))
				require.Empty(t, d.opened)
			})
		})
	}
}

func waitErr(t testing.TB, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(tlsBound):
		t.Fatal("timed out")
	}
	return nil
}

// baseline notes fds and goroutines now; check verifies both came back.
func baseline(t *testing.T) (check func()) {
	fds := fdtest.Open(t)
	ignore := goleak.IgnoreCurrent()
	return func() {
		t.Helper()
		require.Eventually(t, func() bool { return fdtest.Open(t) <= fds }, tlsBound, 10*time.Millisecond, "fds leaked")
		goleak.VerifyNone(t, ignore)
	}
}

func TestTLSBadHandshakesLeaveNothingBehind(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Cleanup(baseline(t)) // runs after the engine's Stop: cleanups run last first
			srv, _ := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{HandshakeTimeout: 300 * time.Millisecond}, b.opts...)

			// Garbage instead of a ClientHello: an alert, then EOF.
			garbage, err := net.DialTimeout("tcp", addr, tlsBound)
			require.NoError(t, err)
			garbage.SetDeadline(time.Now().Add(tlsBound))
			garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			_, err = io.ReadAll(garbage)
			require.NoError(t, err, "the server closes cleanly")
			garbage.Close()

			// A client that stalls mid-handshake: closed by the timeout.
			stall, err := net.DialTimeout("tcp", addr, tlsBound)
			require.NoError(t, err)
			stall.SetDeadline(time.Now().Add(tlsBound))
			stall.Write([]byte{22, 3, 1, 0, 200, 1}) // a ClientHello's first bytes
			start := time.Now()
			io.ReadAll(stall)
			require.Less(t, time.Since(start), 10*time.Second)
			stall.Close()

			require.Eventually(t, func() bool { return layer.Stats().HandshakeFailures == 2 }, tlsBound, 5*time.Millisecond)
			st := layer.Stats()
			require.Zero(t, st.Handshakes)
			require.Zero(t, st.HandshakesInProgress)
			require.Zero(t, h.openCount(), "OnOpen for a failed handshake")
			require.Empty(t, h.closed, "OnClose for a failed handshake")
			// A good client still gets through.
			_, cli := tlsPair(t, "127.0.0.1")
			cli.InsecureSkipVerify = true
			c := dialTLS(t, addr, cli)
			c.Write([]byte("ok"))
			require.Equal(t, "ok", string(readN(t, c, 2)))
			c.Close()
			require.NoError(t, h.closeErr(t))
		})
	}
}

func TestTLSManyHandshakesAtOnce(t *testing.T) {
	n := 2000
	if raceEnabled {
		n = 300
	}
	fdtest.RaiseNoFile(t, uint64(2*n+256))
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			check := baseline(t)
			t.Cleanup(check)
			srv, cli := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			// No first-byte deadline: so many clients starting at once
			// (under the race detector) may take seconds to send a
			// ClientHello. No per-source cap: they all come from one
			// address, and its default (a quarter of MaxHandshakes) is
			// below n.
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{HandshakeTimeout: tlsBound, HandshakeFirstByteTimeout: -1, MaxHandshakesPerSource: -1},
				append([]reactor.Option{reactor.WithMaxConns(0)}, b.opts...)...)
			var wg sync.WaitGroup
			var failed atomic.Int64
			var firstErr atomic.Value
			start := make(chan struct{})
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := func() error {
						nc, err := net.DialTimeout("tcp", addr, tlsBound)
						if err != nil {
							return err
						}
						c := tls.Client(nc, cli)
						defer c.Close()
						c.SetDeadline(time.Now().Add(tlsBound))
						if _, err := c.Write([]byte("x")); err != nil {
							return err
						}
						_, err = io.ReadFull(c, make([]byte, 1))
						return err
					}()
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			require.Zero(t, failed.Load(), "%v", firstErr.Load())
			require.Eventually(t, func() bool { return layer.Stats().HandshakesInProgress == 0 }, tlsBound, 5*time.Millisecond)
			require.Equal(t, int64(n), layer.Stats().Handshakes)
			for range n {
				h.closeErr(t)
			}
		})
	}
}

func TestTLSHandshakeCapRejectsExcess(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{MaxHandshakes: 1}, b.opts...)
			stall, err := net.DialTimeout("tcp", addr, tlsBound)
			require.NoError(t, err)
			defer stall.Close()
			require.Eventually(t, func() bool { return layer.Stats().HandshakesInProgress == 1 }, tlsBound, time.Millisecond)
			nc, err := net.DialTimeout("tcp", addr, tlsBound)
			require.NoError(t, err)
			c := tls.Client(nc, cli)
			c.SetDeadline(time.Now().Add(tlsBound))
			require.Error(t, c.Handshake(), "a handshake over the cap")
			c.Close()
			require.Equal(t, int64(1), layer.Stats().HandshakesRejected)
			stall.Close()
			require.Eventually(t, func() bool { return layer.Stats().HandshakesInProgress == 0 }, tlsBound, time.Millisecond)
			// Room again.
			c = dialTLS(t, addr, cli)
			c.Close()
		})
	}
}

// drainEcho is an echo that counts OnDrained.
type drainEcho struct {
	*tlsEcho
	drained atomic.Int64
	maxOut  atomic.Int64
}

func (h *drainEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	if out := int64(c.OutboundBuffered()); out > h.maxOut.Load() {
		h.maxOut.Store(out)
	}
	return reactor.None
}

func (h *drainEcho) OnDrained(conn.Conn) reactor.Action {
	h.drained.Add(1)
	return reactor.None
}

// A TLS peer that sends and never reads is held like a plaintext one: the
// echo's ciphertext stays near the high watermark. The native backend then
// stops reading, so the peer's writes block; gnet reads on, so the inbound
// limit closes the conn instead (see gnetbackend's TestWatermarksHoldInputBack).
func TestTLSWatermarksHoldAStalledReader(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			h := &drainEcho{tlsEcho: newTLSEcho()}
			const low, high = 64 << 10, 256 << 10
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{WriteHigh: high}, append([]reactor.Option{
				reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10),
				reactor.WithMaxInbound(8 << 20)}, b.opts...)...)
			c := dialTLS(t, addr, cli)
			defer c.Close()
			chunk := make([]byte, 16<<10)
			wrote := 0
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			var werr error
			for wrote < 64<<20 && werr == nil {
				var n int
				n, werr = c.Write(chunk)
				wrote += n
			}
			require.Error(t, werr, "the server kept reading from a TLS peer that never reads")
			// Ciphertext is what is held: about high, plus what one read
			// brought in (and its record overhead) before reading paused.
			require.LessOrEqual(t, h.maxOut.Load(), int64(high+reactor.DefaultReadBufferSize+8<<10))
			var ne net.Error
			if errors.As(werr, &ne) && ne.Timeout() {
				c.SetReadDeadline(time.Now().Add(tlsBound))
				go io.Copy(io.Discard, c)
				require.Eventually(t, func() bool { return h.drained.Load() > 0 }, tlsBound, 5*time.Millisecond, "OnDrained not called")
				return
			}
			require.Equal(t, "gnet", b.name, "native stops reading: %v", werr)
			require.ErrorIs(t, h.closeErr(t), conn.ErrInboundTooLarge)
		})
	}
}

// asyncGreeter writes from another goroutine: two async writes, then Close.
type asyncGreeter struct {
	reactor.BaseHandler
	doneConn chan conn.Conn
}

func (h *asyncGreeter) OnOpen(c conn.Conn) reactor.Action {
	go func() {
		c.AsyncWrite([]byte("first,"), func(cc conn.Conn, err error) error {
			if err == nil {
				h.doneConn <- cc
			}
			return nil
		})
		c.AsyncWritev([][]byte{[]byte("sec"), []byte("ond")}, nil)
		c.Close()
	}()
	return reactor.None
}

func TestTLSAsyncWritesThenCloseInOrder(t *testing.T) {
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, cli := tlsPair(t, "127.0.0.1")
			cli.MaxVersion = tls.VersionTLS12
			h := &asyncGreeter{doneConn: make(chan conn.Conn, 1)}
			_, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)
			c, rc := dialRecorded(t, addr, cli)
			defer c.Close()
			got, err := io.ReadAll(c)
			require.NoError(t, err)
			require.Equal(t, "first,second", string(got))
			types := rc.recordTypes()
			require.Equal(t, byte(alertRecord), types[len(types)-1], "close_notify after the async writes")
			select {
			case cc := <-h.doneConn:
				_, ok := cc.(reactor.TLSConn)
				require.True(t, ok, "the done callback gets the TLS conn")
			case <-time.After(tlsBound):
				t.Fatal("done not called")
			}
		})
	}
}
