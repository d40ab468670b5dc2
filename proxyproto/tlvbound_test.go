package proxyproto

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"
)

// manyTLVs is a version 2 TCP4 header carrying count empty TLVs.
func manyTLVs(count int) []byte {
	return v2(0x21, 0x11, tcp4Block, bytes.Repeat(tlv(byte(TypeNoop), ""), count))
}

// TestTLVCountBounded: 1,361 empty TLVs fit a 4 KiB header, and used to be
// kept as 1,361 32-byte entries (53 KB with the slice's growth) for the
// conn's life. Past MaxTLVs the header is invalid.
func TestTLVCountBounded(t *testing.T) {
	for _, tc := range []struct {
		p     Parser
		count int
		ok    bool
	}{
		{Parser{}, 1361, false},
		{Parser{}, DefaultMaxTLVs + 1, false},
		{Parser{}, DefaultMaxTLVs, true},
		{Parser{MaxTLVs: 2}, 3, false},
		{Parser{MaxTLVs: 2}, 2, true},
		{Parser{MaxTLVs: 2000}, 1361, true},
	} {
		b := manyTLVs(tc.count)
		h, n, err := tc.p.Parse(b)
		if !tc.ok {
			if !errors.Is(err, ErrTooManyTLVs) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("MaxTLVs %d, %d TLVs: err %v, want ErrTooManyTLVs", tc.p.MaxTLVs, tc.count, err)
			}
			continue
		}
		if err != nil || n != len(b) || len(h.TLVs) != tc.count {
			t.Fatalf("MaxTLVs %d, %d TLVs: %d TLVs, n %d, err %v", tc.p.MaxTLVs, tc.count, len(h.TLVs), n, err)
		}
	}
}

// TestTLVsKeptCompactly: a parsed header keeps its TLVs in one copy of
// their bytes and a slice of exactly their count, made in a fixed number of
// allocations whatever the count.
func TestTLVsKeptCompactly(t *testing.T) {
	b := manyTLVs(DefaultMaxTLVs)
	var p Parser
	h, _, err := p.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.TLVs) != DefaultMaxTLVs || cap(h.TLVs) != len(h.TLVs) {
		t.Fatalf("%d TLVs in a slice of capacity %d, want exactly %d", len(h.TLVs), cap(h.TLVs), DefaultMaxTLVs)
	}
	// What the header keeps: the entries and the one copy of the TLV
	// bytes, bounded by MaxTLVs and MaxV2Length.
	kept := cap(h.TLVs)*int(unsafe.Sizeof(TLV{})) + 3*DefaultMaxTLVs
	if limit := DefaultMaxTLVs*int(unsafe.Sizeof(TLV{})) + DefaultMaxV2Length; kept > limit {
		t.Fatalf("header keeps %d bytes, over %d", kept, limit)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, _, err := p.Parse(b); err != nil {
			t.Fatal(err)
		}
	})
	// The header, the TLV bytes' copy, the TLV slice, the two addresses
	// (each a net.TCPAddr and its IP).
	if allocs > 7 {
		t.Fatalf("Parse of %d TLVs: %v allocations, want at most 7", DefaultMaxTLVs, allocs)
	}
}
