package evloop_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// bulkWriter writes out in OnOpen under an idle timeout, and closes after
// the flush if closeAfter is set (as the chat room closes a member it
// disconnects).
type bulkWriter struct {
	reactor.BaseHandler
	out        []byte
	idle       time.Duration
	closeAfter bool
	closed     chan error
}

func (h *bulkWriter) OnOpen(c conn.Conn) reactor.Action {
	c.SetIdleTimeout(h.idle)
	c.Write(h.out)
	if h.closeAfter {
		return reactor.Close
	}
	return reactor.None
}

func (h *bulkWriter) OnClose(_ conn.Conn, err error) { h.closed <- err }

// TestIdleTimeoutCountsOutputThePeerTakes: output the peer reads is
// activity, so a peer that reads a large reply slowly, but steadily, is not
// cut off by an idle timeout shorter than the whole transfer; once it stops
// reading, the timeout ends the conn.
func TestIdleTimeoutCountsOutputThePeerTakes(t *testing.T) {
	const (
		idle  = 400 * time.Millisecond
		size  = 1 << 20
		chunk = 64 << 10
		pause = 50 * time.Millisecond // 16 chunks: about 0.8 s, two timeouts

	)
	out := bytes.Repeat([]byte("d"), size)
	for _, closeAfter := range []bool{false, true} {
		name := map[bool]string{false: "open", true: "closing"}[closeAfter]
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				h := &bulkWriter{out: out, idle: idle, closeAfter: closeAfter, closed: make(chan error, 1)}
				// Small kernel buffers, so that most of the reply waits in
				// the conn while the peer reads.
				e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithSocketBuffers(chunk, chunk), reactor.WithLogger(discardLogger()))
				c := dial(t, e)
				defer c.Close()
				require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
				got := 0
				buf := make([]byte, chunk)
				for got < size {
					n, err := io.ReadFull(c, buf[:min(chunk, size-got)])
					got += n
					if err != nil {
						require.FailNowf(t, "reply cut short", "%d of %d bytes: %v", got, size, err)
					}
					time.Sleep(pause) // a slow reader, not synchronization
				}
				var want error
				if closeAfter {
					// The server closes after the flush; the peer's end of
					// stream answers it.
					_, err := c.Read(buf)
					require.ErrorIs(t, err, io.EOF)
					c.Close()
				} else {
					want = reactor.ErrIdleTimeout
				}
				select {
				case err := <-h.closed:
					if want == nil {
						require.NoError(t, err)
					} else {
						require.True(t, errors.Is(err, want), "OnClose(%v), want %v", err, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no OnClose")
				}
			})
		})
	}
}

// TestIdleTimeoutIgnoresInputNotRead: input that arrives while the loop
// reads nothing from the conn (its output is past the high watermark, or it
// is closing and waits for its output to flush) is not activity: a peer
// that sends but never reads is cut off by the idle timeout.
func TestIdleTimeoutIgnoresInputNotRead(t *testing.T) {
	const idle = 300 * time.Millisecond
	out := bytes.Repeat([]byte("d"), 8<<20)
	for _, closeAfter := range []bool{false, true} {
		name := map[bool]string{false: "past-high", true: "closing"}[closeAfter]
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				h := &bulkWriter{out: out, idle: idle, closeAfter: closeAfter, closed: make(chan error, 1)}
				e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithSocketBuffers(64<<10, 64<<10), reactor.WithLogger(discardLogger()))
				c := dial(t, e)
				defer c.Close()
				tick := time.NewTicker(idle / 6)
				defer tick.Stop()
				deadline := time.After(10 * time.Second)
				for {
					select {
					case err := <-h.closed:
						require.True(t, errors.Is(err, reactor.ErrIdleTimeout), "OnClose(%v)", err)
						return
					case <-tick.C:
						c.SetWriteDeadline(time.Now().Add(time.Second))
						c.Write([]byte("x")) // fails once the server has closed
					case <-deadline:
						t.Fatal("a peer that sends and never reads was not cut off by the idle timeout")
					}
				}
			})
		})
	}
}

// consumeLater leaves input in OnTraffic and consumes it from an async
// write's callback on the loop (deferred processing).
type consumeLater struct {
	reactor.BaseHandler
	closed chan error
}

func (h consumeLater) OnTraffic(c conn.Conn) reactor.Action {
	c.AsyncWrite(nil, func(c conn.Conn, _ error) error { c.Discard(-1); return nil })
	return reactor.None
}

