package codec

// Fuzz targets, one per decoder. Each checks, for arbitrary input and
// configuration: no panic; 0 <= consumed <= len(input); no frame above the
// limit; the same frames and error whether the input arrives whole, in two
// pieces or byte by byte (through Decode over a strict fake conn, which also
// checks the memory bound); and that encoding then decoding a frame
// gives it back, or that Encode's refusal is justified.
//
// Run one for a bounded time with, for example,
//
//	go test ./codec -run '^$' -fuzz '^FuzzLine$' -fuzztime 150000x
//
// or every target in the module with sh fuzz.sh [fuzztime].

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// sentinel is the package error err wraps, or err itself.
func sentinel(err error) error {
	for _, s := range []error{ErrFrameTooLarge, ErrMalformed, ErrInvalidFrame, ErrConfig} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// checkArrivals decodes data whole, in two pieces split at split, and (for
// short inputs) byte by byte, and wants the same outcome each time.
func checkArrivals(t *testing.T, d Decoder, data []byte, split int) result {
	t.Helper()
	whole := decodeAll(t, d, data)
	want := sentinel(whole.err)
	split %= len(data) + 1
	if got := stream(t, d, data[:split], data[split:]); !sameResult(got, whole.frames, want) {
		t.Fatalf("split at %d: got %v, whole buffer gave %v", split, got, whole)
	}
	if len(data) <= 512 {
		bytewise := make([][]byte, len(data))
		for i := range data {
			bytewise[i] = data[i : i+1]
		}
		if got := stream(t, d, bytewise...); !sameResult(got, whole.frames, want) {
			t.Fatalf("byte by byte: got %v, whole buffer gave %v", got, whole)
		}
	}
	return whole
}

// checkRoundTrip encodes frame with c and, if Encode accepts it, wants
// decoding the result to consume all of it and yield want. If Encode
// refuses, wantErr (computed independently by the caller) must say why.
func checkRoundTrip(t *testing.T, c Codec, frame, want []byte, wantErr error) []byte {
	t.Helper()
	enc, err := c.Encode([]byte("pre"), frame)
	if err != nil || wantErr != nil {
		if sentinel(err) != wantErr {
			t.Fatalf("Encode(%q) error %v, want %v", frame, err, wantErr)
		}
		if string(enc) != "pre" {
			t.Fatalf("failed Encode changed dst to %q", enc)
		}
		return nil
	}
	enc = enc[len("pre"):]
	got, n, err := c.DecodeBytes(enc)
	if err != nil || n != len(enc) || !bytes.Equal(got, want) {
		t.Fatalf("DecodeBytes(Encode(%q) = %q) = %q, %d, %v; want %q, %d", frame, enc, got, n, err, want, len(enc))
	}
	return enc
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb\r\nc", "\r\n\r\n", "a\r\r\n", "1234567890\n", "x\ry", "\r"} {
		f.Add([]byte(s), uint8(4), false, 3)
		f.Add([]byte(s), uint8(0), true, 1)
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint8, crlf bool, split int) {
		l := NewLine(int(max))
		if crlf {
			l = NewLineCRLF(int(max))
		}
		whole := checkArrivals(t, l, data, split&0xffff)
		for _, fr := range whole.frames {
			if bytes.IndexByte(fr, '\n') >= 0 {
				t.Fatalf("frame %q contains '\\n'", fr)
			}
		}
		var wantErr error
		switch {
		case len(data) > l.MaxFrame():
			wantErr = ErrFrameTooLarge
		case bytes.IndexByte(data, '\n') >= 0:
			wantErr = ErrInvalidFrame
		case !crlf && len(data) > 0 && data[len(data)-1] == '\r':
			wantErr = ErrInvalidFrame
		}
		checkRoundTrip(t, l, data, data, wantErr)
	})
}

