package websocket

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// validPrefix is the oracle: p can be continued to valid UTF-8. Each
// continuation byte's valid range is a union of 80-8F, 90-9F and A0-BF, so
// trying one byte of each is enough.
func validPrefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	reps := []byte{0x80, 0x90, 0xa0}
	for n := 1; n <= 3; n++ {
		var try func(q []byte) bool
		try = func(q []byte) bool {
			if len(q) == len(p)+n {
				return utf8.Valid(q)
			}
			for _, r := range reps {
				if try(append(q, r)) {
					return true
				}
			}
			return false
		}
		if try(append([]byte(nil), p...)) {
			return true
		}
	}
	return false
}

// checkValidator feeds s to the validator in the given pieces and wants it
// to fail at the first piece after which s's prefix is no longer a valid
// prefix, and to end complete exactly when s is valid.
func checkValidator(t *testing.T, s []byte, cuts []int) {
	t.Helper()
	var v utf8Validator
	prev := 0
	for _, cut := range append(cuts, len(s)) {
		ok := v.Write(s[prev:cut])
		if want := validPrefix(s[:cut]); ok != want {
			t.Fatalf("%x cut at %v: after %x ok=%v, want %v", s, cuts, s[:cut], ok, want)
		}
		if !ok {
			return
		}
		prev = cut
	}
	if v.Complete() != utf8.Valid(s) {
		t.Fatalf("%x: complete=%v, valid=%v", s, v.Complete(), utf8.Valid(s))
	}
}

func TestUTF8ValidatorEverySplit(t *testing.T) {
	samples := []string{
		"", "a", "κόσμε", "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5", "\xff", "\x80",
		"ab\xe2\x82", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited", "\xe2\x82\xac\xe2",
	}
	for _, s := range samples {
		b := []byte(s)
		checkValidator(t, b, nil)
		for i := 0; i <= len(b); i++ {
			checkValidator(t, b, []int{i})
			for j := i; j <= len(b); j++ {
				checkValidator(t, b, []int{i, j})
			}
		}
	}
}

func TestUTF8ValidatorRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff}
	for range 20000 {
		s := make([]byte, rng.IntN(12))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		var cuts []int
		for c := 0; c < len(s); c += 1 + rng.IntN(4) {
			cuts = append(cuts, c)
		}
		checkValidator(t, s, cuts)
	}
}
