//go:build linux

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The holder opens and holds a great many TCP conns from this one process.
// A goroutine or a net.Conn per conn would cost the client kilobytes each
// and make it the limit long before the server, so it uses raw nonblocking
// sockets and a few goroutines, each with its own epoll instance in edge-
// triggered mode. What a conn costs here is its kernel socket plus one byte
// of state in a table indexed by fd; the few active conns have a small
// record more.
//
// Conns come from many source addresses in 127.0.0.0/8: a source address
// has its own ephemeral port range towards one server port, so N conns need
// about N / (ports in range) addresses and one listening port.

// Per-fd states.
const (
	stFree       uint8 = iota
	stConnecting       // connect(2) in progress
	stPinged           // connected; one byte sent, its echo not yet back
	stHeld             // echo received: the server has accepted and served it
)

// holdConfig describes the conns to open.
type holdConfig struct {
	Addr    string        // server host:port (IPv4 loopback)
	Conns   int           // conns to open and hold
	Active  float64       // fraction of conns that exchange messages in exchange
	Size    int           // message size in bytes
	Workers int           // goroutines, each with its own epoll instance
	PerIP   int           // conns per source address; 0: half the local port range
	SrcBase netip.Addr    // first source address; zero: 127.10.0.1
	Window  int           // conns opened but not yet known to be accepted, over all workers
	Timeout time.Duration // bound on opening all conns
}

// activeConn is one conn that exchanges a message every second.
type activeConn struct {
	fd     int32
	seq    uint32        // messages sent so far
	got    int32         // bytes of the current echo received
	slot   time.Duration // when in each second it sends
	sentAt time.Duration // since the exchange began; 0 when nothing is outstanding
}

// holder is a set of open conns; see the comment at the top of the file.
type holder struct {
	cfg       holdConfig
	dst       unix.SockaddrInet4
	state     []uint8 // by fd
	active    []activeConn
	stride    int // every stride-th conn is active
	workers   []*holdWorker
	Opened    time.Duration // from the first connect until the last conn was confirmed
	open      atomic.Int64  // fds open
	confirmed atomic.Int64  // conns echoed their first byte
}

// holdWorker owns the conns i with i % len(workers) == id.
type holdWorker struct {
	h      *holder
	id     int
	epfd   int
	events []unix.EpollEvent
	buf    []byte
	mine   []int32            // indexes into h.active, sorted by slot
	dst    unix.SockaddrInet4 // the server; per worker, as Connect writes into it
	src    unix.SockaddrInet4
}

// defaultSrcBase is the first source address: away from 127.0.0.1, which
// everything else on the machine uses.
var defaultSrcBase = netip.AddrFrom4([4]byte{127, 10, 0, 1})

// localPortRange reads net.ipv4.ip_local_port_range.
func localPortRange() (lo, hi int, err error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("ip_local_port_range: %q", b)
	}
	if lo, err = strconv.Atoi(f[0]); err == nil {
		hi, err = strconv.Atoi(f[1])
	}
	return lo, hi, err
}

// srcAddr is the k-th source address after base.
func srcAddr(base netip.Addr, k int) ([4]byte, error) {
	b := base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(k)
	out := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	if out[0] != 127 {
		return out, fmt.Errorf("source address %d after %v leaves 127.0.0.0/8", k, base)
	}
	return out, nil
}

