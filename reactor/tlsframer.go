package reactor

// recordHeaderLen is the size of a TLS record header: type, version,
// length.
const recordHeaderLen = 5

// recordFramer follows the record framing of the ciphertext the transport
// hands to crypto/tls, so that no read goes past the end of a record.
// crypto/tls then never holds ciphertext beyond the record it is reading:
// between records (boundary) it holds none, and the loop need not call
// Read to find out that nothing is left (each such call allocates in
// crypto/tls). A whole record still goes over in one read when it has
// arrived, as crypto/tls asks for it.
type recordFramer struct {
	hdr  [recordHeaderLen]byte
	hdrN int // header bytes handed over
	body int // body bytes of the current record still to hand over
}

// boundary says whether every record handed over is complete.
func (f *recordFramer) boundary() bool { return f.hdrN == 0 }

// limit is how many bytes may be handed over without crossing the end of
// the current record, given next, the start of what is available (at
// least the rest of a header, if that much is there).
func (f *recordFramer) limit(next []byte) int {
	if f.hdrN == recordHeaderLen {
		return f.body
	}
	need := recordHeaderLen - f.hdrN
	if len(next) < need {
		return len(next)
	}
	var hdr [recordHeaderLen]byte
	copy(hdr[copy(hdr[:], f.hdr[:f.hdrN]):], next[:need])
	return need + (int(hdr[3])<<8 | int(hdr[4]))
}

// advance notes that b was handed over.
func (f *recordFramer) advance(b []byte) {
	for len(b) > 0 {
		if f.hdrN < recordHeaderLen {
			k := copy(f.hdr[f.hdrN:], b)
			f.hdrN += k
			b = b[k:]
			if f.hdrN == recordHeaderLen {
				f.body = int(f.hdr[3])<<8 | int(f.hdr[4])
				if f.body == 0 {
					f.hdrN = 0
				}
			}
			continue
		}
		k := min(f.body, len(b))
		f.body -= k
		b = b[k:]
		if f.body == 0 {
			f.hdrN = 0
		}
	}
}

// take copies from src into p up to the end of the current record and
// returns how many bytes it copied.
func (f *recordFramer) take(p, src []byte) int {
	if n := f.limit(src); n < len(p) {
		p = p[:n]
	}
	n := copy(p, src)
	f.advance(p[:n])
	return n
}
