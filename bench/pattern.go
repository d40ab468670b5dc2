package main

import "bytes"

// Every byte the generator sends is taken from one fixed pseudo-random
// stream, so any echoed byte can be checked against what was sent at the
// same stream offset: a lost, duplicated, reordered or foreign byte shows up
// as a mismatch. Each connection starts at its own offset in the stream.

// patPeriod is the length of the pattern (a prime, so that message sizes
// that are powers of two do not line up with it).
const patPeriod = 65521

var patTable = func() []byte {
	t := make([]byte, patPeriod)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range t {
		// xorshift64*
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		t[i] = byte((x * 0x2545F4914F6CDD1D) >> 56)
	}
	return t
}()

// streamBase is the pattern offset at which connection id starts.
func streamBase(id int) uint64 { return uint64(id) * 7919 }

// patFill fills dst with the pattern starting at stream offset off.
func patFill(dst []byte, off uint64) {
	for len(dst) > 0 {
		i := off % patPeriod
		n := copy(dst, patTable[i:])
		dst = dst[n:]
		off += uint64(n)
	}
}

// patCheck reports whether got equals the pattern starting at offset off.
// On a mismatch it also returns the index of the first differing byte.
func patCheck(got []byte, off uint64) (ok bool, at int) {
	done := 0
	for done < len(got) {
		i := off % patPeriod
		n := len(got) - done
		if rem := patPeriod - int(i); n > rem {
			n = rem
		}
		want := patTable[i : int(i)+n]
		if !bytes.Equal(got[done:done+n], want) {
			for k := range want {
				if got[done+k] != want[k] {
					return false, done + k
				}
			}
		}
		done += n
		off += uint64(n)
	}
	return true, -1
}
