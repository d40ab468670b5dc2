package evloop_test

// Engine.Drain: the engine stops accepting, tells every conn (OnStop) and
// serves them on until they close; Stop after it closes the rest gracefully.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// echoLine sends one line on c and reads it back (after any lines skip
// says to expect first, such as a goodbye).
func echoLine(t *testing.T, r *bufio.Reader, c net.Conn, line string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := fmt.Fprintf(c, "%s\n", line)
	require.NoError(t, err)
	for {
		got, err := r.ReadString('\n')
		require.NoError(t, err)
		if got == "bye\n" {
			continue
		}
		require.Equal(t, line+"\n", got)
		return
	}
}

// TestDrainServesConnsUntilTheyEnd: conns open when the drain begins hear
// OnStop, keep being answered, and end when their clients close them; new
// conns are not served; Drain returns nil once the last conn is gone and
// the engine is done.
func TestDrainServesConnsUntilTheyEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGoodbye()
		e := start(t, g, "tcp://127.0.0.1:0", b)
		const n = 3
		conns := make([]net.Conn, n)
		readers := make([]*bufio.Reader, n)
		for i := range conns {
			conns[i] = dial(t, e)
			defer conns[i].Close()
			readers[i] = bufio.NewReader(conns[i])
			echoLine(t, readers[i], conns[i], "before")
		}
		drained := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			drained <- e.Drain(ctx)
		}()
		for range conns {
			recv(t, g.stopped, "OnStop")
		}
		select {
		case <-e.Stopping():
		default:
			t.Fatal("Stopping is not closed during a drain")
		}
		// A new conn is not served (refused, or closed unanswered).
		if nc, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second); err == nil {
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			nc.Write([]byte("late\n"))
			got, _ := io.ReadAll(nc)
			require.Empty(t, got, "a conn that arrived during the drain was served")
			nc.Close()
		}
		for round := 0; round < 3; round++ {
			for i, c := range conns {
				echoLine(t, readers[i], c, fmt.Sprintf("during %d", round))
			}
		}
		for i, c := range conns {
			select {
			case err := <-drained:
				t.Fatalf("Drain returned (%v) with %d conns open", err, n-i)
			default:
			}
			c.Close()
		}
		require.NoError(t, recv(t, drained, "Drain's end"))
		recv(t, e.Done(), "Done")
		require.Len(t, g.stopped, 0, "OnStop ran more than once a conn")
	})
}

// TestStopAfterDrain: Stop closes what the drain left, gracefully (a clean
// EOF after every reply), without a second OnStop.
func TestStopAfterDrain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGoodbye()
		e := start(t, g, "tcp://127.0.0.1:0", b)
		c := dial(t, e)
		defer c.Close()
		r := bufio.NewReader(c)
		echoLine(t, r, c, "before")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, e.Drain(ctx), context.Canceled, "the conn is still open")
		recv(t, g.stopped, "OnStop")
		echoLine(t, r, c, "after the drain's end")
		stopped := stopAsync(e)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := io.ReadAll(r)
		require.NoError(t, err, "a graceful close")
		require.Empty(t, rest)
		c.Close()
		require.NoError(t, recv(t, stopped, "Stop's end"))
		require.NoError(t, recv(t, g.closed, "OnClose"))
		require.Len(t, g.stopped, 0, "a second OnStop")
	})
}

// TestDrainBehindTLS: a drained TLS conn hears OnStop through the layer
// and serves on (no close_notify yet); it ends cleanly when its client
// closes it.
func TestDrainBehindTLS(t *testing.T) {
	cert, err := selfsigned.New("localhost", "127.0.0.1")
	require.NoError(t, err)
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGoodbye()
		e := start(t, g, "tls://127.0.0.1:0", b, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.Addrs()[0].String(), &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		defer c.Close()
		r := bufio.NewReader(c)
		echoLine(t, r, c, "before")
		drained := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			drained <- e.Drain(ctx)
		}()
		recv(t, g.stopped, "OnStop behind TLS")
		echoLine(t, r, c, "during")
		c.Close()
		require.NoError(t, recv(t, drained, "Drain's end"))
		err = recv(t, g.closed, "OnClose")
		require.True(t, err == nil || errors.Is(err, io.EOF), "a clean end: %v", err)
	})
}

// TestDrainHandsOverEveryDial: two engines serve one listening socket, as
// the old and the new process do in an upgrade, while clients dial on; the
// first drains. Every dial is answered: none is reset by the draining
// engine, and none waits in the backlog because the draining engine took
// the wakeup meant for the other (io_uring's accept waits on a socket
// exclusively: one waiter is woken per connection).
func TestDrainHandsOverEveryDial(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if strings.HasPrefix(b.name, "gnet") {
			t.Skip("gnet binds its own sockets and serves no inherited one (docs/backends.md)")
		}
		for round := 0; round < 3; round++ {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			f, err := ln.(*net.TCPListener).File()
			require.NoError(t, err)
			ln.Close()
			addr := ln.Addr().String()
			// Each engine takes its fd over and closes it at Stop.
			fdA, err := syscall.Dup(int(f.Fd()))
			require.NoError(t, err)
			fdB, err := syscall.Dup(int(f.Fd()))
			require.NoError(t, err)
			f.Close()
			old := start(t, newRecorder(), fmt.Sprintf("tcp://%s?fd=%d", addr, fdA), b)
			start(t, newRecorder(), fmt.Sprintf("tcp://%s?fd=%d", addr, fdB), b)

			var (
				mu       sync.Mutex
				dials    int
				failures []error
				wg       sync.WaitGroup
			)
			stop := make(chan struct{})
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						err := pingOnce(addr)
						mu.Lock()
						dials++
						if err != nil {
							failures = append(failures, err)
						}
						mu.Unlock()
					}
				}()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			require.NoError(t, old.Drain(ctx))
			cancel()
			mu.Lock()
			want := dials + 40
			mu.Unlock()
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return dials >= want || len(failures) > 0
			}, 10*time.Second, time.Millisecond)
			close(stop)
			wg.Wait()
			require.Empty(t, failures, "round %d, of %d dials", round, dials)
		}
	})
}

// pingOnce dials addr, sends a line and reads it back, within 3 s.
func pingOnce(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "ping\n" {
		return fmt.Errorf("got %q", buf)
	}
	return nil
}
