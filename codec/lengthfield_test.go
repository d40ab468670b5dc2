package codec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func mustLengthField(t testing.TB, cfg LengthFieldConfig) *LengthField {
	t.Helper()
	l, err := NewLengthField(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const hw = "HELLO, WORLD" // 12 bytes, as in Netty's documentation

func TestLengthFieldDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     LengthFieldConfig
		wire    string
		frames  [][]byte
		wantErr error
	}{
		// The examples of Netty's LengthFieldBasedFrameDecoder javadoc.
		{"netty 1: 2-byte length, no strip", LengthFieldConfig{Size: 2},
			"\x00\x0c" + hw, frames("\x00\x0c" + hw), nil},
		{"netty 2: strip header", LengthFieldConfig{Size: 2, Strip: 2},
			"\x00\x0c" + hw, frames(hw), nil},
		{"netty 3: length counts header", LengthFieldConfig{Size: 2, Adjustment: -2},
			"\x00\x0e" + hw, frames("\x00\x0e" + hw), nil},
		{"netty 4: header before length", LengthFieldConfig{Offset: 2, Size: 3},
			"\xca\xfe\x00\x00\x0c" + hw, frames("\xca\xfe\x00\x00\x0c" + hw), nil},
		{"netty 5: header after length", LengthFieldConfig{Size: 3, Adjustment: 2},
			"\x00\x00\x0c\xca\xfe" + hw, frames("\x00\x00\x0c\xca\xfe" + hw), nil},
		{"netty 6: header around length, strip", LengthFieldConfig{Offset: 1, Size: 2, Adjustment: 1, Strip: 3},
			"\xca\x00\x0c\xfe" + hw, frames("\xfe" + hw), nil},
		{"netty 7: length counts all", LengthFieldConfig{Offset: 1, Size: 2, Adjustment: -3, Strip: 3},
			"\xca\x00\x10\xfe" + hw, frames("\xfe" + hw), nil},

		{"size 1", LengthFieldConfig{Size: 1, Strip: 1}, "\x02ab\x00\x01c", frames("ab", "", "c"), nil},
		{"size 3 little endian", LengthFieldConfig{Size: 3, LittleEndian: true, Strip: 3},
			"\x02\x00\x00ab", frames("ab"), nil},
		{"size 4 big endian", LengthFieldConfig{Size: 4, Strip: 4},
			"\x00\x00\x00\x03abc\x00\x00\x00\x00", frames("abc", ""), nil},
		{"size 4 little endian", LengthFieldConfig{Size: 4, LittleEndian: true, Strip: 4},
			"\x03\x00\x00\x00abc", frames("abc"), nil},
		{"size 8", LengthFieldConfig{Size: 8, Strip: 8},
			"\x00\x00\x00\x00\x00\x00\x00\x01z", frames("z"), nil},
		{"size 8 little endian", LengthFieldConfig{Size: 8, LittleEndian: true, Strip: 8},
			"\x01\x00\x00\x00\x00\x00\x00\x00z", frames("z"), nil},
		{"several in one buffer, partial tail", LengthFieldConfig{Size: 2, Strip: 2},
			"\x00\x01a\x00\x02bc\x00\x03de", frames("a", "bc"), nil},
		{"strip into body", LengthFieldConfig{Size: 1, Strip: 2}, "\x03abc", frames("bc"), nil},
		{"strip part of header", LengthFieldConfig{Size: 2, Strip: 1}, "\x00\x01a", frames("\x01a"), nil},

		{"exactly max", LengthFieldConfig{Size: 2, Strip: 2, MaxFrame: 6}, "\x00\x04abcd", frames("abcd"), nil},
		{"over max fails on header", LengthFieldConfig{Size: 2, Strip: 2, MaxFrame: 6}, "\x00\x05abcde", nil, ErrFrameTooLarge},
		{"huge announcement fails at once", LengthFieldConfig{Size: 4}, "\x7f\xff\xff\xffxx", nil, ErrFrameTooLarge},
		{"huge 8-byte length", LengthFieldConfig{Size: 8}, "\x70\x00\x00\x00\x00\x00\x00\x00", nil, ErrFrameTooLarge},
		{"frames then too large", LengthFieldConfig{Size: 1, Strip: 1, MaxFrame: 4}, "\x01a\x00\x04abcd", frames("a", ""), ErrFrameTooLarge},
		{"negative adjusted length", LengthFieldConfig{Size: 2, Adjustment: -4}, "\x00\x01abc", nil, ErrMalformed},
		{"negative 8-byte length", LengthFieldConfig{Size: 8}, "\x80\x00\x00\x00\x00\x00\x00\x01", nil, ErrMalformed},
		{"strip beyond frame", LengthFieldConfig{Size: 1, Strip: 5}, "\x01a", nil, ErrMalformed},
		{"header incomplete waits", LengthFieldConfig{Offset: 3, Size: 4}, "abc\x00\x00", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkStream(t, mustLengthField(t, tc.cfg), []byte(tc.wire), tc.frames, tc.wantErr)
		})
	}
}

