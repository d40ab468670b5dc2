//go:build linux

package main

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdServer is an in-process echo server for the holder's tests: a
// goroutine per conn, the peers' addresses recorded, and faults on demand.
type holdServer struct {
	ln      net.Listener
	corrupt bool // flip the first byte of every read longer than one byte

	mu    sync.Mutex
	conns []net.Conn
	peers map[string]int // source address -> conns
	wg    sync.WaitGroup
}

func startHoldServer(t *testing.T, corrupt bool) *holdServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &holdServer{ln: ln, corrupt: corrupt, peers: map[string]int{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.peers[c.RemoteAddr().(*net.TCPAddr).IP.String()]++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.echo(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.closeConns()
		s.wg.Wait()
	})
	return s
}

func (s *holdServer) echo(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 1 && s.corrupt {
			buf[0] ^= 0xff
		}
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

// closeConns closes every conn accepted so far, as a stopping server would.
func (s *holdServer) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
}

func (s *holdServer) addr() string { return s.ln.Addr().String() }

func TestHolderOpensExchangesAndCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	srv := startHoldServer(t, false)
	const n = 200
	h, err := openHolder(holdConfig{Addr: srv.addr(), Conns: n, Active: 0.1, Size: 100, Workers: 2, PerIP: 50, Window: 16, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Conns() != n || h.Opened <= 0 {
		t.Fatalf("%d conns open after %v, want %d", h.Conns(), h.Opened, n)
	}
	srv.mu.Lock()
	peers := len(srv.peers)
	for ip, k := range srv.peers {
		if !strings.HasPrefix(ip, "127.10.0.") || k != 50 {
			t.Errorf("%d conns from %s, want 50 from each of 127.10.0.1-4", k, ip)
		}
	}
	srv.mu.Unlock()
	if peers != n/50 {
		t.Errorf("conns came from %d source addresses, want %d", peers, n/50)
	}

	// 20 active conns, each sending once in every second at its own offset.
	ex, err := h.exchange(1100*time.Millisecond, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Sent < 20 || ex.Sent > 22 || ex.Latency.Count() != ex.Sent || ex.Missed != 0 {
		t.Fatalf("sent %d, echoed %d, missed %d; want 20-22 sent, all echoed", ex.Sent, ex.Latency.Count(), ex.Missed)
	}

	// The server closes everything: every conn sees its end and closes.
	pc := h.closeOnEOF()
	srv.closeConns()
	eof, reset, err := pc.wait(h, 10*time.Second)
	if err != nil || eof+reset != n || h.Conns() != 0 {
		t.Fatalf("ends: %d FIN, %d reset, %v; %d still open", eof, reset, err, h.Conns())
	}
}

func TestHolderDetectsFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	t.Run("corrupted echo", func(t *testing.T) {
		srv := startHoldServer(t, true)
		h, err := openHolder(holdConfig{Addr: srv.addr(), Conns: 20, Active: 0.5, Size: 64, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err) // one-byte pings pass uncorrupted
		}
		defer h.Close()
		if _, err := h.exchange(1100*time.Millisecond, 2*time.Second); err == nil || !strings.Contains(err.Error(), "byte 0") {
			t.Fatalf("exchange: %v, want a byte mismatch", err)
		}
	})
	t.Run("held conn closed", func(t *testing.T) {
		srv := startHoldServer(t, false)
		h, err := openHolder(holdConfig{Addr: srv.addr(), Conns: 20, Active: 0.05, Size: 64, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		srv.closeConns()
		if _, err := h.exchange(2*time.Second, time.Second); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("exchange: %v, want a closed conn", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if h, err := openHolder(holdConfig{Addr: addr, Conns: 5, Timeout: 5 * time.Second}); err == nil {
			h.Close()
			t.Fatal("opened conns to a closed port")
		}
	})
	t.Run("not loopback", func(t *testing.T) {
		if _, err := openHolder(holdConfig{Addr: "10.0.0.1:80", Conns: 5}); err == nil {
			t.Fatal("accepted a non-loopback address")
		}
	})
}

func TestRunC1M(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	srv := startHoldServer(t, false)
	const n = 100
	r, err := runC1M(c1mConfig{
		holdConfig: holdConfig{Addr: srv.addr(), Conns: n, Active: 0.1, Size: 32, Timeout: 10 * time.Second},
		PID:        os.Getpid(),
		Hold:       1050 * time.Millisecond,
		Settle:     20 * time.Millisecond,
		Stop: func() (time.Duration, time.Duration, error) {
			begin := time.Now()
			srv.closeConns()
			return time.Since(begin), -1, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accept <= 0 || r.RSSHeld <= 0 || r.Exchange.Sent < 10 || r.StopTime < 0 || r.PeerEOF+r.PeerReset != n {
		t.Fatalf("result %+v", r)
	}
	if s := c1mSummary(r); !strings.Contains(s, "100 conns accepted") {
		t.Errorf("summary %q", s)
	}
	if _, err := runC1M(c1mConfig{holdConfig: holdConfig{Addr: srv.addr(), Conns: 1}}); err == nil {
		t.Error("ran without a pid")
	}
}
