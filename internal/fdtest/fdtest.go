//go:build unix

// Package fdtest holds what evloop's tests share about file descriptors:
// counting this process's fds, raising RLIMIT_NOFILE, and dialing a server
// while it stops. It is imported by tests only.
package fdtest

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Open counts this process's open fds; the test is skipped where
// /proc/self/fd is missing.
func Open(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// RaiseNoFile raises the soft RLIMIT_NOFILE to want for the test's duration,
// skipping the test if the hard limit is lower.
func RaiseNoFile(t testing.TB, want uint64) {
	t.Helper()
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	if uint64(lim.Cur) >= want {
		return
	}
	old := lim
	setLimit(&lim.Cur, min(want, uint64(lim.Max)))
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	if uint64(lim.Cur) < want {
		t.Skipf("RLIMIT_NOFILE hard limit %d < %d", lim.Max, want)
	}
}

// setLimit stores v in an rlimit field, which is a uint64 on Linux and
// darwin and an int64 on the BSDs.
func setLimit[T int64 | uint64](field *T, v uint64) { *field = T(v) }

// DialWhileStopping dials addr from four goroutines in a loop, each conn
// waiting up to readWait for the server to close or reset it, and calls stop
// once conns are in flight. It returns how many conns were still open after
// readWait: conns nobody closed.
func DialWhileStopping(addr string, readWait time.Duration, stop func()) int64 {
	var hung atomic.Int64
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue // refused once the listener is gone
				}
				// Every conn must end: served and closed by the stop, or
				// reset with the listener. A read that times out is a conn
				// nobody owns.
				c.SetReadDeadline(time.Now().Add(readWait))
				_, err = c.Read(make([]byte, 1))
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					hung.Add(1)
				}
				c.Close()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // conns in flight when the stop begins: that is the case under test
	stop()
	close(quit)
	wg.Wait()
	return hung.Load()
}
