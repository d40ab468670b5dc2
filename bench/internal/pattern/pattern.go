// Package pattern is the byte stream the benchmark load generators send and
// verify: every byte comes from one fixed pseudo-random stream, so any echoed
// byte can be checked against what was sent at the same stream offset, and a
// lost, duplicated, reordered or foreign byte shows up as a mismatch. Each
// connection starts at its own offset in the stream.
//
// It is shared by bench (the harness, package main) and bench/tlsbench.
package pattern

import "bytes"

// Period is the length of the pattern: a prime, so that message sizes that
// are powers of two do not line up with it.
const Period = 65521

var table = func() []byte {
	t := make([]byte, Period)
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

// StreamBase is the pattern offset at which connection id starts.
func StreamBase(id int) uint64 { return uint64(id) * 7919 }

// Fill fills dst with the pattern starting at stream offset off.
func Fill(dst []byte, off uint64) {
	for len(dst) > 0 {
		n := copy(dst, table[off%Period:])
		dst = dst[n:]
		off += uint64(n)
	}
}

// Check reports whether got equals the pattern starting at offset off. On a
// mismatch it also returns the index of the first differing byte (-1 when
// ok).
func Check(got []byte, off uint64) (ok bool, at int) {
	for done := 0; done < len(got); {
		i := int(off % Period)
		n := min(len(got)-done, Period-i)
		want := table[i : i+n]
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