func FuzzDelimiter(f *testing.F) {
	for _, s := range [][2]string{{"a||b||", "||"}, {"xababa", "aba"}, {"\x00\x00", "\x00"}, {"12345||", "||"}, {"a|", "||"}} {
		f.Add([]byte(s[0]), []byte(s[1]), uint8(4), false, 2)
		f.Add([]byte(s[0]), []byte(s[1]), uint8(0), true, 5)
	}
	f.Fuzz(func(t *testing.T, data, delim []byte, max uint8, keep bool, split int) {
		if len(delim) > 16 {
			delim = delim[:16]
		}
		d, err := NewDelimiter(DelimiterConfig{Delim: delim, KeepDelimiter: keep, MaxFrame: int(max)})
		if len(delim) == 0 {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("empty delimiter: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		whole := checkArrivals(t, d, data, split&0xffff)
		for _, fr := range whole.frames {
			body := fr
			if keep {
				if !bytes.HasSuffix(fr, delim) {
					t.Fatalf("kept frame %q does not end in %q", fr, delim)
				}
				body = fr[:len(fr)-len(delim)]
			}
			if bytes.Contains(body, delim) || len(body) > d.MaxFrame() {
				t.Fatalf("frame %q: contains %q or is over %d bytes", fr, delim, d.MaxFrame())
			}
		}
		var wantErr error
		switch {
		case len(data) > d.MaxFrame():
			wantErr = ErrFrameTooLarge
		case bytes.Index(append(bytes.Clone(data), delim...), delim) != len(data):
			wantErr = ErrInvalidFrame
		}
		want := data
		if keep {
			want = append(bytes.Clone(data), delim...)
		}
		checkRoundTrip(t, d, data, want, wantErr)
	})
}

func FuzzFixed(f *testing.F) {
	f.Add([]byte("abcdefg"), uint8(3), 2)
	f.Add([]byte(""), uint8(1), 0)
	f.Add([]byte("ab"), uint8(0), 0)
	f.Fuzz(func(t *testing.T, data []byte, size uint8, split int) {
		c, err := NewFixedLength(int(size))
		if size == 0 {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("size 0: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		whole := checkArrivals(t, c, data, split&0xffff)
		if len(whole.frames) != len(data)/int(size) || whole.err != nil {
			t.Fatalf("%d bytes in %d-byte frames: got %v", len(data), size, whole)
		}
		var wantErr error
		if len(data) != int(size) {
			wantErr = ErrInvalidFrame
		}
		checkRoundTrip(t, c, data, data, wantErr)
	})
}

// fieldBytes encodes v as a size-byte field independently of the codec:
// the low size bytes of its 8-byte encoding.
func fieldBytes(v uint64, size int, little bool) []byte {
	var b [8]byte
	if little {
		binary.LittleEndian.PutUint64(b[:], v)
		return b[:size]
	}
	binary.BigEndian.PutUint64(b[:], v)
	return b[8-size:]
}

var lengthFieldSizes = [...]int{1, 2, 3, 4, 8}

func FuzzLengthField(f *testing.F) {
	f.Add([]byte("\x00\x0cHELLO, WORLD"), uint8(0), uint8(1), false, int16(0), uint8(2), uint16(0), 5)
	f.Add([]byte("\xca\x00\x0c\xfeHELLO, WORLD"), uint8(1), uint8(1), false, int16(1), uint8(3), uint16(100), 3)
	f.Add([]byte("\x02\x00\x00ab"), uint8(0), uint8(2), true, int16(0), uint8(3), uint16(10), 1)
	f.Add([]byte("\x80\x00\x00\x00\x00\x00\x00\x01"), uint8(0), uint8(4), false, int16(0), uint8(0), uint16(0), 4)
	f.Add([]byte("\x00\x01abc"), uint8(0), uint8(1), false, int16(-4), uint8(0), uint16(0), 2)
	f.Add([]byte("\x7f\xff\xff\xff"), uint8(0), uint8(3), false, int16(0), uint8(4), uint16(64), 2)
	f.Fuzz(func(t *testing.T, data []byte, offset, sizeSel uint8, little bool, adj int16, strip uint8, max uint16, split int) {
		cfg := LengthFieldConfig{
			Offset:       int(offset % 16),
			Size:         lengthFieldSizes[int(sizeSel)%len(lengthFieldSizes)],
			LittleEndian: little,
			Adjustment:   int(adj),
			Strip:        int(strip % 32),
			MaxFrame:     int(max),
		}
		l, err := NewLengthField(cfg)
		if cfg.MaxFrame > 0 && cfg.Offset+cfg.Size > cfg.MaxFrame {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("%+v: %v, want ErrConfig", cfg, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		checkArrivals(t, l, data, split&0xffff)

		off, size := cfg.Offset, cfg.Size
		frameLen := len(data) + size
		v := len(data) - off - cfg.Adjustment
		var wantErr error
		switch {
		case len(data) < off:
			wantErr = ErrInvalidFrame
		case frameLen > l.MaxFrame():
			wantErr = ErrFrameTooLarge
		case v < 0:
			wantErr = ErrInvalidFrame
		case size < 8 && v >= 1<<(8*size):
			wantErr = ErrFrameTooLarge
		case cfg.Strip > frameLen:
			wantErr = ErrInvalidFrame
		}
		var want []byte
		if wantErr == nil {
			// The wire frame is data with the field spliced in at
			// Offset; decoding strips Strip bytes of it.
			field := fieldBytes(uint64(v), size, little)
			wire := append(append(append([]byte(nil), data[:off]...), field...), data[off:]...)
			want = wire[cfg.Strip:]
		}
		enc := checkRoundTrip(t, l, data, want, wantErr)
		if enc != nil && cfg.Offset == 0 && cfg.Strip == cfg.Size {
			// The common length-prefixed body: the frame comes back as is.
			if got, _, _ := l.DecodeBytes(enc); !bytes.Equal(got, data) {
				t.Fatalf("decode(encode(%q)) = %q", data, got)
			}
		}
	})
}
