package codec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/evloop/evloop/codec/internal/fakeconn"
	"github.com/evloop/evloop/conn"
)

// result is what decoding a byte stream produced: the frames, in order, and
// the error that stopped it (nil if the input simply ran out).
type result struct {
	frames [][]byte
	err    error
}

func (r result) String() string {
	var b strings.Builder
	for _, f := range r.frames {
		fmt.Fprintf(&b, "%q ", f)
	}
	fmt.Fprintf(&b, "err=%v", r.err)
	return b.String()
}

// decodeAll decodes buf in one piece with DecodeBytes, checking the
// invariants every decoder keeps: 0 <= n <= len, progress, no frame above
// the limit.
func decodeAll(t testing.TB, d Decoder, buf []byte) result {
	t.Helper()
	var r result
	for {
		frame, n, err := d.DecodeBytes(buf)
		if n < 0 || n > len(buf) {
			t.Fatalf("DecodeBytes consumed %d of %d bytes", n, len(buf))
		}
		if err != nil {
			if n != 0 || frame != nil {
				t.Fatalf("DecodeBytes returned n=%d frame=%q with error %v", n, frame, err)
			}
			r.err = err
			return r
		}
		if n == 0 {
			if frame != nil {
				t.Fatalf("DecodeBytes returned frame %q without consuming", frame)
			}
			return r
		}
		if max := frameLimit(d); len(frame) > max {
			t.Fatalf("frame of %d bytes exceeds limit %d", len(frame), max)
		}
		r.frames = append(r.frames, bytes.Clone(frame))
		buf = buf[n:]
	}
}

// frameLimit is the largest frame d may return.
func frameLimit(d Decoder) int {
	switch d := d.(type) {
	case *Line:
		return d.MaxFrame()
	case *Delimiter:
		if d.keep {
			return d.MaxFrame() + len(d.delim)
		}
		return d.MaxFrame()
	case *FixedLength:
		return d.MaxFrame()
	case *LengthField:
		return d.MaxFrame()
	}
	panic(fmt.Sprintf("frameLimit: unknown decoder %T", d))
}

// pendingLimit is the most bytes d may leave buffered without either
// producing a frame or failing: the memory bound the codec promises.
func pendingLimit(d Decoder) int {
	switch d := d.(type) {
	case *Line:
		return d.MaxFrame() + 1 // a full line and its '\r'
	case *Delimiter:
		return d.MaxFrame() + len(d.delim) - 1
	case *FixedLength:
		return d.MaxFrame() - 1
	case *LengthField:
		return d.MaxFrame() - 1
	case ownMemory:
		return 1
	}
	panic(fmt.Sprintf("pendingLimit: unknown decoder %T", d))
}

// stream delivers pieces one at a time to a strict fake conn, as if each
// piece were one read, and decodes every complete frame after each, as a
// frame handler would; it returns the frames and the error that stopped it.
// It checks that the conn never holds more than pendingLimit bytes between
// pieces.
func stream(t testing.TB, d Decoder, pieces ...[]byte) result {
	t.Helper()
	var r result
	fc := fakeconn.New(true)
	for _, p := range pieces {
		fc.Feed(p)
		for {
			frame, ok, err := Decode(fc, d)
			if err != nil {
				r.err = err
				return r
			}
			if !ok {
				break
			}
			r.frames = append(r.frames, bytes.Clone(frame))
		}
		if b, max := fc.InboundBuffered(), pendingLimit(d); b > max {
			t.Fatalf("%d bytes left buffered, limit %d", b, max)
		}
	}
	return r
}

// sameResult reports whether got matches want frame for frame and in its
// error's sentinel (errors.Is).
func sameResult(got result, wantFrames [][]byte, wantErr error) bool {
	if len(got.frames) != len(wantFrames) {
		return false
	}
	for i := range wantFrames {
		if !bytes.Equal(got.frames[i], wantFrames[i]) {
			return false
		}
	}
	if wantErr == nil {
		return got.err == nil
	}
	return errors.Is(got.err, wantErr)
}

// checkStream decodes wire in one piece, then arriving in two pieces split
// at every byte boundary, then byte by byte, and wants the same frames and
// error each time.
func checkStream(t *testing.T, d Decoder, wire []byte, wantFrames [][]byte, wantErr error) {
	t.Helper()
	if got := decodeAll(t, d, wire); !sameResult(got, wantFrames, wantErr) {
		t.Fatalf("DecodeBytes: got %v, want %v err=%v", got, result{frames: wantFrames}, wantErr)
	}
	if got := stream(t, d, wire); !sameResult(got, wantFrames, wantErr) {
		t.Fatalf("one piece: got %v, want %v err=%v", got, result{frames: wantFrames}, wantErr)
	}
	for i := 0; i <= len(wire); i++ {
		if got := stream(t, d, wire[:i], wire[i:]); !sameResult(got, wantFrames, wantErr) {
			t.Fatalf("split at %d: got %v, want %v err=%v", i, got, result{frames: wantFrames}, wantErr)
		}
	}
	bytewise := make([][]byte, len(wire))
	for i := range wire {
		bytewise[i] = wire[i : i+1]
	}
	if got := stream(t, d, bytewise...); !sameResult(got, wantFrames, wantErr) {
		t.Fatalf("byte by byte: got %v, want %v err=%v", got, result{frames: wantFrames}, wantErr)
	}
}

// frames is shorthand for a list of string frames.
func frames(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = []byte(s[i])
	}
	return out
}

// ownMemory decodes 2-byte frames but returns copies, as a decoder that
// unescapes might: Decode must hand them out as they are.
type ownMemory struct{}

