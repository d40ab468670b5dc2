//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// kqueue is the poller of darwin and the BSDs. kqueue keeps one filter per
// direction, so interest maps to EVFILT_READ and EVFILT_WRITE filters that are
// added and deleted as it changes, and one Wait may see the same fd twice
// (once per filter): Wait merges those into one call of fn, as epoll and poll
// make it.
//
// Unlike epoll and poll, kqueue has no way to report a hangup on a fd with no
// filter, so a fd whose interest is zero sees no Hangup or Error until some
// interest is set again.
//
// Wakeups use a pipe rather than EVFILT_USER so all the BSDs share one path
// with the poll poller.
type kqueue struct {
	kq     int
	wake   *wakeup
	fds    map[int]*kqueueFD
	events []unix.Kevent_t
	ready  []readyFD // one Wait's results, merged per fd
	batch  uint64    // counts Waits, to tell whether a fd is already in ready
	ts     unix.Timespec
}

// kqueueFD is one watched fd.
type kqueueFD struct {
	interest Event
	batch    uint64 // the last Wait that reported this fd
	slot     int    // and its position in ready during that Wait
}

func newDefault() (Poller, error) { return newKqueue() }

func newKqueue() (Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	// A kqueue is not inherited across fork anyway; close-on-exec is for
	// tidiness and matches the standard library.
	unix.CloseOnExec(kq)
	w, err := newPipeWakeup()
	if err != nil {
		unix.Close(kq)
		return nil, err
	}
	p := &kqueue{
		kq:     kq,
		wake:   w,
		fds:    make(map[int]*kqueueFD),
		events: make([]unix.Kevent_t, 256),
		ready:  make([]readyFD, 0, 256),
	}
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], w.rfd, unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(kq, ch[:], nil, nil); err != nil {
		p.Close()
		return nil, os.NewSyscallError("kevent", err)
	}
	return p, nil
}

// kqueueError wraps an errno like the one epoll_ctl would return in the same
// situation, so callers can test errors.Is(err, unix.EEXIST) whatever the kind.
func kqueueError(errno unix.Errno) error { return os.NewSyscallError("kevent", errno) }

// apply adds and deletes filters to move fd from interest old to interest new.
func (p *kqueue) apply(fd int, old, new Event) error {
	var ch [2]unix.Kevent_t
	n := 0
	for _, f := range [...]struct {
		ev     Event
		filter int
	}{{Readable, unix.EVFILT_READ}, {Writable, unix.EVFILT_WRITE}} {
		switch {
		case new&f.ev != 0 && old&f.ev == 0:
			unix.SetKevent(&ch[n], fd, f.filter, unix.EV_ADD)
			n++
		case new&f.ev == 0 && old&f.ev != 0:
			unix.SetKevent(&ch[n], fd, f.filter, unix.EV_DELETE)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	// With no event list kevent returns at once, so there is no EINTR to
	// retry (and retrying an EV_DELETE that took effect would fail).
	if _, err := unix.Kevent(p.kq, ch[:n], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// Add implements Poller.
func (p *kqueue) Add(fd int, interest Event) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	if fd < 0 {
		return kqueueError(unix.EBADF)
	}
	if _, ok := p.fds[fd]; ok {
		return kqueueError(unix.EEXIST)
	}
	if err := p.apply(fd, 0, interest); err != nil {
		return err
	}
	p.fds[fd] = &kqueueFD{interest: interest & (Readable | Writable)}
	return nil
}

// Modify implements Poller.
func (p *kqueue) Modify(fd int, interest Event) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	w, ok := p.fds[fd]
	if !ok {
		return kqueueError(unix.ENOENT)
	}
	interest &= Readable | Writable
	if err := p.apply(fd, w.interest, interest); err != nil {
		return err
	}
	w.interest = interest
	return nil
}

// Remove implements Poller. The fd is forgotten even if deleting its filters
// fails, so that a later Add of the same number starts clean.
func (p *kqueue) Remove(fd int) error {
	if p.wake.isClosed() {
		return ErrClosed
	}
	w, ok := p.fds[fd]
	if !ok {
		return kqueueError(unix.ENOENT)
	}
	delete(p.fds, fd)
	return p.apply(fd, w.interest, 0)
}

func kqueueEvent(e *unix.Kevent_t) Event {
	var ev Event
	switch e.Filter {
	case unix.EVFILT_READ:
		ev = Readable
	case unix.EVFILT_WRITE:
		ev = Writable
	}
	if e.Flags&unix.EV_EOF != 0 {
		// kqueue does not tell a half-close from a full one, so report both
		// and let the caller read what is left.
		ev |= Hangup | ReadHangup
		if e.Fflags != 0 {
			ev |= Error // the socket error, such as ECONNRESET
		}
	}
	if e.Flags&unix.EV_ERROR != 0 {
		ev |= Error
	}
	return ev
}

// Wait implements Poller.
func (p *kqueue) Wait(timeout time.Duration, fn func(fd int, ev Event)) (int, error) {
	if p.wake.isClosed() {
		return 0, ErrClosed
	}
	n, err := p.kevent(timeout)
	if err != nil {
		return 0, err
	}
	p.batch++
	p.ready = p.ready[:0]
	for i := 0; i < n; i++ {
		e := &p.events[i]
		fd := int(e.Ident)
		if fd == p.wake.rfd && e.Filter == unix.EVFILT_READ {
			p.wake.drain()
			continue
		}
		w, ok := p.fds[fd]
		if !ok {
			continue
		}
		ev := kqueueEvent(e)
		if w.batch == p.batch {
			p.ready[w.slot].ev |= ev
			continue
		}
		w.batch, w.slot = p.batch, len(p.ready)
		p.ready = append(p.ready, readyFD{fd: fd, ev: ev})
	}
	for _, r := range p.ready {
		fn(r.fd, r.ev)
	}
	if n == len(p.events) && n < 1<<14 {
		// A full batch suggests more were ready: grow so one Wait sees them.
		p.events = make([]unix.Kevent_t, 2*n)
		p.ready = make([]readyFD, 0, 2*n)
	}
	return len(p.ready), nil
}

// kevent waits for events, retrying EINTR with the time that is left so that
// a stream of signals cannot stretch the wait.
func (p *kqueue) kevent(timeout time.Duration) (int, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		// The timespec lives in p: a pointer to a local would escape, and
		// Wait must not allocate.
		var ts *unix.Timespec
		if timeout >= 0 {
			p.ts = unix.NsecToTimespec(int64(timeout))
			ts = &p.ts
		}
		n, err := unix.Kevent(p.kq, nil, p.events, ts)
		if err == nil {
			return n, nil
		}
		if err != unix.EINTR {
			return 0, os.NewSyscallError("kevent", err)
		}
		if timeout > 0 {
			timeout = max(time.Until(deadline), 0)
		}
	}
}

// Wake implements Poller.
func (p *kqueue) Wake() error { return p.wake.wake() }

// Close implements Poller.
func (p *kqueue) Close() error {
	err := p.wake.close()
	if err == ErrClosed {
		return err
	}
	if err2 := unix.Close(p.kq); err == nil && err2 != nil {
		err = os.NewSyscallError("close", err2)
	}
	p.kq = -1
	return err
}

// Kind implements Poller.
func (p *kqueue) Kind() Kind { return Kqueue }
