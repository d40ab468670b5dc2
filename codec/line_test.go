package codec

import (
	"errors"
	"strings"
	"testing"

	"github.com/evloop/evloop/codec/internal/fakeconn"
)

func TestLineDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     int
		wire    string
		frames  [][]byte
		wantErr error
	}{
		{"one line", 0, "hello\n", frames("hello"), nil},
		{"crlf", 0, "hello\r\n", frames("hello"), nil},
		{"empty lines", 0, "\n\r\n\n", frames("", "", ""), nil},
		{"several in one buffer", 0, "a\nbb\r\nccc\n", frames("a", "bb", "ccc"), nil},
		{"incomplete tail waits", 0, "a\nbc", frames("a"), nil},
		{"lone cr is data", 0, "a\rb\n\r", frames("a\rb"), nil},
		{"only one cr stripped", 0, "a\r\r\n", frames("a\r"), nil},
		{"nothing", 0, "", nil, nil},
		{"exactly max", 8, "12345678\n", frames("12345678"), nil},
		{"exactly max crlf", 8, "12345678\r\n", frames("12345678"), nil},
		{"max plus cr waits", 8, "12345678\r", nil, nil},
		{"one over max", 8, "123456789\n", nil, ErrFrameTooLarge},
		{"over max with cr", 8, "123456789\r\n", nil, ErrFrameTooLarge},
		{"never completes", 8, "123456789", nil, ErrFrameTooLarge},
		{"never completes after cr", 8, "12345678\rx", nil, ErrFrameTooLarge},
		{"frames then too large", 8, "ok\n\nabcdefghijklmnop\nnext\n", frames("ok", ""), ErrFrameTooLarge},
		{"max 1", 1, "a\nb\r\n\n", frames("a", "b", ""), nil},
		{"max 1 over", 1, "a\nbc\n", frames("a"), ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkStream(t, NewLine(tc.max), []byte(tc.wire), tc.frames, tc.wantErr)
		})
	}
}

func TestLineNeverCompletingIsBounded(t *testing.T) {
	// A peer streaming bytes without '\n' is cut off as soon as no line
	// within the limit can still end: memory stays at max+1 bytes.
	const max = 100
	d := NewLine(max)
	junk := []byte(strings.Repeat("x", 10*max))
	fc := fakeconn.New(true)
	for i := range junk {
		fc.Feed(junk[i : i+1])
		if _, ok, err := Decode(fc, d); ok || err != nil {
			if i+1 > max+1 {
				t.Fatalf("error only after %d bytes, want by %d", i+1, max+1)
			}
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("Decode = %v, %v; want ErrFrameTooLarge", ok, err)
			}
			return
		}
	}
	t.Fatal("never failed")
}

func TestLineDefaults(t *testing.T) {
	if got := NewLine(0).MaxFrame(); got != DefaultMaxFrame {
		t.Errorf("NewLine(0).MaxFrame() = %d, want %d", got, DefaultMaxFrame)
	}
	if got := NewLine(-5).MaxFrame(); got != DefaultMaxFrame {
		t.Errorf("NewLine(-5).MaxFrame() = %d, want %d", got, DefaultMaxFrame)
	}
	long := strings.Repeat("y", DefaultMaxFrame)
	checkDecodeBytes(t, NewLine(0), long+"\n", long, len(long)+1, nil)
	checkDecodeBytes(t, NewLine(0), long+"y", "", 0, ErrFrameTooLarge)
}

func TestLineEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crlf    bool
		frame   string
		want    string
		wantErr error
	}{
		{"plain", false, "hi", "hi\n", nil},
		{"plain crlf", true, "hi", "hi\r\n", nil},
		{"empty", false, "", "\n", nil},
		{"inner cr", false, "a\rb", "a\rb\n", nil},
		{"newline inside", false, "a\nb", "", ErrInvalidFrame},
		{"newline inside crlf", true, "a\nb", "", ErrInvalidFrame},
		{"trailing cr would be lost", false, "a\r", "", ErrInvalidFrame},
		{"trailing cr kept by crlf", true, "a\r", "a\r\r\n", nil},
		{"too large", false, "123456789", "", ErrFrameTooLarge},
		{"max", false, "12345678", "12345678\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLine(8)
			if tc.crlf {
				l = NewLineCRLF(8)
			}
			checkEncode(t, l, tc.frame, tc.want, tc.wantErr)
			if tc.wantErr == nil {
				checkDecodeBytes(t, l, tc.want, tc.frame, len(tc.want), nil)
			}
		})
	}
}

// checkDecodeBytes wants DecodeBytes(wire) to be (frame, n, an error that
// Is wantErr).
func checkDecodeBytes(t *testing.T, d Decoder, wire, frame string, n int, wantErr error) {
	t.Helper()
	gotFrame, gotN, err := d.DecodeBytes([]byte(wire))
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("DecodeBytes error %v, want %v", err, wantErr)
		}
		return
	}
	if err != nil || gotN != n || string(gotFrame) != frame {
		t.Fatalf("DecodeBytes = %.40q, %d, %v; want %.40q, %d", gotFrame, gotN, err, frame, n)
	}
}

// checkEncode wants Encode to append want to a prefix, or fail with wantErr
// leaving the prefix alone.
func checkEncode(t *testing.T, e Encoder, frame, want string, wantErr error) {
	t.Helper()
	dst := []byte("prefix:")
	got, err := e.Encode(dst, []byte(frame))
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("Encode(%q) error %v, want %v", frame, err, wantErr)
		}
		if string(got) != "prefix:" {
			t.Fatalf("Encode(%q) failed but changed dst to %q", frame, got)
		}
		return
	}
	if err != nil || string(got) != "prefix:"+want {
		t.Fatalf("Encode(%q) = %q, %v; want %q", frame, got, err, "prefix:"+want)
	}
}
