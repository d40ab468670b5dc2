package codec

import (
	"errors"
	"testing"
)

func mustFixed(t testing.TB, size int) *FixedLength {
	t.Helper()
	f, err := NewFixedLength(size)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFixedLengthDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		wire   string
		frames [][]byte
	}{
		{"two frames and a partial", 3, "abcdefg", frames("abc", "def")},
		{"exact", 3, "abc", frames("abc")},
		{"short", 3, "ab", nil},
		{"nothing", 3, "", nil},
		{"size 1", 1, "xyz", frames("x", "y", "z")},
		{"binary", 2, "\x00\n\r\x00", frames("\x00\n", "\r\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkStream(t, mustFixed(t, tc.size), []byte(tc.wire), tc.frames, nil)
		})
	}
}

func TestFixedLengthConfig(t *testing.T) {
	for _, size := range []int{0, -1} {
		if _, err := NewFixedLength(size); !errors.Is(err, ErrConfig) {
			t.Errorf("NewFixedLength(%d): %v, want ErrConfig", size, err)
		}
	}
	if got := mustFixed(t, 7).MaxFrame(); got != 7 {
		t.Errorf("MaxFrame() = %d, want 7", got)
	}
}

func TestFixedLengthEncode(t *testing.T) {
	f := mustFixed(t, 3)
	checkEncode(t, f, "abc", "abc", nil)
	checkEncode(t, f, "ab", "", ErrInvalidFrame)
	checkEncode(t, f, "abcd", "", ErrInvalidFrame)
}
