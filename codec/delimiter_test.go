package codec

import (
	"errors"
	"testing"
)

func mustDelimiter(t testing.TB, cfg DelimiterConfig) *Delimiter {
	t.Helper()
	d, err := NewDelimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDelimiterDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		delim   string
		keep    bool
		max     int
		wire    string
		frames  [][]byte
		wantErr error
	}{
		{"two frames", "||", false, 0, "a||bc||", frames("a", "bc"), nil},
		{"keep delimiter", "||", true, 0, "a||bc||", frames("a||", "bc||"), nil},
		{"empty frame", "||", false, 0, "||||x||", frames("", "", "x"), nil},
		{"half delimiter is data", "||", false, 0, "a|b||c|", frames("a|b"), nil},
		{"single byte", "\x00", false, 0, "x\x00yy\x00\x00", frames("x", "yy", ""), nil},
		{"overlapping delimiter", "aba", false, 0, "xababa", frames("x"), nil},
		{"crlf delimiter", "\r\n", false, 0, "GET\r\n\r\n", frames("GET", ""), nil},
		{"exactly max", "||", false, 4, "1234||", frames("1234"), nil},
		{"exactly max kept", "||", true, 4, "1234||", frames("1234||"), nil},
		{"max with a partial delimiter waits", "||", false, 4, "1234|", nil, nil},
		{"one over max", "||", false, 4, "12345||", nil, ErrFrameTooLarge},
		{"never completes", "||", false, 4, "123456", nil, ErrFrameTooLarge},
		{"frames then too large", "||", false, 4, "ab||||abcdefgh||", frames("ab", ""), ErrFrameTooLarge},
		{"long delimiter", "<END>", false, 3, "abc<END>d<EN", frames("abc"), nil},
		{"long delimiter over max", "<END>", false, 3, "abcd<END>", nil, ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDelimiter(t, DelimiterConfig{Delim: []byte(tc.delim), KeepDelimiter: tc.keep, MaxFrame: tc.max})
			checkStream(t, d, []byte(tc.wire), tc.frames, tc.wantErr)
		})
	}
}

func TestDelimiterConfig(t *testing.T) {
	if _, err := NewDelimiter(DelimiterConfig{}); !errors.Is(err, ErrConfig) {
		t.Errorf("empty delimiter: %v, want ErrConfig", err)
	}
	if _, err := NewDelimiter(DelimiterConfig{Delim: []byte(";"), MaxFrame: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative MaxFrame: %v, want ErrConfig", err)
	}
	delim := []byte(";")
	d := mustDelimiter(t, DelimiterConfig{Delim: delim})
	delim[0] = 'x' // the codec keeps its own copy
	checkDecodeBytes(t, d, "a;", "a", 2, nil)
	if d.MaxFrame() != DefaultMaxFrame {
		t.Errorf("MaxFrame() = %d, want default %d", d.MaxFrame(), DefaultMaxFrame)
	}
}

func TestDelimiterEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		delim   string
		frame   string
		want    string
		wantErr error
	}{
		{"plain", "||", "abc", "abc||", nil},
		{"empty", "||", "", "||", nil},
		{"contains delimiter", "||", "a||b", "", ErrInvalidFrame},
		{"tail joins delimiter", "||", "a|", "", ErrInvalidFrame},
		{"overlap", "aba", "xab", "", ErrInvalidFrame},
		{"harmless overlap", "aab", "xa", "xaaab", nil},
		{"too large", "||", "12345", "", ErrFrameTooLarge},
		{"max", "||", "1234", "1234||", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDelimiter(t, DelimiterConfig{Delim: []byte(tc.delim), MaxFrame: 4})
			checkEncode(t, d, tc.frame, tc.want, tc.wantErr)
			if tc.wantErr == nil {
				checkDecodeBytes(t, d, tc.want, tc.frame, len(tc.want), nil)
			}
		})
	}
}
