package fdconn

import (
	"math/bits"
	"sync"
)

// Buffers come in power-of-two size classes from minClass to maxClass bytes;
// larger ones are allocated and left to the GC. Pools hold *[]byte so that
// Get and Put allocate nothing.
const (
	minClassShift = 9  // 512 B
	maxClassShift = 26 // 64 MiB
)

var classes [maxClassShift - minClassShift + 1]sync.Pool

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// getBuf returns a buffer of length 0 and capacity at least n.
func getBuf(n int) *[]byte {
	c := classOf(n)
	if c >= len(classes) {
		b := make([]byte, 0, n)
		return &b
	}
	if v := classes[c].Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 0, 1<<(c+minClassShift))
	return &b
}

// putBuf returns b to its pool; b must not be used afterwards.
func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < 1<<minClassShift || c&(c-1) != 0 || classOf(c) >= len(classes) {
		return
	}
	*b = (*b)[:0]
	classes[classOf(c)].Put(b)
}
