package main

import "testing"

func TestPatternRoundTrip(t *testing.T) {
	for _, off := range []uint64{0, 1, patPeriod - 10, patPeriod, 3*patPeriod + 17, streamBase(99)} {
		buf := make([]byte, 2*patPeriod+5) // crosses the wrap twice
		patFill(buf, off)
		if ok, at := patCheck(buf, off); !ok {
			t.Fatalf("offset %d: fresh fill fails check at %d", off, at)
		}
		// Check in pieces, as reads return them.
		for start := 0; start < len(buf); start += 1000 {
			end := min(start+1000, len(buf))
			if ok, _ := patCheck(buf[start:end], off+uint64(start)); !ok {
				t.Fatalf("offset %d: piece at %d fails", off, start)
			}
		}
		buf[patPeriod+3] ^= 0x40
		if ok, at := patCheck(buf, off); ok || at != patPeriod+3 {
			t.Fatalf("offset %d: corruption at %d reported as ok=%v at=%d", off, patPeriod+3, ok, at)
		}
	}
	// A shifted stream (a lost byte) does not pass.
	buf := make([]byte, 64)
	patFill(buf, 1)
	if ok, _ := patCheck(buf, 0); ok {
		t.Fatal("stream shifted by one byte passed the check")
	}
}