func (h consumeLater) OnClose(_ conn.Conn, err error) { h.closed <- err }

// Input consumed outside OnTraffic still counts as activity later: a conn
// that keeps sending never times out idle, and BytesIn counts every byte.
func TestDeferredConsumeKeepsTheConnActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := consumeLater{closed: make(chan error, 1)}
		e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithIdleTimeout(time.Second), reactor.WithLogger(discardLogger()))
		c := dial(t, e)
		defer c.Close()
		const sends = 15 // 1.5 s of traffic, past the idle timeout
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < sends; i++ {
			_, err := c.Write([]byte("x"))
			require.NoError(t, err)
			select {
			case err := <-h.closed:
				t.Fatalf("closed after %d sends, one per 100 ms: %v", i+1, err)
			case <-tick.C:
			}
		}
		// The last byte may still be on its way into the loop.
		require.Eventually(t, func() bool { return e.Stats().BytesIn == sends }, 5*time.Second, 5*time.Millisecond,
			"BytesIn never reached %d", sends)
	})
}

// idleFromOpen sets its conns' idle timeout from OnOpen: first a bad one,
// then an hour, then 50 ms, reporting what each call returned.
type idleFromOpen struct {
	*recorder
	set chan [3]error
}

func (h idleFromOpen) OnOpen(c conn.Conn) reactor.Action {
	h.set <- [3]error{c.SetIdleTimeout(-1), c.SetIdleTimeout(time.Hour), c.SetIdleTimeout(50 * time.Millisecond)}
	return h.recorder.OnOpen(c)
}

// SetIdleTimeout refuses a negative timeout, and the last one set rules.
func TestSetIdleTimeoutPerConn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := idleFromOpen{recorder: newRecorder(), set: make(chan [3]error, 1)}
		e := start(t, h, "tcp://127.0.0.1:0", b)
		start := time.Now() // before dial: the server may accept before Dial returns
		c := dial(t, e)
		defer c.Close()
		var errs [3]error
		select {
		case errs = <-h.set:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnOpen")
		}
		require.Error(t, errs[0], "SetIdleTimeout(-1)")
		require.NoError(t, errs[1])
		require.NoError(t, errs[2])
		require.ErrorIs(t, h.waitClose(t), reactor.ErrIdleTimeout)
		require.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF)
	})
}

// closeReport is one OnClose: the peer's address and the cause.
type closeReport struct {
	remote string
	err    error
}

// closeReporter reports which conn each OnClose is for.
type closeReporter struct {
	*recorder
	closes chan closeReport
}

func (h closeReporter) OnClose(c conn.Conn, err error) {
	h.closes <- closeReport{c.RemoteAddr().String(), err}
	h.recorder.OnClose(c, err)
}

// The idle timeout closes the conn that went quiet, once, and spares the
// one that keeps talking.
func TestIdleTimeoutSparesBusyConns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := closeReporter{recorder: newRecorder(), closes: make(chan closeReport, 4)}
		e := start(t, h, "tcp://127.0.0.1:0", b, reactor.WithIdleTimeout(150*time.Millisecond))
		busy := dial(t, e)
		defer busy.Close()
		idle := dial(t, e)
		defer idle.Close()
		// The busy conn talks every 20ms for well past the timeout; the idle
		// one must be closed meanwhile, the busy one not.
		done := time.Now().Add(600 * time.Millisecond)
		buf := make([]byte, 1)
		closedIdle := false
		for time.Now().Before(done) {
			busy.SetDeadline(time.Now().Add(5 * time.Second))
			_, err := busy.Write([]byte("b"))
			require.NoError(t, err)
			_, err = io.ReadFull(busy, buf)
			require.NoError(t, err)
			select {
			case ev := <-h.closes:
				require.Equal(t, idle.LocalAddr().String(), ev.remote, "only the idle conn closes")
				require.ErrorIs(t, ev.err, reactor.ErrIdleTimeout)
				require.False(t, closedIdle, "two conns closed")
				closedIdle = true
			case <-time.After(20 * time.Millisecond):
			}
		}
		require.True(t, closedIdle, "the idle conn was not closed")
		idle.SetReadDeadline(time.Now().Add(5 * time.Second))
		rest, err := io.ReadAll(idle)
		require.NoError(t, err)
		require.Empty(t, rest)
	})
}
