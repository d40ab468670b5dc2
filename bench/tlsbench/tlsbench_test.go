//go:build linux

package main

import (
	"bytes"
	"crypto/tls"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evloop/evloop/internal/selfsigned"
)

func TestTableMediansAndRatios(t *testing.T) {
	rows := []row{{"r msgs/s", true, 0}, {"r CPU", false, 2}}
	tb := newTable(rows, []string{"a", "b"})
	for _, v := range []float64{30, 10, 20} {
		tb.add("r msgs/s", "a", v)
	}
	tb.add("r msgs/s", "b", 30)
	tb.add("r msgs/s", "b", 50)
	tb.fail("r msgs/s", "b", "round 3: boom")
	tb.add("r CPU", "a", 2)
	if m := tb.median("r msgs/s", "a"); m != 20 {
		t.Fatalf("median = %v, want 20", m)
	}
	if m := tb.median("r msgs/s", "b"); m != 40 {
		t.Fatalf("even median = %v, want 40", m)
	}
	if r := tb.ratio("r msgs/s", "b", "a"); r != 2 {
		t.Fatalf("ratio = %v, want 2", r)
	}
	if !math.IsNaN(tb.median("r CPU", "b")) {
		t.Fatal("median of nothing is not NaN")
	}
	var w bytes.Buffer
	tb.writeMarkdown(&w, map[string]string{"a": "A", "b": "B"}, "a", 3)
	out := w.String()
	for _, want := range []string{"| figure | A | B |", "| r msgs/s ↑ | 20 (1.00×) | 40 (2.00×) [2/3] |",
		"| r CPU ↓ | 2.00 (1.00×) [1/3] | failed |", "- r msgs/s, B: round 3: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// serveTLS runs a crypto/tls echo on loopback that passes each chunk through
// mangle before writing it back.
func serveTLS(t *testing.T, mangle func([]byte)) string {
	t.Helper()
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						mangle(buf[:n])
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestEchoVerifiesBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end over loopback TLS")
	}
	p := echoParams{pid: os.Getpid(), conns: 4, size: 1024, in: 4,
		warmup: 50 * time.Millisecond, duration: 200 * time.Millisecond, drain: 2 * time.Second}
	p.addr = serveTLS(t, func([]byte) {})
	r, err := runEcho(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.msgsPerSec <= 0 || r.bytes < int64(p.conns*p.in*p.size) {
		t.Fatalf("echo result %+v: nothing measured", r)
	}

	var calls atomic.Int64
	p.addr = serveTLS(t, func(b []byte) {
		if calls.Add(1) == 50 {
			b[len(b)/2] ^= 0x40
		}
	})
	if _, err := runEcho(p); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("corrupted echo: err = %v, want a 'differs' error", err)
	}
}

func TestHandshakesAndIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end over loopback TLS")
	}
	addr := serveTLS(t, func([]byte) {})
	r, err := runHandshakes(addr, os.Getpid(), 2, 64, 50*time.Millisecond, 200*time.Millisecond)
	if err != nil || r.perSec <= 0 {
		t.Fatalf("handshakes: %+v, %v", r, err)
	}
	ir, err := runIdle(addr, os.Getpid(), 20, 2, 10*time.Millisecond)
	if err != nil || ir.before <= 0 || ir.after <= 0 {
		t.Fatalf("idle: %+v, %v", ir, err)
	}
	if _, err := runIdle(addr, os.Getpid(), 5, 2, 0); err != nil {
		t.Fatal(err)
	}
}
