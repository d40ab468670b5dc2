package resp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/evloop/evloop/codec"
)

// FuzzDecode checks Decoder on arbitrary input and limits: no panic;
// 0 <= n <= len(input); arguments within the limits and aliasing the
// request; a bounded number of bytes left pending; the same commands and
// error whether the input arrives whole, in two pieces or byte by byte
// (resuming with a Progress, and in two pieces without one); and
// that a command encoded with AppendCommand (and, where it can be, as an
// inline line) decodes back to the same arguments, or fails for a limit it
// really breaks.
//
//	go test ./codec/resp -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\r\n\r\n",
		"PING\r\nGET k\n\r\n",
		"*0\r\n*-1\r\n",
		"*2\r\n$3\r\nGET\r\n$-1\r\n",
		"*1\r\n$3\r\nabcX",
		"*01\r\n",
		"*1\r\n+OK\r\n",
		"*9999999999999999999\r\n",
		"ECHO \"a\\\x00b\"\n",
	} {
		f.Add([]byte(s), uint16(0), uint8(0), uint16(0), uint16(0), 3)
		f.Add([]byte(s), uint16(4), uint8(2), uint16(8), uint16(24), 7)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxBulk uint16, maxArgs uint8, maxInline, maxRequest uint16, split int) {
		cfg := Config{MaxBulk: int(maxBulk), MaxArgs: int(maxArgs), MaxInline: int(maxInline), MaxRequest: int(maxRequest)}
		d, err := NewDecoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg = d.Config()

		// Arrivals: whole, at split, and byte by byte for short inputs.
		whole := stream(t, d, data)
		split = int(uint(split) % uint(len(data)+1))
		if got := stream(t, d, data[:split], data[split:]); !got.equal(whole) {
			t.Fatalf("split at %d: %v; whole: %v", split, got, whole)
		}
		if got := streamWith(t, d, false, data[:split], data[split:]); !got.equal(whole) {
			t.Fatalf("split at %d, parsed from the start each time: %v; whole: %v", split, got, whole)
		}
		if len(data) <= 512 {
			bytewise := make([][]byte, len(data))
			for i := range data {
				bytewise[i] = data[i : i+1]
			}
			if got := stream(t, d, bytewise...); !got.equal(whole) {
				t.Fatalf("byte by byte: %v; whole: %v", got, whole)
			}
		}

		// Round trip: the input, cut at NUL bytes, as a command's args.
		args := bytes.Split(data, []byte{0})
		wire := AppendCommand(nil, args...)
		size := len(wire)
		longest := 0
		for _, a := range args {
			longest = max(longest, len(a))
		}
		var wantErr error
		switch {
		case len(args) > cfg.MaxArgs, longest > cfg.MaxBulk, size > cfg.MaxRequest:
			wantErr = codec.ErrFrameTooLarge
		}
		// Stale args to be replaced, not appended to.
		got, n, err := d.DecodeCommand(wire, [][]byte{[]byte("stale"), nil})
		if wantErr != nil {
			if !errors.Is(err, wantErr) || n != 0 {
				t.Fatalf("%d args (longest %d, %d bytes): n=%d err=%v, want %v", len(args), longest, size, n, err, wantErr)
			}
		} else if err != nil || n != size || !equalArgs(got, args) {
			t.Fatalf("decode(AppendCommand(%q)) = %q, %d, %v", args, got, n, err)
		}

		// Inline round trip: the words of data, each bare when it can be
		// and double-quoted with escapes when it must, as redis-cli quotes.
		words := bytes.Split(data, []byte(" "))
		var line []byte
		for i, w := range words {
			if i > 0 {
				line = append(line, ' ')
			}
			line = appendInlineWord(line, w, i == 0)
		}
		line = append(line, '\r', '\n')
		got, n, err = d.DecodeCommand(line, got)
		switch {
		case len(line) > cfg.MaxInline || len(words) > cfg.MaxArgs:
			if !errors.Is(err, codec.ErrFrameTooLarge) {
				t.Fatalf("inline %q: %v, want codec.ErrFrameTooLarge", line, err)
			}
		case err != nil || n != len(line) || !equalArgs(got, words):
			t.Fatalf("inline %q: %q, %d, %v; want %q", line, got, n, err, words)
		}
	})
}

// appendInlineWord appends w to an inline command line: bare if nothing in
// it would be read as a separator, a quote or a line end (nor, first on the
// line, as an array), else double-quoted with every byte that needs it
// escaped.
func appendInlineWord(line, w []byte, first bool) []byte {
	bare := len(w) > 0 && !(first && w[0] == '*')
	for _, c := range w {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' {
			bare = false
		}
	}
	if bare {
		return append(line, w...)
	}
	line = append(line, '"')
	for _, c := range w {
		switch {
		case c == '"' || c == '\\':
			line = append(line, '\\', c)
		case c < ' ' || c >= 0x7f:
			line = append(line, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			line = append(line, c)
		}
	}
	return append(line, '"')
}

func equalArgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
