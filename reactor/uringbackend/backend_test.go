//go:build linux

package uringbackend_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func start(t *testing.T, h reactor.Handler, addr string, opts ...reactor.Option) reactor.Engine {
	t.Helper()
	e, err := reactor.Start(h, []string{addr}, append([]reactor.Option{reactor.WithBackend(uringbackend.New()), reactor.WithLoops(1)}, opts...)...)
	if errors.Is(err, ring.ErrUnavailable) {
		t.Skipf("io_uring unavailable: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, e.Stop(ctx))
	})
	return e
}

// Where io_uring cannot be set up (old kernel, seccomp, the sysctl), Start
// fails with ErrUnsupported saying why, and binds nothing.
func TestStartWithoutIoUringIsUnsupported(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		restore := uringbackend.SetProbe(func() error {
			return fmt.Errorf("%w: io_uring_setup: %v", ring.ErrUnavailable, errno)
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		_, err = reactor.Start(echo{}, []string{"tcp://" + addr}, reactor.WithBackend(uringbackend.New()))
		restore()
		require.ErrorIs(t, err, reactor.ErrUnsupported)
		require.ErrorIs(t, err, ring.ErrUnavailable)
		require.ErrorContains(t, err, errno.Error())
		// Nothing was bound: the address is free.
		ln, err = net.Listen("tcp", addr)
		require.NoError(t, err, "a failed Start left the address bound")
		ln.Close()
	}
}

func TestUnsupportedOptionsAndAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		opts []reactor.Option
		want string
	}{
		{"tcp://127.0.0.1:0", []reactor.Option{reactor.WithPoller(poller.Epoll)}, "WithPoller"},
	} {
		_, err := reactor.Start(echo{}, []string{tc.addr}, append([]reactor.Option{reactor.WithBackend(uringbackend.New())}, tc.opts...)...)
		require.ErrorIs(t, err, reactor.ErrUnsupported, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
}

// A payload far larger than the socket buffers goes out in many sends, each
// continuing where the kernel stopped, in order, while the peer reads
// slowly; the conn's input meanwhile keeps arriving in provided buffers.
func TestPartialSendsContinueInOrder(t *testing.T) {
	payload := make([]byte, 8<<20)
	rand.Read(payload)
	h := &sendOnOpen{p: payload}
	e := start(t, h, "tcp://127.0.0.1:0", reactor.WithSocketBuffers(32<<10, 32<<10), reactor.WithWriteWatermarks(0, 0))
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, len(payload))
	for off := 0; off < len(got); {
		n, err := c.Read(got[off:min(off+64<<10, len(got))])
		require.NoError(t, err)
		off += n
	}
	require.True(t, bytes.Equal(payload, got), "bytes out of order or lost")
	require.Greater(t, e.Stats().WriteEAGAIN, int64(0), "the kernel never took a send in part: the test proves nothing")
	// The conn's output is all gone now; the conn echoes.
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))
}

type sendOnOpen struct {
	echo
	p []byte
}

func (h *sendOnOpen) OnOpen(c conn.Conn) reactor.Action {
	c.Write(h.p)
	return reactor.None
}

// Many pipelined messages on many conns are echoed whole; the loop wakes
// fewer times than there are messages (receives and sends batched per
// io_uring_enter).
func TestEchoBatchesPerWakeup(t *testing.T) {
	e := start(t, echo{}, "tcp://127.0.0.1:0")
	const conns, msgs = 20, 200
	var cs []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", e.Addrs()[0].String())
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		cs = append(cs, c)
	}
	msg := bytes.Repeat([]byte("m"), 64)
	for r := 0; r < msgs; r++ {
		for _, c := range cs {
			_, err := c.Write(msg)
			require.NoError(t, err)
		}
		for _, c := range cs {
			_, err := io.ReadFull(c, make([]byte, len(msg)))
			require.NoError(t, err)
		}
	}
	// The client can hold the last bytes before the loop has reaped the
	// completions of their sends, which is when BytesOut counts them.
	want := int64(conns * msgs * len(msg))
	require.Eventually(t, func() bool { return e.Stats().BytesOut == want }, 10*time.Second, time.Millisecond,
		"BytesOut never reached %d", want)
	s := e.Stats()
	require.Less(t, s.Wakeups, int64(conns*msgs), "one wakeup per message or more: nothing batched")
	t.Logf("%d messages, %d wakeups", conns*msgs, s.Wakeups)
}

