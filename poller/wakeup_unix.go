//go:build unix

package poller

import (
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// wakeup is the coalesced cross-goroutine wakeup every poller shares: the
// poller watches rfd for readability and Wake writes to wfd. On Linux both are
// one eventfd; elsewhere they are the two ends of a nonblocking pipe.
type wakeup struct {
	rfd, wfd int
	pending  atomic.Bool // a wakeup is in flight: later Wakes need no syscall
	closed   atomic.Bool
	// mu orders Wake's write against close. Without it a Wake racing Close
	// (a goroutine posting a task while the engine shuts down) could write to
	// a fd number the kernel has already handed to a new connection.
	mu       sync.Mutex
	drainBuf [64]byte
}

// wakeMsg is what Wake writes: an eventfd wants an 8-byte counter increment,
// and a pipe takes the same 8 bytes atomically (fewer than PIPE_BUF).
var wakeMsg = [8]byte{1}

// newPipeWakeup makes a wakeup over a nonblocking, close-on-exec pipe.
func newPipeWakeup() (*wakeup, error) {
	r, w, err := pipeNonblockCloexec()
	if err != nil {
		return nil, err
	}
	return &wakeup{rfd: r, wfd: w}, nil
}

func (w *wakeup) wake() error {
	if w.closed.Load() {
		return ErrClosed
	}
	if !w.pending.CompareAndSwap(false, true) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return ErrClosed
	}
	for {
		_, err := unix.Write(w.wfd, wakeMsg[:])
		if err == unix.EINTR {
			continue
		}
		// EAGAIN: the eventfd counter or the pipe is full, so the poller will
		// see it readable anyway.
		if err == nil || err == unix.EAGAIN {
			return nil
		}
		return os.NewSyscallError("write", err)
	}
}

// drain consumes pending wakeups; Wait calls it when rfd is readable. It
// reads before clearing pending: a Wake that still finds pending set skips its
// write, which is safe because Wait is about to return and the caller then
// runs whatever that Wake announced; a Wake after the Store writes again, so
// the next Wait returns at once. No wakeup is lost either way.
func (w *wakeup) drain() {
	for {
		n, err := unix.Read(w.rfd, w.drainBuf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n < len(w.drainBuf) {
			break
		}
	}
	w.pending.Store(false)
}

func (w *wakeup) isClosed() bool { return w.closed.Load() }

// close releases the wakeup's fds once; later calls return ErrClosed.
func (w *wakeup) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Swap(true) {
		return ErrClosed
	}
	err := unix.Close(w.rfd)
	if w.wfd != w.rfd {
		if err2 := unix.Close(w.wfd); err == nil {
			err = err2
		}
	}
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
