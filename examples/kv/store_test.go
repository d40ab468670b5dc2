package main

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"42", 42, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false}, {"184467440737095516160", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"01", 0, false}, {"+1", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false}, {"1.5", 0, false},
	} {
		got, ok := parseInt([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSweepIsBounded(t *testing.T) {
	s := newStore()
	soon := s.now() + int64(time.Millisecond)
	for i := 0; i < 5000; i++ {
		s.set([]byte("k"+strconv.Itoa(i)), []byte("v"), setMode{expireAt: soon})
	}
	s.set([]byte("stay"), []byte("v"), setMode{})
	time.Sleep(2 * time.Millisecond)
	if n := s.sweep(100); n > 100 || n == 0 {
		t.Fatalf("sweep(100) deleted %d", n)
	}
	for s.sweep(1000) > 0 {
	}
	if keys, expires := s.size(); keys != 1 || expires != 0 {
		t.Fatalf("after sweeping: %d keys, %d with a deadline; want 1, 0", keys, expires)
	}
}

func TestStoreOverwriteKeepsExpiresConsistent(t *testing.T) {
	s := newStore()
	k := []byte("k")
	far := s.now() + int64(time.Hour)
	s.set(k, []byte("1"), setMode{expireAt: far})
	if _, e := s.size(); e != 1 {
		t.Fatalf("%d keys with a deadline, want 1", e)
	}
	s.set(k, []byte("2"), setMode{keepTTL: true})
	if d := s.ttl(k); d <= 0 {
		t.Fatalf("KEEPTTL lost the deadline: %v", d)
	}
	s.set(k, []byte("3"), setMode{})
	if _, e := s.size(); e != 0 || s.ttl(k) != -1 {
		t.Fatalf("plain SET kept a deadline: %d, %v", e, s.ttl(k))
	}
	s.mset([][]byte{k, []byte("4")})
	if e, ok := s.get(k); !ok || string(e.val) != "4" {
		t.Fatalf("after MSET: %q, %v", e.val, ok)
	}
}
