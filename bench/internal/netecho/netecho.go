// Package netecho is the standard-library reference echo server used by the
// benchmark harness: one goroutine per connection, each copying what it reads
// back to the peer through a buffer taken from a sync.Pool.
//
// It lives in an internal package so that bench/netecho (the runnable
// program) and the harness's end-to-end test share one implementation.
package netecho

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultBufferSize is the size of the pooled per-connection copy buffer.
const DefaultBufferSize = 16 << 10

// Server is a goroutine-per-connection echo server.
type Server struct {
	bufPool sync.Pool
	ln      net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup
}

// New returns a Server that copies through buffers of bufSize bytes
// (DefaultBufferSize when bufSize <= 0).
func New(bufSize int) *Server {
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	s := &Server{conns: make(map[net.Conn]struct{})}
	s.bufPool.New = func() any {
		b := make([]byte, bufSize)
		return &b
	}
	return s
}

// Serve accepts connections on ln until ln is closed (by Shutdown or by the
// caller) and echoes each one in its own goroutine. It returns nil once the
// listener has been closed by Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Temporary conditions (EMFILE and the like): back off, bounded,
			// rather than spin.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff < time.Second {
				backoff *= 2
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.track(c) {
			_ = c.Close()
			return nil
		}
		s.wg.Add(1)
		go s.echo(c)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// echo is the io.Copy-like loop: read into the pooled buffer, write it all
// back, until EOF or an error.
func (s *Server) echo(c net.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	Copy(c, *bp)
}

// Copy is the echo loop: read into buf, write it all back, until EOF or an
// error. bench/tlsbench/netls runs it on TLS conns after the handshake.
func Copy(c net.Conn, buf []byte) {
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Conns reports the number of open connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown closes the listener and every open connection, then waits for the
// connection goroutines to finish or for ctx to be done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SplitAddr turns "tcp://127.0.0.1:7000" (also tcp4://, tcp6://, or a bare
// "host:port", which means tcp) into a network and an address for net.Listen.
func SplitAddr(addr string) (network, hostport string, err error) {
	network, hostport, ok := strings.Cut(addr, "://")
	if !ok {
		return "tcp", addr, nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return "", "", fmt.Errorf("unsupported network %q in %q (want tcp, tcp4 or tcp6)", network, addr)
	}
	if hostport == "" {
		return "", "", fmt.Errorf("missing host:port in %q", addr)
	}
	return network, hostport, nil
}
