// Package poller is evloop's readiness layer: the only package that knows the
// operating system's readiness API.
//
// The contract, in the manner of Redis's ae and Go's netpoller:
//
//   - A Poller watches nonblocking file descriptors for readability and
//     writability. Interest is level-triggered: a fd that stays readable is
//     reported on every Wait until it is drained or its interest changes.
//   - Add registers a fd once; Modify changes its interest; Remove forgets it
//     and must be called before the fd is closed (a closed fd may be reused by
//     the kernel for a new connection at once).
//   - Wait blocks until at least one fd is ready, Wake is called, or the
//     timeout passes. It retries EINTR itself and calls fn once per ready fd.
//     Only one goroutine (the loop's) calls Add, Modify, Remove and Wait.
//   - Wake may be called from any goroutine. Wakeups coalesce: many Wake calls
//     before the loop runs cost one wakeup (an eventfd for epoll, a
//     nonblocking pipe for poll and kqueue).
//   - Hangup, Error and ReadHangup are reported whatever the interest: a
//     caller that reads after them sees the remaining bytes, then EOF or the
//     error. (kqueue is the exception: with no interest at all it has no
//     filter on the fd, so it reports nothing until interest is set again.)
//   - Close releases the poller's own fds. Every later call, including a Wake
//     racing Close from another goroutine, returns ErrClosed and touches no
//     fd, since the kernel may already have reused the numbers.
//
// Non-goals: edge-triggered mode, one-shot registration, timers (the loop
// keeps those), and Windows.
//
// Applications do not need this package: package reactor runs the loops, and
// its WithPoller option picks a Kind. Start with New for a loop of one's own;
// ExampleNew is runnable.
package poller

import (
	"errors"
	"fmt"
	"time"
)

// Event is a set of readiness conditions for one fd.
type Event uint32

// Readiness conditions. Readable and Writable are also the interest a caller
// asks for; the others are reported whether asked for or not.
const (
	Readable   Event = 1 << iota // data (or EOF) can be read without blocking
	Writable                     // a write would not block
	Hangup                       // the peer closed (POLLHUP/EPOLLHUP/EV_EOF)
	Error                        // an error is pending on the fd (POLLERR)
	ReadHangup                   // the peer shut down its writing half (EPOLLRDHUP)
)

// String names the set, for logs and test failures.
func (e Event) String() string {
	if e == 0 {
		return "none"
	}
	names := []string{"readable", "writable", "hangup", "error", "read-hangup"}
	s := ""
	for i, n := range names {
		if e&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	return s
}

// Poller is a readiness multiplexer over nonblocking fds. See the package
// documentation for the contract.
type Poller interface {
	// Add starts watching fd for the given interest (Readable, Writable or both).
	Add(fd int, interest Event) error
	// Modify replaces the interest of a watched fd.
	Modify(fd int, interest Event) error
	// Remove stops watching fd. Call it before closing fd.
	Remove(fd int) error
	// Wait blocks for at most timeout (negative: no limit; zero: do not block)
	// and calls fn for every ready fd. It returns the number of fds reported.
	// A Wake makes it return early, possibly with zero fds.
	Wait(timeout time.Duration, fn func(fd int, ev Event)) (int, error)
	// Wake makes a blocked or the next Wait return. Safe from any goroutine.
	Wake() error
	// Close releases the poller's own fds. Watched fds are not closed.
	Close() error
	// Kind tells which implementation this is.
	Kind() Kind
}

// Kind selects a Poller implementation.
type Kind int

// Poller kinds. Auto picks epoll on Linux and kqueue on darwin and the BSDs.
const (
	Auto Kind = iota
	Epoll
	Poll
	Kqueue
)

// String returns the name used by the examples' -poller flag.
func (k Kind) String() string {
	switch k {
	case Auto:
		return "auto"
	case Epoll:
		return "epoll"
	case Poll:
		return "poll"
	case Kqueue:
		return "kqueue"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind maps a flag value ("auto", "epoll", "poll", "kqueue") to a Kind.
func ParseKind(s string) (Kind, error) {
	for _, k := range []Kind{Auto, Epoll, Poll, Kqueue} {
		if k.String() == s {
			return k, nil
		}
	}
	return Auto, fmt.Errorf("poller: unknown kind %q (want auto, epoll, poll or kqueue)", s)
}

// ErrUnsupported is returned by New for a kind this OS does not have.
var ErrUnsupported = errors.New("poller: kind not supported on this OS")

// ErrClosed is returned by calls on a closed Poller.
var ErrClosed = errors.New("poller: closed")

// New returns a Poller of the given kind.
func New(k Kind) (Poller, error) {
	switch k {
	case Auto:
		return newDefault()
	case Poll:
		return NewPoll()
	case Epoll:
		return newEpoll()
	case Kqueue:
		return newKqueue()
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupported, k)
}

// timeoutMillis converts a Wait timeout to the millisecond form of
// epoll_wait and poll(2), rounding up so that a timer is never woken early
// (waking early would spin the loop until the deadline).
func timeoutMillis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return int(ms)
}
