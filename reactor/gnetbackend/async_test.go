//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bufio"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestAsyncWriteOrderPerGoroutine writes numbered lines from many goroutines
// and checks that each goroutine's lines arrive in the order it wrote them.
func TestAsyncWriteOrderPerGoroutine(t *testing.T) {
	const writers, perWriter = 16, 500
	r := newRecorder()
	var doneCalls atomic.Int32
	var wrongConn atomic.Int32
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	oc := within(t, r.opened, "OnOpen")
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				line := []byte(fmt.Sprintf("%d %d\n", g, i))
				var err error
				if i%2 == 0 {
					err = oc.AsyncWrite(line, func(got conn.Conn, err error) error {
						if got != oc || err != nil {
							wrongConn.Add(1)
						}
						doneCalls.Add(1)
						return nil
					})
				} else {
					err = oc.AsyncWritev([][]byte{line[:1], line[1:]}, nil)
				}
				if err != nil {
					t.Errorf("AsyncWrite: %v", err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	sc := bufio.NewScanner(c)
	for n := 0; n < writers*perWriter; n++ {
		require.True(t, sc.Scan(), "line %d: %v", n, sc.Err())
		var g, i int
		_, err := fmt.Sscanf(sc.Text(), "%d %d", &g, &i)
		require.NoError(t, err)
		require.Equal(t, next[g], i, "writer %d out of order", g)
		next[g]++
	}
	wg.Wait()
	require.NoError(t, c.Close())
	within(t, r.closed, "OnClose")
	require.EqualValues(t, writers*perWriter/2, doneCalls.Load())
	require.Zero(t, wrongConn.Load(), "callbacks get the evloop conn and no error")
}

func TestWakeCallsOnTraffic(t *testing.T) {
	r := newRecorder()
	woken := make(chan int, 1)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		woken <- c.InboundBuffered()
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	dial(t, e, 0)
	oc := within(t, r.opened, "OnOpen")
	require.NoError(t, oc.Wake())
	require.Equal(t, 0, within(t, woken, "OnTraffic after Wake"))
}

func TestContextIsTheHandlers(t *testing.T) {
	r := newRecorder()
	type state struct{ n int }
	got := make(chan int, 4)
	r.onOpen = func(c conn.Conn) reactor.Action {
		require.Nil(t, c.Context())
		c.SetContext(&state{})
		return reactor.None
	}
	r.onTraffic = func(c conn.Conn) reactor.Action {
		s := c.Context().(*state)
		s.n += c.InboundBuffered()
		c.Discard(-1)
		got <- s.n
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	_, err := c.Write([]byte("abc"))
	require.NoError(t, err)
	require.Equal(t, 3, within(t, got, "traffic"))
	_, err = c.Write([]byte("de"))
	require.NoError(t, err)
	require.Equal(t, 5, within(t, got, "traffic"))
}
