//go:build unix

package poller

import (
	"time"

	"golang.org/x/sys/unix"
)

// retryEINTR calls wait with a timeout in milliseconds, and again after
// each EINTR with the time that is left, so that a stream of signals cannot
// stretch the wait (and make the loop's timers late). wait is not kept, so
// passing a method value allocates nothing.
func retryEINTR(timeout time.Duration, wait func(ms int) (int, error)) (int, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	ms := timeoutMillis(timeout)
	for {
		n, err := wait(ms)
		if err != unix.EINTR {
			return n, err
		}
		if timeout > 0 {
			ms = timeoutMillis(max(time.Until(deadline), 0))
		}
	}
}