// openHolder opens cfg.Conns conns to cfg.Addr and returns once the server
// has echoed one byte on every one of them.
func openHolder(cfg holdConfig) (*holder, error) {
	ap, err := netip.ParseAddrPort(strings.Replace(cfg.Addr, "localhost:", "127.0.0.1:", 1))
	if err != nil {
		return nil, fmt.Errorf("c1m: %w", err)
	}
	if !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("c1m: %v: need an IPv4 loopback server address", ap)
	}
	switch {
	case cfg.Conns < 1:
		return nil, errors.New("c1m: need at least one conn")
	case cfg.Active < 0 || cfg.Active > 1:
		return nil, errors.New("c1m: the active fraction must be within [0, 1]")
	case cfg.Active > 0 && cfg.Size < 1:
		return nil, errors.New("c1m: message size must be positive")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 2
	}
	if cfg.Window < cfg.Workers {
		cfg.Window = max(cfg.Workers, 2048)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if !cfg.SrcBase.IsValid() {
		cfg.SrcBase = defaultSrcBase
	}
	if cfg.PerIP <= 0 {
		lo, hi, err := localPortRange()
		if err != nil {
			return nil, fmt.Errorf("c1m: %w", err)
		}
		cfg.PerIP = max((hi-lo+1)/2, 1)
	}
	if _, err := srcAddr(cfg.SrcBase, (cfg.Conns-1)/cfg.PerIP); err != nil {
		return nil, fmt.Errorf("c1m: %w", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("c1m: %w", err)
	}
	if lim.Cur < uint64(cfg.Conns)+64 {
		return nil, fmt.Errorf("c1m: open-file limit %d (hard %d) is too low for %d conns (bench/c1m.sh raises fs.nr_open; a hard limit above it needs CAP_SYS_RESOURCE)", lim.Cur, lim.Max, cfg.Conns)
	}

	h := &holder{cfg: cfg, state: make([]uint8, min(lim.Cur, 1<<26))}
	h.dst = unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if cfg.Active > 0 {
		h.stride = max(int(1/cfg.Active+0.5), 1)
		n := (cfg.Conns + h.stride - 1) / h.stride
		h.active = make([]activeConn, n)
		for k := range h.active {
			// Spread evenly over the second, so the load is smooth.
			h.active[k] = activeConn{fd: -1, slot: time.Duration(k) * time.Second / time.Duration(n)}
		}
	}
	for id := 0; id < cfg.Workers; id++ {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("c1m: epoll_create1: %w", err)
		}
		h.workers = append(h.workers, &holdWorker{h: h, id: id, epfd: epfd, dst: h.dst,
			events: make([]unix.EpollEvent, 512), buf: make([]byte, max(cfg.Size, 4096))})
	}

	begin := time.Now()
	deadline := begin.Add(cfg.Timeout)
	errs := make([]error, len(h.workers))
	var stop atomic.Bool // set on the first error: the others give up too
	var wg sync.WaitGroup
	for i, w := range h.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.openAll(deadline, &stop)
			if errs[i] != nil {
				stop.Store(true)
			}
		}()
	}
	wg.Wait()
	h.Opened = time.Since(begin)
	if err := errors.Join(errs...); err != nil {
		h.Close()
		return nil, err
	}
	for _, w := range h.workers {
		slices.SortFunc(w.mine, func(a, b int32) int { return int(h.active[a].slot - h.active[b].slot) })
	}
	return h, nil
}

// Conns is the number of conns open.
func (h *holder) Conns() int { return int(h.open.Load()) }

// openAll opens this worker's share, keeping at most its part of the window
// unconfirmed at a time so that the server's accept queue never overflows.
func (w *holdWorker) openAll(deadline time.Time, stop *atomic.Bool) error {
	h := w.h
	g := len(h.workers)
	total := 0
	if w.id < h.cfg.Conns {
		total = (h.cfg.Conns-w.id-1)/g + 1
	}
	window := max(h.cfg.Window/g, 1)
	next, pending, done := w.id, 0, 0
	for done < total {
		for pending < window && next < h.cfg.Conns {
			if err := w.dial(next); err != nil {
				return err
			}
			next += g
			pending++
		}
		if stop.Load() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("c1m: %d of %d conns confirmed after %v", h.confirmed.Load(), h.cfg.Conns, h.cfg.Timeout)
		}
		n, err := unix.EpollWait(w.epfd, w.events, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("c1m: epoll_wait: %w", err)
		}
		for _, ev := range w.events[:max(n, 0)] {
			confirmed, err := w.onOpenEvent(ev)
			if err != nil {
				return err
			}
			if confirmed {
				pending--
				done++
			}
		}
	}
	return nil
}