// Wake and AsyncWrite from other goroutines reach the loop through the
// eventfd read kept in the ring.
func TestAsyncWriteFromOtherGoroutines(t *testing.T) {
	opened := make(chan conn.Conn, 1)
	h := &notify{opened: opened}
	e := start(t, h, "tcp://127.0.0.1:0")
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var sc conn.Conn
	select {
	case sc = <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("no OnOpen")
	}
	const n = 100
	done := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			done <- sc.AsyncWrite([]byte("a"), nil)
		}()
	}
	for i := 0; i < n; i++ {
		require.NoError(t, <-done)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte("a"), n), buf)
}

type notify struct {
	echo
	opened chan conn.Conn
}

func (h *notify) OnOpen(c conn.Conn) reactor.Action {
	h.opened <- c
	return reactor.None
}

// An echo allocates nothing per message in steady state, for small
// messages and for messages the size of a TLS record: output buffers come
// back to the loop's pool once sent.
func TestEchoAllocatesNothingPerMessage(t *testing.T) {
	for _, size := range []int{64, 16 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := start(t, echo{}, "tcp://127.0.0.1:0")
			c, err := net.Dial("tcp", e.Addrs()[0].String())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
			msg := bytes.Repeat([]byte("e"), size)
			got := make([]byte, size)
			echoOnce := func() {
				_, err := c.Write(msg)
				require.NoError(t, err)
				_, err = io.ReadFull(c, got)
				require.NoError(t, err)
			}
			for i := 0; i < 20; i++ {
				echoOnce()
			}
			allocs := testing.AllocsPerRun(200, echoOnce)
			t.Logf("allocations per %d-byte echo, client and server: %.2f", size, allocs)
			if !raceOn {
				// The client's Write and Read allocate nothing either;
				// what is left is the runtime's own now and then.
				require.Less(t, allocs, 0.5)
			}
		})
	}
}

// sizeEcho echoes and reports how many bytes each OnTraffic saw.
type sizeEcho struct {
	reactor.BaseHandler
	sizes chan int
}

func (h sizeEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	if string(b) == "stream" {
		// 96 KiB of output: past 64 KiB the conn counts as streaming, and
		// its receives take one buffer each from then on.
		c.Write(bytes.Repeat([]byte("s"), 96<<10))
		return reactor.None
	}
	h.sizes <- len(b)
	c.Write(b)
	return reactor.None
}

// A message longer than what is left of its provided buffer reaches
// OnTraffic whole, as native's one read gives it, not cut at the buffer's
// end: handled in two calls it went out in two sends, and the second,
// small one waited for the peer's delayed ACK (40 ms). Both ways: a conn's
// multishot receive, and receives of one buffer once it has streamed.
func TestMessageCutByItsBufferArrivesWhole(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("streamed=%v", streamed), func(t *testing.T) {
			h := sizeEcho{sizes: make(chan int, 64)}
			e := start(t, h, "tcp://127.0.0.1:0", reactor.WithReadBufferSize(512))
			c, err := net.Dial("tcp", e.Addrs()[0].String())
			require.NoError(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if streamed {
				_, err := c.Write([]byte("stream"))
				require.NoError(t, err)
				_, err = io.ReadFull(c, make([]byte, 96<<10))
				require.NoError(t, err)
			}
			msg := bytes.Repeat([]byte("0123456789"), 30) // 300 bytes: the second crosses a 512-byte buffer's end
			got := make([]byte, len(msg))
			for i := range 8 {
				_, err := c.Write(msg)
				require.NoError(t, err)
				_, err = io.ReadFull(c, got)
				require.NoError(t, err)
				require.Equal(t, len(msg), <-h.sizes, "round trip %d: OnTraffic saw the message in pieces", i)
			}
		})
	}
}
