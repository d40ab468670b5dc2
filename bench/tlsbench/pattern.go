//go:build linux

package main

import "bytes"

// Every byte sent comes from one fixed pseudo-random stream (a small copy
// of bench/pattern.go, which lives in package main there), so each echoed
// byte can be checked against the byte sent at the same stream offset.

// patPeriod is the pattern's length: a prime, so that power-of-two message
// sizes do not line up with it.
const patPeriod = 65521

var patTable = func() []byte {
	t := make([]byte, patPeriod)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range t {
		x ^= x >> 12 // xorshift64*
		x ^= x << 25
		x ^= x >> 27
		t[i] = byte((x * 0x2545F4914F6CDD1D) >> 56)
	}
	return t
}()

// streamBase is the pattern offset at which connection id starts.
func streamBase(id int) uint64 { return uint64(id) * 7919 }

// patFill fills dst with the pattern from stream offset off.
func patFill(dst []byte, off uint64) {
	for len(dst) > 0 {
		n := copy(dst, patTable[off%patPeriod:])
		dst = dst[n:]
		off += uint64(n)
	}
}

// patCheck reports whether got equals the pattern from offset off and, if
// not, the index of the first differing byte.
func patCheck(got []byte, off uint64) (ok bool, at int) {
	for done := 0; done < len(got); {
		i := int(off % patPeriod)
		n := min(len(got)-done, patPeriod-i)
		if !bytes.Equal(got[done:done+n], patTable[i:i+n]) {
			for j := 0; j < n; j++ {
				if got[done+j] != patTable[i+j] {
					return false, done + j
				}
			}
		}
		done += n
		off += uint64(n)
	}
	return true, -1
}
