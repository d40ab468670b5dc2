package poller

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// epoll is the Linux poller: level-triggered epoll with an eventfd for wakeups.
type epoll struct {
	epfd   int
	wake   *wakeup // one eventfd, both ends
	events []unix.EpollEvent
}

func newDefault() (Poller, error) { return newEpoll() }

func newKqueue() (Poller, error) { return nil, ErrUnsupported }

func newEpoll() (Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &epoll{epfd: epfd, wake: &wakeup{rfd: wakefd, wfd: wakefd}, events: make([]unix.EpollEvent, 256)}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		p.Close()
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return p, nil
}

func epollInterest(interest Event) uint32 {
	// RDHUP goes with read interest only: it is level-triggered, so asking
	// for it while reading is paused (backpressure) would spin the loop on a
	// peer that half-closed.
	var e uint32
	if interest&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if interest&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (p *epoll) ctl(op, fd int, interest Event) error {
	if p.wake.isClosed() {
		// epfd's number may belong to another poller by now.
		return ErrClosed
	}
	ev := unix.EpollEvent{Events: epollInterest(interest), Fd: int32(fd)}
	for {
		err := unix.EpollCtl(p.epfd, op, fd, &ev)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
		return nil
	}
}

func (p *epoll) Add(fd int, interest Event) error    { return p.ctl(unix.EPOLL_CTL_ADD, fd, interest) }
func (p *epoll) Modify(fd int, interest Event) error { return p.ctl(unix.EPOLL_CTL_MOD, fd, interest) }
func (p *epoll) Remove(fd int) error                 { return p.ctl(unix.EPOLL_CTL_DEL, fd, 0) }
func (p *epoll) Kind() Kind                          { return Epoll }

func (p *epoll) Wait(timeout time.Duration, fn func(fd int, ev Event)) (int, error) {
	if p.wake.isClosed() {
		return 0, ErrClosed
	}
	n, err := retryEINTR(timeout, p.epollWait)
	if err != nil {
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	reported := 0
	for i := 0; i < n; i++ {
		e := &p.events[i]
		fd := int(e.Fd)
		if fd == p.wake.rfd {
			p.wake.drain()
			continue
		}
		var ev Event
		if e.Events&unix.EPOLLIN != 0 {
			ev |= Readable
		}
		if e.Events&unix.EPOLLOUT != 0 {
			ev |= Writable
		}
		if e.Events&unix.EPOLLHUP != 0 {
			ev |= Hangup
		}
		if e.Events&unix.EPOLLERR != 0 {
			ev |= Error
		}
		if e.Events&unix.EPOLLRDHUP != 0 {
			ev |= ReadHangup
		}
		fn(fd, ev)
		reported++
	}
	if n == len(p.events) && n < 1<<14 {
		// A full batch suggests more were ready: grow so one Wait sees them.
		p.events = make([]unix.EpollEvent, 2*n)
	}
	return reported, nil
}

func (p *epoll) Wake() error { return p.wake.wake() }

// Close releases the eventfd and the epoll fd once; later calls, and any Wake
// racing it, return ErrClosed rather than touch fd numbers that the kernel may
// have reused.
func (p *epoll) Close() error {
	err1 := p.wake.close()
	if err1 == ErrClosed {
		return ErrClosed
	}
	err2 := unix.Close(p.epfd)
	p.epfd = -1
	if err1 != nil {
		return err1
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}

func (p *epoll) epollWait(ms int) (int, error) { return unix.EpollWait(p.epfd, p.events, ms) }
