//go:build linux

package fdconn

import (
	"bytes"
	"errors"
	"github.com/evloop/evloop/conn"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeOwner records what a conn asks of its loop.
type fakeOwner struct {
	interest map[int][2]bool
	tasks    []func()
	closed   []error
	woken    int
	idle     int
}

func (o *fakeOwner) SetInterest(fd int, read, write bool) error {
	o.interest[fd] = [2]bool{read, write}
	return nil
}
func (o *fakeOwner) Post(task func()) error     { o.tasks = append(o.tasks, task); return nil }
func (o *fakeOwner) CloseConn(c *FD, err error) { o.closed = append(o.closed, err) }
func (o *fakeOwner) TrafficConn(c *FD)          { o.woken++ }
func (o *fakeOwner) ArmIdle(*FD, int64, uint8)  { o.idle++ }
func (o *fakeOwner) ForgetFd(fd int)            { delete(o.interest, fd) }
func (o *fakeOwner) AsyncDone(c *FD, done conn.AsyncCallback, err error) {
	done(c, err)
}

func (o *fakeOwner) runTasks() {
	for len(o.tasks) > 0 {
		t := o.tasks[0]
		o.tasks = o.tasks[1:]
		t()
	}
}

// pair returns a registered FD over one end of a nonblocking socketpair and
// the other end, with small kernel buffers so that writes fill them quickly.
func pair(t testing.TB, limits *Limits) (*FD, int, *fakeOwner) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	for _, fd := range fds {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	}
	o := &fakeOwner{interest: map[int][2]bool{}}
	shared := &Shared{Owner: o, Limits: limits, ReadBuf: make([]byte, 1024)}
	c := NewFD(fds[0], fds[0], nil, nil, shared)
	c.Registered()
	t.Cleanup(func() {
		c.Release()
		c.ReleaseInbound()
		unix.Close(fds[1])
	})
	return c, fds[1], o
}

func drain(t *testing.T, fd int) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			out = append(out, buf[:n]...)
			continue
		}
		if err == unix.EAGAIN || n == 0 {
			return out
		}
		require.NoError(t, err)
	}
}

func TestPeekNextDiscard(t *testing.T) {
	c, peer, _ := pair(t, &Limits{})
	_, err := unix.Write(peer, []byte("hello world"))
	require.NoError(t, err)
	n, err := c.FillFrom()
	require.NoError(t, err)
	require.Equal(t, 11, n)
	require.Equal(t, 11, c.InboundBuffered())

	b, err := c.Peek(5)
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	_, err = c.Peek(12)
	require.ErrorIs(t, err, io.ErrShortBuffer)
	_, err = c.Next(12)
	require.ErrorIs(t, err, io.ErrShortBuffer)
	require.Equal(t, 11, c.InboundBuffered(), "a short Next consumes nothing")

	b, err = c.Next(6)
	require.NoError(t, err)
	require.Equal(t, "hello ", string(b))
	d, _ := c.Discard(2)
	require.Equal(t, 2, d)
	p := make([]byte, 10)
	n, err = c.Read(p)
	require.NoError(t, err)
	require.Equal(t, "rld", string(p[:n]))
	_, err = c.Read(p)
	require.ErrorIs(t, err, conn.ErrNoData)
	b, err = c.Peek(-1)
	require.NoError(t, err)
	require.Empty(t, b)
}

func TestRetainKeepsUnconsumedAcrossReads(t *testing.T) {
	c, peer, _ := pair(t, &Limits{})
	unix.Write(peer, []byte("abc"))
	_, err := c.FillFrom()
	require.NoError(t, err)
	c.Next(1)
	require.NoError(t, c.Retain())
	// The shared buffer is reused by other conns: scribble on it.
	copy(c.shared.ReadBuf, "XXXX")
	unix.Write(peer, []byte("def"))
	_, err = c.FillFrom()
	require.NoError(t, err)
	b, _ := c.Peek(-1)
	require.Equal(t, "bcdef", string(b))
	// Grows past one read buffer while nothing is consumed.
	big := bytes.Repeat([]byte("g"), 3000)
	for sent := 0; sent < len(big); {
		n, err := unix.Write(peer, big[sent:])
		require.NoError(t, err)
		sent += n
		for {
			if _, err := c.FillFrom(); err != nil {
				break
			}
		}
	}
	b, _ = c.Peek(-1)
	require.Equal(t, append([]byte("bcdef"), big...), b)
	require.NoError(t, c.Retain())
}

func TestMaxInbound(t *testing.T) {
	c, peer, _ := pair(t, &Limits{MaxInbound: 100})
	unix.Write(peer, bytes.Repeat([]byte("x"), 101))
	_, err := c.FillFrom()
	require.NoError(t, err)
	require.ErrorIs(t, c.Retain(), conn.ErrInboundTooLarge)
}

func TestEOF(t *testing.T) {
	c, peer, _ := pair(t, &Limits{})
	unix.Write(peer, []byte("last"))
	unix.Shutdown(peer, unix.SHUT_WR)
	n, err := c.FillFrom()
	require.NoError(t, err)
	require.Equal(t, 4, n)
	c.Discard(-1)
	_, err = c.FillFrom()
	require.ErrorIs(t, err, io.EOF)
}

