package poller

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// waitInBackground runs Wait(-1) on another goroutine and returns a channel
// that receives its result.
func waitInBackground(p Poller) <-chan error {
	done := make(chan error, 1)
	go func() {
		n, err := p.Wait(-1, func(int, Event) {})
		if err == nil && n != 0 {
			err = errors.New("a Wake alone reported fds")
		}
		done <- err
	}()
	return done
}

func requireReturns(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(patience):
		require.FailNow(t, "Wait(-1) not woken")
	}
}

func TestWakeUnblocksWait(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		// Many rounds, so that some Wakes land while Wait is blocked and some
		// before it starts; both must make it return.
		for range 200 {
			done := waitInBackground(p)
			go func() { assert.NoError(t, p.Wake()) }()
			requireReturns(t, done)
		}
	})
}

func TestWakeBeforeWait(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		require.NoError(t, p.Wake())
		requireReturns(t, waitInBackground(p))
		// The wakeup was consumed: the next Wait does not return at once.
		require.Empty(t, poll1(t, p, 10*time.Millisecond))
	})
}

func TestWakesCoalesce(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					assert.NoError(t, p.Wake())
				}
			}()
		}
		wg.Wait()

		// 8000 Wakes wrote once: exactly one message waits in the fd.
		w := wakeupOf(p)
		var buf [64]byte
		n, err := unix.Read(w.rfd, buf[:])
		require.NoError(t, err)
		require.Equal(t, len(wakeMsg), n)
		_, err = unix.Read(w.rfd, buf[:])
		require.ErrorIs(t, err, unix.EAGAIN)
		w.pending.Store(false) // the test stole the message from Wait

		// And the poller still works.
		go func() { assert.NoError(t, p.Wake()) }()
		requireReturns(t, waitInBackground(p))
	})
}

// wakeupOf reaches into a poller for white-box checks.
func wakeupOf(p Poller) *wakeup {
	switch p := p.(type) {
	case *poll:
		return p.wake
	default:
		return platformWakeupOf(p)
	}
}

func TestWakeRacingClose(t *testing.T) {
	forEachKind(t, func(t *testing.T, p Poller) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					// Nobody waits, so after the first Wake the rest coalesce;
					// Close is what must end the loop.
					err := p.Wake()
					if errors.Is(err, ErrClosed) {
						return
					}
					if !assert.NoError(t, err) {
						return
					}
					// Force the write path, so Wakes really race Close.
					wakeupOf(p).pending.Store(false)
				}
			}()
		}
		close(start)
		require.NoError(t, p.Close())
		wg.Wait()
		require.ErrorIs(t, p.Wake(), ErrClosed)
	})
}
