//go:build unix

package poller

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// poll is the portable poller: poll(2) over a slice of pollfds. Every Wait
// costs time in proportion to the number of watched fds, in the kernel and
// here, so epoll and kqueue are preferred; poll exists for systems and
// sandboxes without them, and as a second opinion in tests. (On darwin,
// poll(2) also refuses more than OPEN_MAX fds.)
type poll struct {
	fds   []unix.PollFd // fds[0] is the wakeup's read end, never removed
	index map[int]int   // watched fd -> its position in fds
	ready []readyFD     // one Wait's results, so fn may Add and Remove freely
	wake  *wakeup
}

// readyFD is one fd reported by a Wait, held until dispatch.
type readyFD struct {
	fd int
	ev Event
}

// NewPoll returns a poll(2) poller. It has the same level-triggered contract
// as the other kinds and works on every unix, which is why the examples'
// -poller poll flag and WithPoller(Poll) can ask for it by name.
func NewPoll() (Poller, error) {
	w, err := newPipeWakeup()
	if err != nil {
		return nil, err
	}
	p := &poll{
		fds:   make([]unix.PollFd, 1, 64),
		index: make(map[int]int),
		ready: make([]readyFD, 0, 64),
		wake:  w,
	}
	p.fds[0] = unix.PollFd{Fd: int32(w.rfd), Events: unix.POLLIN}
	return p, nil
}

func pollInterest(interest Event) pollMask {
	// RDHUP with read interest only, as for epoll: it is level-triggered and
	// would spin a loop that paused reading a half-closed peer.
	var e pollMask
	if interest&Readable != 0 {
		e |= unix.POLLIN | pollRDHUP
	}
	if interest&Writable != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func pollEvent(revents pollMask) Event {
	var ev Event
	if revents&unix.POLLIN != 0 {
		ev |= Readable
	}
	if revents&unix.POLLOUT != 0 {
		ev |= Writable
	}
	if revents&unix.POLLHUP != 0 {
		ev |= Hangup
	}
	// POLLNVAL (the fd was closed while watched) is a caller bug, but report
	// it as an error so the loop tears the fd down instead of spinning on it.
	if revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
		ev |= Error
	}
	if revents&pollRDHUP != 0 {
		ev |= ReadHangup
	}
	return ev
}

// pollError wraps an errno like the one epoll_ctl would return in the same
// situation, so callers can test errors.Is(err, unix.EEXIST) whatever the kind.
func pollError(errno unix.Errno) error { return os.NewSyscallError("poll", errno) }

// Add implements Poller.
func (p *poll) Add(fd int, interest Event) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	if fd < 0 {
		return pollError(unix.EBADF)
	}
	if _, ok := p.index[fd]; ok {
		return pollError(unix.EEXIST)
	}
	p.index[fd] = len(p.fds)
	p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: pollInterest(interest)})
	if cap(p.ready) < len(p.fds) {
		// Grow here rather than in Wait, which must not allocate.
		p.ready = make([]readyFD, 0, cap(p.fds))
	}
	return nil
}

// Modify implements Poller.
func (p *poll) Modify(fd int, interest Event) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	i, ok := p.index[fd]
	if !ok {
		return pollError(unix.ENOENT)
	}
	p.fds[i].Events = pollInterest(interest)
	return nil
}

// Remove implements Poller. The last pollfd moves into the hole, so Remove is
// O(1) and fds stays dense for the kernel.
func (p *poll) Remove(fd int) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	i, ok := p.index[fd]
	if !ok {
		return pollError(unix.ENOENT)
	}
	last := len(p.fds) - 1
	if i != last {
		p.fds[i] = p.fds[last]
		p.index[int(p.fds[i].Fd)] = i
	}
	p.fds[last] = unix.PollFd{}
	p.fds = p.fds[:last]
	delete(p.index, fd)
	return nil
}

// Wait implements Poller. The results are collected before fn runs because fn
// may Remove a fd, and the swap that follows would move an unvisited pollfd
// behind the scan.
func (p *poll) Wait(timeout time.Duration, fn func(fd int, ev Event)) (int, error) {
	if p.wake.isClosed() {
		return 0, ErrClosed
	}
	n, err := p.poll(timeout)
	if err != nil {
		return 0, err
	}
	p.ready = p.ready[:0]
	if n > 0 && p.fds[0].Revents != 0 {
		p.wake.drain()
		n--
	}
	for i := 1; n > 0 && i < len(p.fds); i++ {
		if re := p.fds[i].Revents; re != 0 {
			p.ready = append(p.ready, readyFD{fd: int(p.fds[i].Fd), ev: pollEvent(re)})
			n--
		}
	}
	for _, r := range p.ready {
		fn(r.fd, r.ev)
	}
	return len(p.ready), nil
}

// poll calls poll(2), retrying EINTR with the time that is left.
func (p *poll) poll(timeout time.Duration) (int, error) {
	n, err := retryEINTR(timeout, p.pollOnce)
	if err != nil {
		return 0, os.NewSyscallError("poll", err)
	}
	return n, nil
}

func (p *poll) pollOnce(ms int) (int, error) { return unix.Poll(p.fds, ms) }

// Wake implements Poller.
func (p *poll) Wake() error { return p.wake.wake() }

// Close implements Poller.
func (p *poll) Close() error {
	err := p.wake.close()
	if err != ErrClosed {
		p.fds, p.index, p.ready = nil, nil, nil
	}
	return err
}

// Kind implements Poller.
func (p *poll) Kind() Kind { return Poll }
