//go:build linux

package reactor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/poller"
)

// countingPoller counts the epoll_ctl calls a loop makes after Add.
type countingPoller struct {
	poller.Poller
	ctl *atomic.Int64
}

func (p countingPoller) Modify(fd int, ev poller.Event) error {
	p.ctl.Add(1)
	return p.Poller.Modify(fd, ev)
}

func (p countingPoller) Remove(fd int) error {
	p.ctl.Add(1)
	return p.Poller.Remove(fd)
}

// countPollerCalls makes the loops of engines started from now on count
// their Modify and Remove calls in ctl, until the test ends.
func countPollerCalls(tb testing.TB, ctl *atomic.Int64) {
	old := newPoller
	newPoller = func(k poller.Kind) (poller.Poller, error) {
		p, err := old(k)
		if err != nil {
			return nil, err
		}
		return countingPoller{Poller: p, ctl: ctl}, nil
	}
	tb.Cleanup(func() { newPoller = old })
}

// peers are the client ends of held conns: raw sockets, no goroutine each,
// watched by one epoll so that each can close once its server end has
// closed (a cooperative peer), or never (a peer that holds on).
type peers struct {
	epfd    int
	fds     []int
	gone    map[int]bool // fds closed on EOF; the closer's until it stops
	closed  atomic.Int64
	done    chan struct{}
	stopped sync.WaitGroup
}

// dialPeers opens n TCP conns to addr and waits until the engine has them
// all open.
func dialPeers(tb testing.TB, e Engine, n int) *peers {
	tb.Helper()
	ta := e.Addrs()[0].(*net.TCPAddr)
	sa := &unix.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	p := &peers{epfd: epfd, done: make(chan struct{}), gone: make(map[int]bool)}
	tb.Cleanup(p.close)
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if err := unix.Connect(fd, sa); err != nil {
			unix.Close(fd)
			tb.Fatal(err)
		}
		p.fds = append(p.fds, fd)
	}
	deadline := time.Now().Add(time.Minute)
	for e.Conns() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d conns opened", e.Conns(), n)
		}
		time.Sleep(time.Millisecond) // polling a counter: there is no signal to wait on
	}
	return p
}

// closeOnEOF makes every peer close its socket once it reads EOF (or an
// error) from the server.
func (p *peers) closeOnEOF(tb testing.TB) {
	for _, fd := range p.fds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			tb.Fatal(err)
		}
	}
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		events := make([]unix.EpollEvent, 256)
		buf := make([]byte, 4096)
		for int(p.closed.Load()) < len(p.fds) {
			select {
			case <-p.done:
				return
			default:
			}
			n, err := unix.EpollWait(p.epfd, events, 50)
			if err != nil && err != unix.EINTR {
				return
			}
			for _, ev := range events[:max(n, 0)] {
				fd := int(ev.Fd)
				if r, _ := unix.Read(fd, buf); r > 0 {
					continue
				}
				unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
				unix.Close(fd)
				p.gone[fd] = true
				p.closed.Add(1)
			}
		}
	}()
}

// waitClosed waits until every peer has seen its server end close.
func (p *peers) waitClosed(tb testing.TB, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for int(p.closed.Load()) < len(p.fds) {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d peers saw their conn close", p.closed.Load(), len(p.fds))
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *peers) close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.stopped.Wait()
	for _, fd := range p.fds {
		if !p.gone[fd] {
			unix.Close(fd)
		}
	}
	unix.Close(p.epfd)
}

// idleHandler holds conns and echoes what it gets.
type idleHandler struct{ BaseHandler }

func (idleHandler) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return None
}

