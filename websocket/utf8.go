package websocket

import "unicode/utf8"

// utf8Validator checks UTF-8 incrementally, as a text message's payload
// arrives in pieces: a code point may be split across pieces (and
// fragments), and a byte that no continuation could make valid is refused
// in the piece that carries it, not at the message's end (Autobahn 6.4:
// fail fast). The zero value expects the start of a code point.
type utf8Validator struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // the range of the next continuation byte
}

// Write reports whether p continues the text validly so far.
func (v *utf8Validator) Write(p []byte) bool {
	for v.need > 0 {
		if len(p) == 0 {
			return true
		}
		if !v.step(p[0]) {
			return false
		}
		p = p[1:]
	}
	// The bulk goes to utf8.Valid (with its ASCII fast path); only an
	// incomplete sequence at the very end goes byte by byte.
	tail := len(p)
	for k := len(p) - 1; k >= 0 && k >= len(p)-3; k-- {
		c := p[k]
		if c < 0x80 {
			break
		}
		if c >= 0xc0 {
			if k+seqLen(c) > len(p) {
				tail = k
			}
			break
		}
	}
	if !utf8.Valid(p[:tail]) {
		return false
	}
	for _, c := range p[tail:] {
		if !v.step(c) {
			return false
		}
	}
	return true
}

// Complete reports whether the text ends on a code point's boundary.
func (v *utf8Validator) Complete() bool { return v.need == 0 }

// Reset forgets a sequence in progress.
func (v *utf8Validator) Reset() { *v = utf8Validator{} }

// seqLen is the length of the sequence a lead byte starts (0 if it starts
// none).
func seqLen(c byte) int {
	switch {
	case c >= 0xc2 && c <= 0xdf:
		return 2
	case c >= 0xe0 && c <= 0xef:
		return 3
	case c >= 0xf0 && c <= 0xf4:
		return 4
	}
	return 0
}

// step takes one byte (Unicode 15, table 3-7: the well-formed byte
// sequences; surrogates and code points above U+10FFFF excluded).
func (v *utf8Validator) step(c byte) bool {
	if v.need > 0 {
		if c < v.lo || c > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
		return true
	}
	v.lo, v.hi = 0x80, 0xbf
	switch {
	case c < 0x80:
	case c >= 0xc2 && c <= 0xdf:
		v.need = 1
	case c == 0xe0:
		v.need, v.lo = 2, 0xa0
	case c == 0xed:
		v.need, v.hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		v.need = 2
	case c == 0xf0:
		v.need, v.lo = 3, 0x90
	case c == 0xf4:
		v.need, v.hi = 3, 0x8f
	case c >= 0xf1 && c <= 0xf3:
		v.need = 3
	default:
		return false
	}
	return true
}
