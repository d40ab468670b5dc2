package websocket

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// maskBytes XORs b with key, starting at offset pos into the key, and
// returns the offset for the byte after b (RFC 6455 §5.3). Masking is its
// own inverse. Eight bytes go at a time: the key, rotated to start at pos,
// is repeated into a 64-bit word, and since 8 is a multiple of 4 the
// offset does not move across words.
func maskBytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) >= 16 {
		k := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
		k64 := uint64(k)<<32 | uint64(k)
		for len(b) >= 32 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k64)
			binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k64)
			binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k64)
			b = b[32:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// newMaskKey returns a mask key from crypto/rand: RFC 6455 §5.3 wants it
// unpredictable, so that a script cannot choose the bytes on the wire.
func newMaskKey() [4]byte {
	var k [4]byte
	rand.Read(k[:]) // never fails (Go 1.24+: it crashes the program instead)
	return k
}