func TestLengthFieldConfig(t *testing.T) {
	cfgs := []LengthFieldConfig{
		{Size: 0},
		{Size: 5},
		{Size: 16},
		{Size: 2, Offset: -1},
		{Size: 2, Strip: -1},
		{Size: 2, MaxFrame: -1},
		{Size: 4, MaxFrame: 3},             // the field itself does not fit
		{Size: 2, Offset: 9, MaxFrame: 10}, // nor here
	}
	if strconv.IntSize == 64 {
		// Beyond what int64 arithmetic allows (an int cannot hold it on
		// 32-bit platforms, where the test would not compile as a constant).
		over := int64(maxLengthFrameLimit) + 1
		cfgs = append(cfgs, LengthFieldConfig{Size: 2, MaxFrame: int(over)}, LengthFieldConfig{Size: 2, Adjustment: int(-over)})
	}
	for _, cfg := range cfgs {
		if _, err := NewLengthField(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewLengthField(%+v): %v, want ErrConfig", cfg, err)
		}
	}
	l := mustLengthField(t, LengthFieldConfig{Size: 4})
	if l.MaxFrame() != DefaultMaxLengthFrame || l.Config().MaxFrame != DefaultMaxLengthFrame {
		t.Errorf("MaxFrame() = %d, want default %d", l.MaxFrame(), DefaultMaxLengthFrame)
	}
	big := strings.Repeat("b", DefaultMaxLengthFrame-4)
	checkDecodeBytes(t, l, "\x00\xff\xff\xfc"+big, "\x00\xff\xff\xfc"+big, DefaultMaxLengthFrame, nil)
	checkDecodeBytes(t, l, "\x00\xff\xff\xfd", "", 0, ErrFrameTooLarge)
}

func TestLengthFieldEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     LengthFieldConfig
		frame   string
		want    string // the wire bytes
		decoded string // what decoding want yields
		wantErr error
	}{
		{"body", LengthFieldConfig{Size: 2, Strip: 2}, "abc", "\x00\x03abc", "abc", nil},
		{"body little endian", LengthFieldConfig{Size: 2, LittleEndian: true, Strip: 2}, "abc", "\x03\x00abc", "abc", nil},
		{"empty body", LengthFieldConfig{Size: 4, Strip: 4}, "", "\x00\x00\x00\x00", "", nil},
		{"no strip", LengthFieldConfig{Size: 1}, "ab", "\x02ab", "\x02ab", nil},
		{"length counts header", LengthFieldConfig{Size: 2, Adjustment: -2, Strip: 2}, hw, "\x00\x0e" + hw, hw, nil},
		{"size 3", LengthFieldConfig{Size: 3, Strip: 3}, "x", "\x00\x00\x01x", "x", nil},
		{"size 8", LengthFieldConfig{Size: 8, LittleEndian: true, Strip: 8}, "x", "\x01\x00\x00\x00\x00\x00\x00\x00x", "x", nil},
		{"netty 4: magic before length", LengthFieldConfig{Offset: 2, Size: 3},
			"\xca\xfe" + hw, "\xca\xfe\x00\x00\x0c" + hw, "\xca\xfe\x00\x00\x0c" + hw, nil},
		{"netty 6: header around length", LengthFieldConfig{Offset: 1, Size: 2, Adjustment: 1, Strip: 3},
			"\xca\xfe" + hw, "\xca\x00\x0c\xfe" + hw, "\xfe" + hw, nil},
		{"netty 7", LengthFieldConfig{Offset: 1, Size: 2, Adjustment: -3, Strip: 3},
			"\xca\xfe" + hw, "\xca\x00\x10\xfe" + hw, "\xfe" + hw, nil},

		{"too large for MaxFrame", LengthFieldConfig{Size: 2, MaxFrame: 5}, "abcd", "", "", ErrFrameTooLarge},
		{"max", LengthFieldConfig{Size: 2, MaxFrame: 5}, "abc", "\x00\x03abc", "\x00\x03abc", nil},
		{"too large for the field", LengthFieldConfig{Size: 1}, strings.Repeat("z", 256), "", "", ErrFrameTooLarge},
		{"field max", LengthFieldConfig{Size: 1, Strip: 1}, strings.Repeat("z", 255), "\xff" + strings.Repeat("z", 255), strings.Repeat("z", 255), nil},
		{"shorter than offset", LengthFieldConfig{Offset: 2, Size: 1}, "a", "", "", ErrInvalidFrame},
		{"negative field", LengthFieldConfig{Size: 1, Adjustment: 3}, "ab", "", "", ErrInvalidFrame},
		{"strip beyond frame", LengthFieldConfig{Size: 1, Strip: 4}, "ab", "", "", ErrInvalidFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLengthField(t, tc.cfg)
			checkEncode(t, l, tc.frame, tc.want, tc.wantErr)
			if tc.wantErr == nil {
				checkDecodeBytes(t, l, tc.want, tc.decoded, len(tc.want), nil)
			}
		})
	}
}
