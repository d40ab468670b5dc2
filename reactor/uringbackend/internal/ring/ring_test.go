//go:build linux

package ring

import (
	"errors"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func newRing(t *testing.T) *Ring {
	t.Helper()
	r, err := New(8, 0)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// reap waits (bounded) for n completions.
func reap(t *testing.T, r *Ring, n int) []CQE {
	t.Helper()
	var got []CQE
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n {
		require.True(t, time.Now().Before(deadline), "timed out waiting for completions")
		_, err := r.SubmitAndWait(1, 100*time.Millisecond)
		require.NoError(t, err)
		r.Reap(func(c CQE) { got = append(got, c) })
	}
	return got
}

func TestNop(t *testing.T) {
	r := newRing(t)
	for i := 0; i < 3; i++ {
		s := r.GetSQE()
		require.NotNil(t, s)
		s.Opcode, s.UserData = OpNop, uint64(100+i)
	}
	got := reap(t, r, 3)
	for i, c := range got {
		require.Equal(t, uint64(100+i), c.UserData)
		require.Equal(t, int32(0), c.Res)
	}
}

func TestFullSubmissionQueue(t *testing.T) {
	r := newRing(t)
	for i := uint32(0); i < r.Entries(); i++ {
		require.NotNil(t, r.GetSQE())
	}
	require.Nil(t, r.GetSQE(), "a full queue hands out no SQE")
	_, err := r.Submit()
	require.NoError(t, err)
	require.Len(t, reap(t, r, int(r.Entries())), int(r.Entries()))
	require.NotNil(t, r.GetSQE())
}

func TestWaitTimesOut(t *testing.T) {
	r := newRing(t)
	start := time.Now()
	n, err := r.SubmitAndWait(1, 20*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, n)
	require.GreaterOrEqual(t, time.Since(start), 15*time.Millisecond)
	require.Zero(t, r.Reap(func(CQE) { t.Fatal("no completion expected") }))
}

func TestPipeWriteThenRead(t *testing.T) {
	r := newRing(t)
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	in := make([]byte, 16)
	out := []byte("hello, ring")
	rd := r.GetSQE()
	rd.Opcode, rd.Fd, rd.Addr, rd.Len, rd.UserData = OpRead, int32(p[0]), uint64(uintptr(unsafe.Pointer(&in[0]))), uint32(len(in)), 1
	rd.Off = ^uint64(0) // the file position: a pipe has none
	_, err := r.Submit()
	require.NoError(t, err)
	wr := r.GetSQE()
	wr.Opcode, wr.Fd, wr.Addr, wr.Len, wr.UserData = OpWrite, int32(p[1]), uint64(uintptr(unsafe.Pointer(&out[0]))), uint32(len(out)), 2
	wr.Off = ^uint64(0)
	got := reap(t, r, 2)
	byID := map[uint64]int32{}
	for _, c := range got {
		byID[c.UserData] = c.Res
	}
	require.Equal(t, int32(len(out)), byID[1])
	require.Equal(t, int32(len(out)), byID[2])
	require.Equal(t, out, in[:len(out)])
}

func TestMultishotAcceptAndRecvIntoProvidedBuffers(t *testing.T) {
	r := newRing(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	defer f.Close()
	br, err := r.NewBufRing(1, 4, 64)
	require.NoError(t, err)
	defer br.Close()

	acc := r.GetSQE()
	acc.Opcode, acc.Fd, acc.Ioprio, acc.UserData = OpAccept, int32(f.Fd()), AcceptMultishot, 7
	acc.OpFlags = unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK
	_, err = r.Submit()
	require.NoError(t, err)

	var clients []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
	}
	var fds []int
	for _, c := range reap(t, r, 2) {
		require.Equal(t, uint64(7), c.UserData)
		require.NoError(t, c.Err())
		require.NotZero(t, c.Flags&CQEFMore, "multishot accept stays armed")
		fds = append(fds, int(c.Res))
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// A recv on each conn; only the one with data takes a buffer.
	for i, fd := range fds {
		s := r.GetSQE()
		s.Opcode, s.Fd, s.Flags, s.BufGroup, s.Len, s.UserData = OpRecv, int32(fd), SQEBufferSelect, br.Group(), 0, uint64(10+i)
	}
	_, err = r.Submit()
	require.NoError(t, err)
	_, err = clients[0].Write([]byte("ping"))
	require.NoError(t, err)
	got := reap(t, r, 1)
	require.NoError(t, got[0].Err())
	require.Equal(t, int32(4), got[0].Res)
	require.NotZero(t, got[0].Flags&CQEFBuffer)
	bid := got[0].BufferID()
	// Which conn got the data is the accept order: find it by fd peer.
	require.Equal(t, "ping", string(br.Buf(bid, 4)))
	br.Recycle(bid)
	// Cancel what is left; each completes with ECANCELED (or its data).
	for _, ud := range []uint64{7, 10, 11} {
		s := r.GetSQE()
		s.Opcode, s.Addr, s.UserData = OpAsyncCancel, ud, 99
	}
	done := map[uint64]bool{}
	for len(done) < 2 {
		for _, c := range reap(t, r, 1) {
			if c.UserData == 7 || (c.UserData >= 10 && c.UserData <= 11 && c.Res < 0) {
				if c.Flags&CQEFMore == 0 {
					done[c.UserData] = true
				}
			}
		}
	}
}

func TestSetupFailureSaysUnavailable(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM, unix.EINVAL} {
		old := setup
		setup = func(uint32, *Params) (int, error) { return -1, errno }
		_, err := New(4, 0)
		perr := Probe()
		setup = old
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorIs(t, perr, ErrUnavailable)
		require.ErrorContains(t, err, errno.Error())
	}
}

func TestDisabledSysctlSaysUnavailable(t *testing.T) {
	old := disabledPath
	defer func() { disabledPath = old }()
	disabledPath = t.TempDir() + "/io_uring_disabled"
	require.NoError(t, writeFile(disabledPath, "2\n"))
	err := Probe()
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "io_uring_disabled is 2")
}

// tcpPair is a connected loopback pair: a net.Conn and the raw fd of its
// peer.
func tcpPair(t *testing.T) (net.Conn, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	require.NoError(t, err)
	f, err := s.(*net.TCPConn).File()
	s.Close()
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return c, int(f.Fd())
}

// A multishot receive stays armed across arrivals, and with an incremental
// ring the arrivals share one buffer, each after the last.
func TestMultishotRecvIncremental(t *testing.T) {
	for _, inc := range []bool{true, false} {
		t.Run(map[bool]string{true: "incremental", false: "whole buffers"}[inc], func(t *testing.T) {
			defer func(v bool) { incremental = v }(incremental)
			incremental = inc
			r := newRing(t)
			br, err := r.NewBufRing(1, 4, 64)
			require.NoError(t, err)
			defer br.Close()
			if inc && !br.Incremental() {
				t.Skip("kernel without incremental buffer rings (6.12)")
			}
			require.Equal(t, inc, br.Incremental())
			c, fd := tcpPair(t)
			s := r.GetSQE()
			s.Opcode, s.Fd, s.Flags, s.Ioprio, s.BufGroup, s.UserData = OpRecv, int32(fd), SQEBufferSelect, RecvMultishot, br.Group(), 5
			_, err = r.Submit()
			require.NoError(t, err)
			var bids []uint16
			for _, msg := range []string{"one", "two", "three"} {
				_, err := c.Write([]byte(msg))
				require.NoError(t, err)
				got := reap(t, r, 1)
				require.NoError(t, got[0].Err())
				require.NotZero(t, got[0].Flags&CQEFMore, "the receive stays armed")
				data, done := br.Take(got[0])
				require.Equal(t, msg, string(data))
				require.Equal(t, !inc, done, "an incremental buffer stays with the kernel until used up")
				bids = append(bids, got[0].BufferID())
				if done {
					br.Recycle(got[0].BufferID())
				}
			}
			if inc {
				require.Equal(t, []uint16{bids[0], bids[0], bids[0]}, bids, "small receives share a buffer")
			} else {
				require.NotEqual(t, bids[0], bids[1])
			}
			// 64-byte buffers: 100 bytes fill the rest of the current one
			// and go on in the next, in order.
			big := make([]byte, 100)
			for i := range big {
				big[i] = byte('a' + i%26)
			}
			_, err = c.Write(big)
			require.NoError(t, err)
			var in []byte
			for len(in) < len(big) {
				for _, cqe := range reap(t, r, 1) {
					require.NoError(t, cqe.Err())
					data, done := br.Take(cqe)
					in = append(in, data...)
					if done {
						br.Recycle(cqe.BufferID())
					}
				}
			}
			require.Equal(t, big, in)
		})
	}
}

// SubmitAndWaitMin waits for its count only for minWait: then the
// completions already there end the wait.
func TestSubmitAndWaitMin(t *testing.T) {
	r := newRing(t)
	if !r.MinWait() {
		t.Skip("kernel without min_wait (6.12)")
	}
	for i := 0; i < 2; i++ {
		s := r.GetSQE()
		s.Opcode, s.UserData = OpNop, uint64(i)
	}
	start := time.Now()
	// Three asked for, two will come: without the min wait this sleeps
	// for the whole timeout.
	_, err := r.SubmitAndWaitMin(3, 20*time.Millisecond, 5*time.Second)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, 2, r.Reap(func(CQE) {}))

	// The kernel's min_wait outlasts a shorter timeout: it is cut to it,
	// and a timeout of 0 only looks.
	for _, timeout := range []time.Duration{0, 5 * time.Millisecond} {
		start = time.Now()
		_, err = r.SubmitAndWaitMin(3, time.Second, timeout)
		require.NoError(t, err)
		require.Less(t, time.Since(start), 500*time.Millisecond, "timeout %v", timeout)
	}
}
