package fifo

import (
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer drives a Listener the way an event loop would, with poll(2) on
// one goroutine, and echoes every accepted pair on a goroutine of its own.
type testServer struct {
	l       *Listener
	wake    [2]int
	skipped chan error // every request the server skipped, with the reason
	served  chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	files   []*os.File
}

func startTestServer(t *testing.T, path string, cfg ListenConfig) *testServer {
	t.Helper()
	l, err := Listen(path, cfg)
	require.NoError(t, err)
	s := &testServer{l: l, skipped: make(chan error, 1024), served: make(chan struct{})}
	require.NoError(t, unix.Pipe(s.wake[:]))
	for _, fd := range s.wake {
		unix.CloseOnExec(fd)
		require.NoError(t, unix.SetNonblock(fd, true))
	}
	go s.serve()
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) serve() {
	defer close(s.served)
	var pending []*Handshake
	for {
		timeout := -1
		if len(pending) > 0 {
			timeout = 2 // retry the handshakes that wait for their client
		}
		fds := []unix.PollFd{{Fd: int32(s.l.Fd()), Events: unix.POLLIN}, {Fd: int32(s.wake[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, timeout); err != nil && err != unix.EINTR {
			panic(err)
		}
		if fds[1].Revents != 0 {
			for _, h := range pending {
				h.Close()
			}
			return
		}
		if fds[0].Revents != 0 {
			s.l.ReadRequests(func(req Request, err error) {
				if err != nil {
					s.skipped <- err
					return
				}
				h, err := s.l.Begin(req)
				if err != nil {
					s.skipped <- err
					return
				}
				pending = append(pending, h)
			})
		}
		waiting := pending[:0]
		for _, h := range pending {
			done, err := h.Step()
			switch {
			case err != nil:
				h.Close()
				s.skipped <- err
			case done:
				s.echo(h.Fds())
			default:
				waiting = append(waiting, h)
			}
		}
		pending = waiting
	}
}

func (s *testServer) echo(rfd, wfd int) {
	r, w := os.NewFile(uintptr(rfd), "c2s"), os.NewFile(uintptr(wfd), "s2c")
	s.mu.Lock()
	s.files = append(s.files, r, w)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		io.Copy(w, r)
		w.Close()
		r.Close()
	}()
}

// stop ends the server: the poll goroutine, then the echo goroutines (their
// files are closed so that none waits on a client the test abandoned).
func (s *testServer) stop() {
	unix.Write(s.wake[1], []byte{1})
	<-s.served
	s.mu.Lock()
	for _, f := range s.files {
		f.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	unix.Close(s.wake[0])
	unix.Close(s.wake[1])
	s.l.Close()
}

// nextSkip waits (bounded) for the next request the server skipped.
func (s *testServer) nextSkip(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.skipped:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the server skipped no request")
		return nil
	}
}