func (ownMemory) DecodeBytes(buf []byte) ([]byte, int, error) {
	if len(buf) < 2 {
		return nil, 0, nil
	}
	return []byte{buf[1], buf[0]}, 2, nil
}

// overreach is a broken decoder that claims more bytes than it was shown.
type overreach struct{}

func (overreach) DecodeBytes(buf []byte) ([]byte, int, error) { return nil, len(buf) + 1, nil }

func TestDecodeAliasesConnBuffer(t *testing.T) {
	fc := fakeconn.New(false)
	fc.Feed([]byte("ab\ncd\n"))
	in := fc.Buffered()
	frame, ok, err := Decode(fc, NewLine(0))
	if err != nil || !ok || string(frame) != "ab" {
		t.Fatalf("Decode = %q, %v, %v", frame, ok, err)
	}
	// Zero copy: the frame is the conn's own bytes.
	if &frame[0] != &in[0] {
		t.Errorf("frame does not alias the conn's inbound buffer")
	}
	if fc.InboundBuffered() != 3 {
		t.Errorf("InboundBuffered = %d after one frame, want 3", fc.InboundBuffered())
	}
}

func TestDecodeStrictLifetime(t *testing.T) {
	// The strict conn scribbles over Peek'd bytes on Next; the frame must
	// still read right because Decode re-points it at Next's result.
	fc := fakeconn.New(true)
	fc.Feed([]byte("xx\r\nhello\r\nrest"))
	d := NewLine(0)
	for _, want := range []string{"xx", "hello"} {
		frame, ok, err := Decode(fc, d)
		if err != nil || !ok || string(frame) != want {
			t.Fatalf("Decode = %q, %v, %v; want %q", frame, ok, err, want)
		}
	}
	frame, ok, err := Decode(fc, d)
	if err != nil || ok || frame != nil {
		t.Fatalf("Decode of an incomplete line = %q, %v, %v", frame, ok, err)
	}
	if got := string(fc.Buffered()); got != "rest" {
		t.Errorf("left %q buffered, want %q", got, "rest")
	}
}

func TestDecodeEmptyFrame(t *testing.T) {
	fc := fakeconn.New(true)
	fc.Feed([]byte("\n"))
	frame, ok, err := Decode(fc, NewLine(0))
	if err != nil || !ok || frame == nil || len(frame) != 0 {
		t.Fatalf("Decode of an empty line = %q (nil %v), %v, %v", frame, frame == nil, ok, err)
	}
	if fc.InboundBuffered() != 0 {
		t.Errorf("the empty line's terminator was not consumed")
	}
}

func TestDecodeDecoderOwnMemory(t *testing.T) {
	got := stream(t, ownMemory{}, []byte("abcde"))
	if !sameResult(got, frames("ba", "dc"), nil) {
		t.Fatalf("got %v", got)
	}
}

func TestDecodeErrorConsumesNothing(t *testing.T) {
	fc := fakeconn.New(true)
	fc.Feed([]byte("toolong"))
	_, ok, err := Decode(fc, NewLine(2))
	if ok || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Decode = %v, %v; want ErrFrameTooLarge", ok, err)
	}
	if fc.InboundBuffered() != 7 {
		t.Errorf("Decode consumed input on error")
	}
}

func TestDecodeBrokenDecoderPanics(t *testing.T) {
	fc := fakeconn.New(true)
	fc.Feed([]byte("x"))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a decoder that consumes more than it was shown")
		}
	}()
	Decode(fc, overreach{})
}

func TestWriteFrame(t *testing.T) {
	fc := fakeconn.New(false)
	l := NewLineCRLF(4)
	if err := WriteFrame(fc, l, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(fc, l, []byte("toolong")); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame of an oversized frame: %v", err)
	}
	if err := WriteFrame(fc, l, []byte("a\nb")); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("WriteFrame of a line with '\\n': %v", err)
	}
	if got := string(fc.Output()); got != "hi\r\n" {
		t.Errorf("output %q, want %q", got, "hi\r\n")
	}
	fc.Close()
	if err := WriteFrame(fc, l, []byte("x")); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("WriteFrame on a closed conn: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	lf, err := NewLengthField(LengthFieldConfig{Size: 2, Strip: 2})
	if err != nil {
		t.Fatal(err)
	}
	delim, err := NewDelimiter(DelimiterConfig{Delim: []byte("\x00")})
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := NewFixedLength(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    Codec
	}{{"line", NewLine(0)}, {"delimiter", delim}, {"fixed", fixed}, {"lengthfield", lf}} {
		t.Run(tc.name, func(t *testing.T) {
			var wire []byte
			for i := 0; i < 16; i++ {
				var err error
				if wire, err = tc.c.Encode(wire, []byte("ping")); err != nil {
					t.Fatal(err)
				}
			}
			fc := fakeconn.New(false)
			run := func() {
				fc.Reset()
				fc.Feed(wire)
				if err := echoAll(fc, tc.c); err != nil || fc.InboundBuffered() != 0 {
					t.Fatalf("frames not all decoded: %v", err)
				}
			}
			run() // grow the fake's buffers
			if n := testing.AllocsPerRun(100, run); n != 0 {
				t.Errorf("decode and echo of 16 frames: %v allocs, want 0", n)
			}
			if !bytes.Equal(fc.Output(), wire) {
				t.Errorf("echo output %q, want %q", fc.Output(), wire)
			}
		})
	}
}

// echoAll decodes every complete frame buffered in c and writes each back
// with WriteFrame: what a frame handler that echoes does per read.
func echoAll(c conn.Conn, cd Codec) error {
	for {
		frame, ok, err := Decode(c, cd)
		if err != nil || !ok {
			return err
		}
		if err := WriteFrame(c, cd, frame); err != nil {
			return err
		}
	}
}