// cpuTime is the CPU time the process has used, user and system: the
// server's and the peers' (they close on the server's FIN).
func cpuTime(tb testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStop stops an engine holding N idle TCP conns on 2 loops, each
// peer closing once it sees the server close. Client and server share the
// process, 2 fds a conn, so N is bounded by half the hard RLIMIT_NOFILE
// (20,000 in the sandbox). Reported per conn: the time Stop takes, the CPU
// time the process spends meanwhile (server and peers), the poller's Modify
// and Remove calls (epoll_ctl), and the allocations.
func BenchmarkStop(b *testing.B) {
	for _, n := range []int{1000, 4000, 9000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			fdtest.RaiseNoFile(b, uint64(2*n+512))
			var ctl atomic.Int64
			countPollerCalls(b, &ctl)
			var stop, cpu time.Duration
			var ctls, allocs uint64
			for i := 0; i < b.N; i++ {
				e, err := Start(idleHandler{}, []string{"tcp://127.0.0.1:0"}, WithLoops(2),
					WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				if err != nil {
					b.Fatal(err)
				}
				p := dialPeers(b, e, n)
				p.closeOnEOF(b)
				time.Sleep(quietAfter) // idle conns, as held conns are (see loop.quiet)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				ctl.Store(0)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cpu0 := cpuTime(b)
				begin := time.Now()
				err = e.Stop(ctx)
				stop += time.Since(begin)
				cpu += cpuTime(b) - cpu0
				cancel()
				ctls += uint64(ctl.Load())
				runtime.ReadMemStats(&after)
				allocs += after.Mallocs - before.Mallocs
				if err != nil {
					b.Fatal(err)
				}
				p.waitClosed(b, 10*time.Second)
				p.close()
			}
			per := float64(b.N * n)
			b.ReportMetric(float64(stop.Nanoseconds())/per, "stop-ns/conn")
			b.ReportMetric(float64(cpu.Nanoseconds())/per, "stop-cpu-ns/conn")
			b.ReportMetric(float64(ctls)/per, "epoll_ctl/conn")
			b.ReportMetric(float64(allocs)/per, "allocs/conn")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// slowCloser takes a millisecond per OnClose, standing in for what the
// kernel takes to close a conn when there are a million of them; it writes
// a burst to some conns as they open, which their peers never read. It
// counts each conn's OnClose.
type slowCloser struct {
	BaseHandler
	burst  []byte
	mu     sync.Mutex
	opened int
	closes map[conn.Conn]int
}

func (h *slowCloser) OnOpen(c conn.Conn) Action {
	h.mu.Lock()
	h.opened++
	burst := h.opened%100 == 0
	h.mu.Unlock()
	if burst {
		c.Write(h.burst)
	}
	return None
}

func (h *slowCloser) OnClose(c conn.Conn, err error) {
	time.Sleep(time.Millisecond)
	h.mu.Lock()
	h.closes[c]++
	h.mu.Unlock()
}

// Stop returns by its ctx's deadline plus a bound that does not grow with
// the conns, even when closing them all takes far longer: here 4,000 conns
// whose peers never read or close, at a millisecond each, two seconds a
// loop. The loops then finish on their own: every conn gets one OnClose,
// and no fd or goroutine outlives the engine.
func TestStopReturnsByItsDeadline(t *testing.T) {
	const n = 4000
	fdtest.RaiseNoFile(t, 2*n+512)
	before := fdtest.Open(t)
	h := &slowCloser{burst: make([]byte, 1<<20), closes: make(map[conn.Conn]int)}
	e, err := Start(h, []string{"tcp://127.0.0.1:0"}, WithLoops(2),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	p := dialPeers(t, e, n)

	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	begin := time.Now()
	err = e.Stop(ctx)
	took := time.Since(begin)
	// The bound: the deadline, one slice of closes under way when it
	// passes (a quarter second here, at a millisecond a close), the grace,
	// and room for a loaded machine; closing them all takes 2 s.
	bound := deadline + stopSlice*time.Millisecond + stopGrace + 500*time.Millisecond
	require.Less(t, took, bound, "Stop returned %v after its deadline", took-deadline)
	require.ErrorIs(t, err, context.DeadlineExceeded, "conns were still open")

	select {
	case <-e.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the engine is not done; %d conns open", e.Conns())
	}
	require.Zero(t, e.Conns())
	h.mu.Lock()
	require.Len(t, h.closes, n, "conns with an OnClose")
	for _, k := range h.closes {
		require.Equal(t, 1, k, "OnClose calls for one conn")
	}
	h.mu.Unlock()
	p.close()
	require.LessOrEqual(t, fdtest.Open(t), before, "fds leaked")
}

// greeter writes a greeting as each conn opens.
type greeter struct{ BaseHandler }

func (greeter) OnOpen(c conn.Conn) Action {
	c.Write([]byte("hello"))
	return None
}

// Idle conns close at once at stop: one epoll_ctl each (the DEL), no
// lingering for peers that never close, and each peer reads what was
// written, then EOF (a FIN, not a reset).
func TestStopClosesIdleConnsAtOnce(t *testing.T) {
	const n = 50
	var ctl atomic.Int64
	countPollerCalls(t, &ctl)
	e, err := Start(greeter{}, []string{"tcp://127.0.0.1:0"}, WithLoops(2),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	var peers []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		peers = append(peers, c)
	}
	for e.Conns() < n {
		time.Sleep(time.Millisecond) // polling a counter: there is no signal to wait on
	}
	time.Sleep(quietAfter) // what is tested: conns idle this long
	ctl.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, e.Stop(ctx))
	require.Less(t, time.Since(begin), DefaultLingerTimeout/2, "Stop waited for peers that never close")
	require.EqualValues(t, n+1, ctl.Load(), "epoll_ctl calls at stop (the listener's too)")
	for _, c := range peers {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		require.NoError(t, err, "a reset instead of EOF")
		require.Equal(t, "hello", string(got))
	}
}