func TestWriteBuffersAndFlushesInOrder(t *testing.T) {
	c, peer, o := pair(t, &Limits{WriteLow: 1 << 10, WriteHigh: 64 << 10})
	var want []byte
	for i := 0; i < 50; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i)
		want = append(want, chunk...)
		if i%2 == 0 {
			n, err := c.Write(chunk)
			require.NoError(t, err)
			require.Equal(t, len(chunk), n)
		} else {
			n, err := c.Writev([][]byte{chunk[:10], nil, chunk[10:]})
			require.NoError(t, err)
			require.Equal(t, len(chunk), n)
		}
	}
	require.Greater(t, c.OutboundBuffered(), 0, "the kernel took everything: buffers too big for this test")
	require.Equal(t, [2]bool{true, true}, o.interest[c.Fd()], "writable interest armed")

	var got []byte
	for c.OutboundBuffered() > 0 {
		got = append(got, drain(t, peer)...)
		_, err := c.Flush()
		require.NoError(t, err)
	}
	got = append(got, drain(t, peer)...)
	require.Equal(t, want, got)
	require.Equal(t, [2]bool{true, false}, o.interest[c.Fd()], "writable interest disarmed once drained")
	require.Nil(t, c.out, "buffer returned to the pool")
}

func TestBackpressurePausesReading(t *testing.T) {
	c, peer, o := pair(t, &Limits{WriteLow: 2000, WriteHigh: 20000})
	big := bytes.Repeat([]byte("b"), 100000)
	c.Write(big)
	require.True(t, c.ReadPaused())
	require.Equal(t, [2]bool{false, true}, o.interest[c.Fd()], "reading paused above the high watermark")
	for c.ReadPaused() {
		drain(t, peer)
		_, err := c.Flush()
		require.NoError(t, err)
	}
	require.LessOrEqual(t, c.OutboundBuffered(), 2000)
	require.True(t, o.interest[c.Fd()][0], "reading resumed below the low watermark")
}

func TestShutdownWriteAfterFlush(t *testing.T) {
	c, peer, _ := pair(t, &Limits{})
	big := bytes.Repeat([]byte("s"), 50000)
	c.Write(big)
	require.NoError(t, c.ShutdownWrite())
	_, err := c.Write([]byte("more"))
	require.ErrorIs(t, err, conn.ErrWriteShut)
	var got []byte
	for {
		got = append(got, drain(t, peer)...)
		if c.OutboundBuffered() == 0 {
			break
		}
		_, err := c.Flush()
		require.NoError(t, err)
	}
	got = append(got, drain(t, peer)...)
	require.Equal(t, big, got)
	n, _ := unix.Read(peer, make([]byte, 1))
	require.Equal(t, 0, n, "peer reads EOF after the flush")
}

func TestWriteErrorClosesViaLoop(t *testing.T) {
	c, peer, o := pair(t, &Limits{})
	unix.Shutdown(peer, unix.SHUT_RDWR)
	_, err := c.Write([]byte("to nobody"))
	require.Error(t, err)
	require.True(t, errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET), "%v", err)
	o.runTasks()
	require.Len(t, o.closed, 1)
	_, err2 := c.Write([]byte("again"))
	require.Error(t, err2)
	o.runTasks()
	require.Len(t, o.closed, 1, "close asked once")
}

func TestAsyncOpsGoThroughTheLoop(t *testing.T) {
	c, peer, o := pair(t, &Limits{})
	var cbErr error = errors.New("not called")
	require.NoError(t, c.AsyncWrite([]byte("async"), func(_ conn.Conn, err error) error { cbErr = err; return nil }))
	require.NoError(t, c.AsyncWritev([][]byte{[]byte("-"), []byte("v")}, nil))
	require.NoError(t, c.Wake())
	require.NoError(t, c.Close())
	require.Empty(t, drain(t, peer), "nothing written before the loop runs the tasks")
	o.runTasks()
	require.NoError(t, cbErr)
	require.Equal(t, "async-v", string(drain(t, peer)))
	require.Equal(t, 1, o.woken)
	require.Equal(t, []error{nil}, o.closed)
	c.Release()
	require.ErrorIs(t, c.Close(), conn.ErrClosed)
	require.ErrorIs(t, c.AsyncWrite(nil, nil), conn.ErrClosed)
}

func TestBufPoolClasses(t *testing.T) {
	for _, n := range []int{0, 1, 512, 513, 4096, 1 << 20, 1<<26 + 1} {
		b := getBuf(n)
		require.GreaterOrEqual(t, cap(*b), n)
		require.Zero(t, len(*b))
		putBuf(b)
	}
}

// BenchmarkWriteRead is the conn half of a steady-state echo: one read into
// the shared buffer, one write of what came in. It must not allocate.
func BenchmarkWriteRead(b *testing.B) {
	c, peer, _ := pair(b, &Limits{})
	msg := bytes.Repeat([]byte("m"), 64)
	sink := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		unix.Write(peer, msg)
		if _, err := c.FillFrom(); err != nil {
			b.Fatal(err)
		}
		in, _ := c.Next(-1)
		c.Write(in)
		c.Retain()
		unix.Read(peer, sink)
	}
}

// BenchmarkWritev gathers three buffers per call.
func BenchmarkWritev(b *testing.B) {
	c, peer, _ := pair(b, &Limits{})
	bufs := [][]byte{[]byte("head:"), bytes.Repeat([]byte("v"), 54), []byte("\r\n")}
	sink := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Writev(bufs)
		unix.Read(peer, sink)
	}
}
