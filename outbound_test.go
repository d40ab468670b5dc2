package evloop_test

// The outbound bound (WithMaxOutbound), on every backend: a conn whose
// peer does not read its output is closed with conn.ErrOutboundTooLarge
// once a write would buffer more than the bound, for plaintext and TLS
// ciphertext alike, and Stats counts it.

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
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// replier answers each conn's first byte with writes of its own choosing and
// reports what they returned and the conn's OnClose cause.
type replier struct {
	reactor.BaseHandler
	reply func(c conn.Conn) []error // the writes' errors
	mu    sync.Mutex
	errs  []error
	done  chan error // OnClose causes
}

func newReplier(reply func(c conn.Conn) []error) *replier {
	return &replier{reply: reply, done: make(chan error, 16)}
}

func (h *replier) OnTraffic(c conn.Conn) reactor.Action {
	c.Discard(-1)
	errs := h.reply(c)
	h.mu.Lock()
	h.errs = append(h.errs, errs...)
	h.mu.Unlock()
	return reactor.None
}

func (h *replier) OnClose(_ conn.Conn, err error) { h.done <- err }

func (h *replier) writeErrs() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

// outboundLimit is the bound these tests set; small kernel buffers on both
// ends keep what the kernel takes well below it.
const outboundLimit = 1 << 20

func outboundOpts() []reactor.Option {
	return []reactor.Option{reactor.WithMaxOutbound(outboundLimit), reactor.WithSocketBuffers(64<<10, 64<<10), reactor.WithLogger(discardLogger())}
}

// dialNonReader opens a conn with a small receive buffer, sends one byte and
// never reads.
func dialNonReader(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(16<<10))
	_, err = c.Write([]byte("?"))
	require.NoError(t, err)
	return c
}

// One reply far past the bound, to a peer that does not read: the write
// fails with ErrOutboundTooLarge, OnClose gets it, and Stats counts it.
func TestMaxOutboundClosesOnOneHugeReply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newReplier(func(c conn.Conn) []error {
			_, err := c.Write(make([]byte, 16<<20))
			return []error{err}
		})
		e := start(t, h, "tcp://127.0.0.1:0", b, outboundOpts()...)
		c := dialNonReader(t, e.Addrs()[0].String())
		defer c.Close()
		require.ErrorIs(t, recvErr(t, h.done), conn.ErrOutboundTooLarge)
		errs := h.writeErrs()
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], conn.ErrOutboundTooLarge)
		require.EqualValues(t, 1, e.Stats().OutboundOverflows)
		require.Equal(t, 0, e.Conns())
	})
}

// Small writes that pile up (a handler that does not heed
// OutboundBuffered) are cut off at the bound: the writes after the one
// that would pass it fail too, and far fewer than all of them got through.
func TestMaxOutboundClosesOnPiledUpWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const chunk, chunks = 16 << 10, 1024 // 16 MiB in all
		h := newReplier(func(c conn.Conn) []error {
			var errs []error
			for i := 0; i < chunks; i++ {
				_, err := c.Writev([][]byte{make([]byte, chunk/2), make([]byte, chunk/2)})
				errs = append(errs, err)
			}
			return errs
		})
		e := start(t, h, "tcp://127.0.0.1:0", b, outboundOpts()...)
		c := dialNonReader(t, e.Addrs()[0].String())
		defer c.Close()
		require.ErrorIs(t, recvErr(t, h.done), conn.ErrOutboundTooLarge)
		ok := 0
		for i, err := range h.writeErrs() {
			if err == nil {
				require.Equal(t, ok, i, "a write succeeded after one failed")
				ok++
				continue
			}
			require.ErrorIs(t, err, conn.ErrOutboundTooLarge, "write %d", i)
		}
		require.Less(t, ok*chunk, 4*outboundLimit, "writes accepted before the bound")
		require.EqualValues(t, 1, e.Stats().OutboundOverflows)
	})
}

// Async writes from another goroutine, which nothing slows down, are
// bounded the same way; their callbacks hear of it.
func TestMaxOutboundBoundsAsyncWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var async sync.WaitGroup
		asyncErrs := make(chan error, 1024)
		h := newReplier(func(c conn.Conn) []error {
			async.Add(1)
			go func() {
				defer async.Done()
				for i := 0; i < 256; i++ { // 16 MiB in all
					err := c.AsyncWrite(make([]byte, 64<<10), func(_ conn.Conn, err error) error {
						asyncErrs <- err
						return nil
					})
					if err != nil {
						return // closed: later ones are refused at once
					}
				}
			}()
			return nil
		})
		e := start(t, h, "tcp://127.0.0.1:0", b, outboundOpts()...)
		c := dialNonReader(t, e.Addrs()[0].String())
		defer c.Close()
		require.ErrorIs(t, recvErr(t, h.done), conn.ErrOutboundTooLarge)
		async.Wait()
		sawOverflow := false
		for len(asyncErrs) > 0 {
			if err := <-asyncErrs; errors.Is(err, conn.ErrOutboundTooLarge) {
				sawOverflow = true
			}
		}
		require.True(t, sawOverflow, "an async write's callback got ErrOutboundTooLarge")
		require.EqualValues(t, 1, e.Stats().OutboundOverflows)
	})
}

// Output up to the bound is kept, and reaches a peer that reads it late.
func TestMaxOutboundKeepsOutputAtTheBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newReplier(func(c conn.Conn) []error {
			_, err := c.Write(make([]byte, outboundLimit))
			return []error{err}
		})
		e := start(t, h, "tcp://127.0.0.1:0", b, outboundOpts()...)
		c := dialNonReader(t, e.Addrs()[0].String())
		defer c.Close()
		// Read only once the write is done and buffered.
		deadline := time.Now().Add(10 * time.Second)
		for len(h.writeErrs()) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		require.Equal(t, []error{nil}, h.writeErrs())
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.ReadFull(c, make([]byte, outboundLimit))
		require.NoError(t, err)
		require.Equal(t, outboundLimit, n)
		require.Zero(t, e.Stats().OutboundOverflows)
		require.Equal(t, 1, e.Conns())
	})
}

// On a tls:// listener the bound holds the ciphertext: a plaintext reply
// past it closes the conn, as for plaintext conns.
func TestMaxOutboundBoundsTLSCiphertext(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliCfg := &tls.Config{RootCAs: selfsigned.Pool(cert), ServerName: "localhost"}
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newReplier(func(c conn.Conn) []error {
			_, err := c.Write(make([]byte, 16<<20))
			return []error{err}
		})
		e := start(t, h, "tls://127.0.0.1:0", b, append(outboundOpts(), reactor.WithTLS(srvCfg))...)
		raw, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
		require.NoError(t, err)
		defer raw.Close()
		require.NoError(t, raw.(*net.TCPConn).SetReadBuffer(16<<10))
		c := tls.Client(raw, cliCfg)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		require.NoError(t, c.Handshake())
		_, err = c.Write([]byte("?"))
		require.NoError(t, err)
		require.ErrorIs(t, recvErr(t, h.done), conn.ErrOutboundTooLarge)
		errs := h.writeErrs()
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], conn.ErrOutboundTooLarge)
		require.EqualValues(t, 1, e.Stats().OutboundOverflows)
	})
}

// recvErr waits (bounded) for an error on ch.
func recvErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for OnClose")
	}
	return nil
}
