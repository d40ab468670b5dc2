package pattern

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, off := range []uint64{0, 1, Period - 10, Period, 3*Period + 17, StreamBase(99)} {
		buf := make([]byte, 2*Period+5) // crosses the wrap twice
		Fill(buf, off)
		if ok, at := Check(buf, off); !ok {
			t.Fatalf("offset %d: fresh fill fails check at %d", off, at)
		}
		// Check in pieces, as reads return them.
		for start := 0; start < len(buf); start += 1000 {
			end := min(start+1000, len(buf))
			if ok, _ := Check(buf[start:end], off+uint64(start)); !ok {
				t.Fatalf("offset %d: piece at %d fails", off, start)
			}
		}
		buf[Period+3] ^= 0x40
		if ok, at := Check(buf, off); ok || at != Period+3 {
			t.Fatalf("offset %d: corruption at %d reported as ok=%v at=%d", off, Period+3, ok, at)
		}
	}
	// A shifted stream (a lost byte) does not pass.
	buf := make([]byte, 64)
	Fill(buf, 1)
	if ok, _ := Check(buf, 0); ok {
		t.Fatal("stream shifted by one byte passed the check")
	}
}