// dial starts the nonblocking connect of conn i.
func (w *holdWorker) dial(i int) error {
	h := w.h
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("c1m: socket for conn %d (%d open): %w", i, h.Conns(), err)
	}
	if fd >= len(h.state) {
		_ = unix.Close(fd)
		return fmt.Errorf("c1m: fd %d beyond the table of %d", fd, len(h.state))
	}
	h.open.Add(1)
	h.state[fd] = stConnecting
	src, _ := srcAddr(h.cfg.SrcBase, i/h.cfg.PerIP) // checked in openHolder
	// With IP_BIND_ADDRESS_NO_PORT the port is picked at connect time,
	// unique per 4-tuple, rather than at bind time, unique per address.
	if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		return fmt.Errorf("c1m: IP_BIND_ADDRESS_NO_PORT: %w", err)
	}
	w.src.Addr = src
	if err := unix.Bind(fd, &w.src); err != nil {
		return fmt.Errorf("c1m: bind conn %d to %v: %w", i, netip.AddrFrom4(src), err)
	}
	switch err := unix.Connect(fd, &w.dst); err {
	case nil, unix.EINPROGRESS:
	case unix.EADDRNOTAVAIL:
		return fmt.Errorf("c1m: connect conn %d from %v: %w (out of ports: lower -c1m-per-ip or widen net.ipv4.ip_local_port_range)", i, netip.AddrFrom4(src), err)
	default:
		return fmt.Errorf("c1m: connect conn %d from %v: %w", i, netip.AddrFrom4(src), err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if h.stride > 0 && i%h.stride == 0 {
		k := i / h.stride
		h.active[k].fd = int32(fd)
		w.mine = append(w.mine, int32(k))
		ev.Pad = int32(k + 1) // the event carries the active index
	}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("c1m: epoll_ctl: %w", err)
	}
	return nil
}

// onOpenEvent advances one conn: connected → ping sent → echo back.
func (w *holdWorker) onOpenEvent(ev unix.EpollEvent) (confirmed bool, err error) {
	fd := int(ev.Fd)
	bad := ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0
	switch w.h.state[fd] {
	case stConnecting:
		if bad {
			soerr, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			return false, fmt.Errorf("c1m: connect: %w", unix.Errno(soerr))
		}
		if ev.Events&unix.EPOLLOUT == 0 {
			return false, nil
		}
		w.buf[0] = byte(fd)
		if _, err := unix.Write(fd, w.buf[:1]); err != nil {
			if err == unix.EAGAIN {
				return false, nil
			}
			return false, fmt.Errorf("c1m: ping: %w", err)
		}
		w.h.state[fd] = stPinged
		if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP) == 0 {
			return false, nil
		}
		fallthrough
	case stPinged:
		n, err := unix.Read(fd, w.buf[:1])
		switch {
		case err == unix.EAGAIN:
			return false, nil
		case err != nil:
			return false, fmt.Errorf("c1m: pong: %w", err)
		case n == 0:
			return false, errors.New("c1m: the server closed a conn before echoing its first byte")
		case w.buf[0] != byte(fd):
			return false, fmt.Errorf("c1m: pong %#x, want %#x", w.buf[0], byte(fd))
		}
		w.h.state[fd] = stHeld
		w.h.confirmed.Add(1)
		return true, nil
	case stHeld:
		return false, w.idleEvent(fd, ev)
	}
	return false, fmt.Errorf("c1m: event for fd %d, which is not ours", fd)
}

// idleEvent checks an event on a held conn that is not exchanging: only a
// spurious edge is fine; data, an end of stream or an error are not.
func (w *holdWorker) idleEvent(fd int, ev unix.EpollEvent) error {
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return nil
	}
	n, err := unix.Read(fd, w.buf)
	switch {
	case err == unix.EAGAIN:
		return nil
	case err != nil:
		return fmt.Errorf("c1m: held conn: %w", err)
	case n == 0:
		return errors.New("c1m: the server closed a held conn")
	}
	return fmt.Errorf("c1m: %d unexpected bytes on an idle conn", n)
}

