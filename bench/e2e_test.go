package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/bench/internal/netecho"
)

// startNetEcho serves the reference net echo server in this process on a
// free port of 127.0.0.1.
func startNetEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := netecho.New(0)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestEndToEndEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	addr := startNetEcho(t)
	for _, c := range []struct {
		name                  string
		conns, size, inflight int
	}{
		{"small pipelined", 8, 64, 4},
		{"large via writer goroutine", 2, 32 << 10, 4}, // 128 KiB in flight > syncWriteLimit
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := runEcho(echoConfig{
				Addr: addr, Conns: c.conns, Size: c.size, InFlight: c.inflight,
				Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond, PID: os.Getpid(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.BytesVerified == 0 || r.BytesVerified != r.BytesSent {
				t.Fatalf("verified %d of %d bytes", r.BytesVerified, r.BytesSent)
			}
			if r.Msgs == 0 || r.Latency.Count() != r.Msgs || r.MsgsPerSec <= 0 {
				t.Fatalf("msgs %d, latency samples %d, rate %v", r.Msgs, r.Latency.Count(), r.MsgsPerSec)
			}
			if p50, p99 := r.Latency.Quantile(0.5), r.Latency.Quantile(0.99); p50 <= 0 || p99 < p50 {
				t.Fatalf("latency p50 %v p99 %v", p50, p99)
			}
			if runtime.GOOS == "linux" && (r.ServerCPU < 0 || r.ServerMem.RSS <= 0) {
				t.Fatalf("no server figures from /proc: cpu %v mem %+v", r.ServerCPU, r.ServerMem)
			}
			t.Logf("%.0f msgs/s, %d bytes verified, p99 %v", r.MsgsPerSec, r.BytesVerified, r.Latency.Quantile(0.99))
		})
	}
	t.Run("churn", func(t *testing.T) {
		r, err := runChurn(churnConfig{Addr: addr, Workers: 2, Size: 64, Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Conns == 0 || r.BytesVerified == 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("slow reader", func(t *testing.T) {
		r, err := runSlow(slowConfig{Addr: addr, Bytes: 4 << 20, SlowPhase: 100 * time.Millisecond, Timeout: 20 * time.Second, PID: os.Getpid()})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verified != 4<<20 || r.Sent != r.Verified {
			t.Fatalf("sent %d verified %d", r.Sent, r.Verified)
		}
	})
	t.Run("idle", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("needs /proc")
		}
		r, err := runIdle(idleConfig{Addr: addr, Conns: 50, PID: os.Getpid(), Settle: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Conns != 50 || r.RSSAfter <= 0 {
			t.Fatalf("%+v", r)
		}
	})
}

// badEcho serves connections with f, which gets what was read and returns
// what to write back (nil closes the connection).
func badEcho(t *testing.T, f func(total int, p []byte) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				total := 0
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					out := f(total, buf[:n])
					total += n
					if out == nil {
						return
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestEchoDetectsBadServers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	cfg := echoConfig{Conns: 2, Size: 64, InFlight: 2, Warmup: 10 * time.Millisecond, Duration: 200 * time.Millisecond, Drain: time.Second}
	cases := map[string]func(total int, p []byte) []byte{
		"corrupts a byte": func(total int, p []byte) []byte {
			if total <= 1000 && total+len(p) > 1000 {
				p[1000-total] ^= 1
			}
			return p
		},
		"drops a byte": func(total int, p []byte) []byte {
			if total <= 500 && total+len(p) > 500 {
				return append(p[:500-total:500-total], p[500-total+1:]...)
			}
			return p
		},
		"hangs up": func(total int, p []byte) []byte {
			if total > 2000 {
				return nil
			}
			return p
		},
		"stops echoing": func(total int, p []byte) []byte {
			if total > 2000 {
				return []byte{}
			}
			return p
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			c := cfg
			c.Addr = badEcho(t, f)
			if _, err := runEcho(c); err == nil {
				t.Fatal("bad server passed")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestServerProcesses builds the reference servers and runs them the way
// -compare does: start on a free port, wait for "listening", load, SIGTERM.
func TestServerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	dir := t.TempDir()
	for _, s := range []*serverSpec{
		{Key: "net", Name: "net", Pkg: "./netecho"},
		{Key: "gnet", Name: "gnet", Pkg: "./gnetecho"},
	} {
		t.Run(s.Name, func(t *testing.T) {
			s.Bin = filepath.Join(dir, s.Key)
			out, err := exec.Command("go", "build", "-o", s.Bin, s.Pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go build %s: %v\n%s", s.Pkg, err, out)
			}
			srv, err := startServer(s, 2, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(srv.Addr, "127.0.0.1:") {
				t.Errorf("server address %q", srv.Addr)
			}
			r, err := runEcho(echoConfig{Addr: srv.Addr, Conns: 4, Size: 64, InFlight: 2,
				Warmup: 20 * time.Millisecond, Duration: 300 * time.Millisecond, PID: srv.PID})
			if stopErr := srv.stop(5 * time.Second); stopErr != nil {
				t.Errorf("stop: %v", stopErr)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.BytesVerified == 0 || r.ServerCPU < 0 {
				t.Fatalf("verified %d bytes, server CPU %v", r.BytesVerified, r.ServerCPU)
			}
		})
	}

	t.Run("failing servers", func(t *testing.T) {
		exits := &serverSpec{Name: "exits", Bin: "/bin/false"}
		if _, err := startServer(exits, 2, 5*time.Second); err == nil || !strings.Contains(err.Error(), "exited before listening") {
			t.Errorf("exiting server: %v", err)
		}
		script := filepath.Join(dir, "silent.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho starting\nsleep 3\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		silent := &serverSpec{Name: "silent", Bin: script}
		begin := time.Now()
		if _, err := startServer(silent, 2, 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "no \"listening\" line") {
			t.Errorf("silent server: %v", err)
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("silent server took %v to give up", d)
		}
		broken := &serverSpec{Name: "broken", BuildErr: os.ErrNotExist}
		if _, err := startServer(broken, 2, time.Second); err == nil {
			t.Error("unbuilt server started")
		}
	})
}
