package codec

import (
	"testing"

	"github.com/evloop/evloop/codec/internal/fakeconn"
)

// benchFrames is how many frames each benchmark iteration decodes: a
// buffer's worth, as one OnTraffic might see under pipelined load.
const benchFrames = 64

var benchPayload = []byte("GET /index.html key=value&x=1234") // 32 bytes

// wireOf encodes benchFrames copies of the payload with c.
func wireOf(b *testing.B, c Codec) []byte {
	var wire []byte
	for i := 0; i < benchFrames; i++ {
		var err error
		if wire, err = c.Encode(wire, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
	return wire
}

// benchDecodeBytes measures DecodeBytes over a buffer of benchFrames frames.
func benchDecodeBytes(b *testing.B, c Codec) {
	wire := wireOf(b, c)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		rest, frames := wire, 0
		for {
			_, n, err := c.DecodeBytes(rest)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			rest = rest[n:]
			frames++
		}
		if frames != benchFrames {
			b.Fatalf("%d frames, want %d", frames, benchFrames)
		}
	}
}

// benchDecodeEcho measures the path a server takes per read: Decode over a
// conn holding benchFrames frames, each echoed with WriteFrame (package
// framed measures the same through its Adapter).
func benchDecodeEcho(b *testing.B, c Codec) {
	wire := wireOf(b, c)
	fc := fakeconn.New(false)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		fc.Reset()
		fc.Feed(wire)
		if err := echoAll(fc, c); err != nil || fc.InboundBuffered() != 0 {
			b.Fatal("frames not echoed:", err)
		}
	}
}

func benchLengthField(b *testing.B) *LengthField {
	l, err := NewLengthField(LengthFieldConfig{Size: 4, Strip: 4})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func benchDelimiter(b *testing.B) *Delimiter {
	d, err := NewDelimiter(DelimiterConfig{Delim: []byte("\r\n\r\n")})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchFixed(b *testing.B) *FixedLength {
	f, err := NewFixedLength(len(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkDecodeLine(b *testing.B)        { benchDecodeBytes(b, NewLine(0)) }
func BenchmarkDecodeDelimiter(b *testing.B)   { benchDecodeBytes(b, benchDelimiter(b)) }
func BenchmarkDecodeFixed(b *testing.B)       { benchDecodeBytes(b, benchFixed(b)) }
func BenchmarkDecodeLengthField(b *testing.B) { benchDecodeBytes(b, benchLengthField(b)) }

func BenchmarkDecodeEchoLine(b *testing.B)        { benchDecodeEcho(b, NewLine(0)) }
func BenchmarkDecodeEchoLengthField(b *testing.B) { benchDecodeEcho(b, benchLengthField(b)) }

func BenchmarkEncodeLengthField(b *testing.B) {
	l := benchLengthField(b)
	dst := make([]byte, 0, 64)
	b.SetBytes(int64(len(benchPayload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Encode(dst[:0], benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}