// exchangeResult is what the active conns measured.
type exchangeResult struct {
	Latency *Histogram
	Lag     *Histogram // how late this process sent each message: its own scheduling delay
	Sent    uint64     // messages sent
	Missed  uint64     // sends skipped: the conn's previous echo was still outstanding
}

// msgByte is byte j of message seq on active conn k: every echo is checked
// byte for byte.
func msgByte(k int, seq uint32, j int) byte {
	return byte(k*7 + int(seq)*13 + j)
}

// exchange has every active conn send a cfg.Size message once a second, at
// its own offset within the second, for d, then waits up to drain for the
// outstanding echoes. Idle conns must stay silent throughout.
func (h *holder) exchange(d, drain time.Duration) (*exchangeResult, error) {
	res := &exchangeResult{Latency: newHistogram(), Lag: newHistogram()}
	begin := time.Now()
	parts := make([]*exchangeResult, len(h.workers))
	errs := make([]error, len(h.workers))
	var wg sync.WaitGroup
	for i, w := range h.workers {
		parts[i] = &exchangeResult{Latency: newHistogram(), Lag: newHistogram()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.exchange(begin, d, drain, parts[i])
		}()
	}
	wg.Wait()
	for _, p := range parts {
		res.Latency.Merge(p.Latency)
		res.Lag.Merge(p.Lag)
		res.Sent += p.Sent
		res.Missed += p.Missed
	}
	return res, errors.Join(errs...)
}

func (w *holdWorker) exchange(begin time.Time, d, drain time.Duration, res *exchangeResult) error {
	h := w.h
	sec, cursor := time.Duration(0), 0
	due := func() time.Duration {
		if len(w.mine) == 0 {
			return d
		}
		return sec + h.active[w.mine[cursor]].slot
	}
	outstanding := 0
	for {
		now := time.Since(begin)
		if now >= d {
			if outstanding == 0 {
				return nil
			}
			if now >= d+drain {
				return fmt.Errorf("c1m: %d echoes not back within %v", outstanding, drain)
			}
		}
		for now < d && len(w.mine) > 0 && due() <= now {
			k := int(w.mine[cursor])
			res.Lag.Record(now - due())
			sent, err := w.send(k, begin)
			if err != nil {
				return err
			}
			if sent {
				res.Sent++
				outstanding++
			} else {
				res.Missed++
			}
			if cursor++; cursor == len(w.mine) {
				cursor, sec = 0, sec+time.Second
			}
		}
		wait := d - now
		if now >= d {
			wait = d + drain - now
		} else if len(w.mine) > 0 {
			wait = min(wait, due()-now)
		}
		ms := int((wait + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.EpollWait(w.epfd, w.events, max(ms, 0))
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("c1m: epoll_wait: %w", err)
		}
		for _, ev := range w.events[:max(n, 0)] {
			if ev.Pad == 0 {
				if err := w.idleEvent(int(ev.Fd), ev); err != nil {
					return err
				}
				continue
			}
			echoed, err := w.receive(int(ev.Pad-1), ev, begin, res.Latency)
			if err != nil {
				return err
			}
			outstanding -= echoed
		}
	}
}

// send writes active conn k's next message unless its last one is still
// out.
func (w *holdWorker) send(k int, begin time.Time) (bool, error) {
	a := &w.h.active[k]
	if a.sentAt != 0 {
		return false, nil
	}
	msg := w.buf[:w.h.cfg.Size]
	for j := range msg {
		msg[j] = msgByte(k, a.seq, j)
	}
	a.sentAt = max(time.Since(begin), 1)
	a.got = 0
	n, err := unix.Write(int(a.fd), msg)
	if err != nil {
		return false, fmt.Errorf("c1m: send: %w", err)
	}
	if n != len(msg) {
		// The socket's send buffer is empty between messages.
		return false, fmt.Errorf("c1m: short write of %d of %d bytes", n, len(msg))
	}
	return true, nil
}

// receive reads what active conn k has and checks it against the message
// outstanding; it returns 1 when the echo completed.
func (w *holdWorker) receive(k int, ev unix.EpollEvent, begin time.Time, lat *Histogram) (int, error) {
	if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return 0, nil
	}
	a := &w.h.active[k]
	size := w.h.cfg.Size
	echoed := 0
	for {
		n, err := unix.Read(int(a.fd), w.buf)
		switch {
		case err == unix.EAGAIN:
			return echoed, nil
		case err != nil:
			return echoed, fmt.Errorf("c1m: active conn: %w", err)
		case n == 0:
			return echoed, errors.New("c1m: the server closed an active conn")
		case a.sentAt == 0 || int(a.got)+n > size:
			return echoed, fmt.Errorf("c1m: active conn %d: %d bytes more than were sent", k, n)
		}
		for j, b := range w.buf[:n] {
			if want := msgByte(k, a.seq, int(a.got)+j); b != want {
				return echoed, fmt.Errorf("c1m: active conn %d, message %d, byte %d: got %#x, want %#x", k, a.seq, int(a.got)+j, b, want)
			}
		}
		a.got += int32(n)
		if int(a.got) == size {
			lat.Record(time.Since(begin) - a.sentAt)
			a.sentAt, a.seq = 0, a.seq+1
			echoed++
		}
		if n < len(w.buf) {
			// A short read emptied the socket; the next edge brings more.
			return echoed, nil
		}
	}
}

// Close closes every conn and the epoll instances, spread over the
// workers' goroutines (a close costs a few microseconds of kernel time).
func (h *holder) Close() {
	for _, w := range h.workers {
		_ = unix.Close(w.epfd)
	}
	g := max(len(h.workers), 1)
	var wg sync.WaitGroup
	for id := 0; id < g; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fd := id; fd < len(h.state); fd += g {
				if h.state[fd] != stFree {
					_ = unix.Close(fd)
					h.state[fd] = stFree
					h.open.Add(-1)
				}
			}
		}()
	}
	wg.Wait()
}

// peerCloser acts as clients that close their end once the server closes
// its own: while it runs, every end of stream or reset closes the conn.
type peerCloser struct {
	stop       chan struct{}
	wg         sync.WaitGroup
	eof, reset atomic.Int64
	err        error
	errOnce    sync.Once
}

// closeOnEOF starts a peerCloser on the holder's workers.
func (h *holder) closeOnEOF() *peerCloser {
	pc := &peerCloser{stop: make(chan struct{})}
	for _, w := range h.workers {
		pc.wg.Add(1)
		go func() {
			defer pc.wg.Done()
			if err := w.closeOnEOF(pc); err != nil {
				pc.errOnce.Do(func() { pc.err = err })
			}
		}()
	}
	return pc
}

// wait lets the peerCloser run until the holder has no conns left or
// timeout passes, then stops it and reports how the conns ended.
func (pc *peerCloser) wait(h *holder, timeout time.Duration) (eof, reset int64, err error) {
	deadline := time.Now().Add(timeout)
	for h.Conns() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(pc.stop)
	pc.wg.Wait()
	return pc.eof.Load(), pc.reset.Load(), pc.err
}

func (w *holdWorker) closeOnEOF(pc *peerCloser) error {
	h := w.h
	for {
		select {
		case <-pc.stop:
			return nil
		default:
		}
		n, err := unix.EpollWait(w.epfd, w.events, 20)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("c1m: epoll_wait: %w", err)
		}
		for _, ev := range w.events[:max(n, 0)] {
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
				continue
			}
			fd := int(ev.Fd)
			for h.state[fd] != stFree {
				n, err := unix.Read(fd, w.buf)
				switch {
				case err == unix.EAGAIN:
				case err != nil:
					pc.reset.Add(1)
				case n == 0:
					pc.eof.Add(1)
				default:
					continue // stray bytes: read on to the end
				}
				if err == unix.EAGAIN {
					break
				}
				_ = unix.Close(fd)
				h.state[fd] = stFree
				h.open.Add(-1)
			}
		}
	}
}
