package websocket

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
)

func naiveMask(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func TestMaskMatchesBytewise(t *testing.T) {
	key := [4]byte{0x01, 0x8f, 0x5a, 0xe3}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 100; n++ {
		for pos := 0; pos < 4; pos++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			want := clone(b)
			wantPos := naiveMask(key, pos, want)
			gotPos := maskBytes(key, pos, b)
			if !bytes.Equal(b, want) || gotPos != wantPos {
				t.Fatalf("n=%d pos=%d: got %x (pos %d), want %x (pos %d)", n, pos, b, gotPos, want, wantPos)
			}
		}
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, length := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		for _, h := range []Header{
			{Fin: true, Opcode: OpText},
			{Opcode: OpBinary, RSV1: true, Masked: true, Mask: [4]byte{1, 2, 3, 4}},
			{Fin: true, Opcode: OpContinuation, RSV2: true, RSV3: true},
		} {
			b := AppendHeader([]byte("pre"), h, length)[3:]
			got, n, err := ParseHeader(b)
			want := h
			want.Length = uint64(length)
			if err != nil || n != len(b) || got != want {
				t.Fatalf("ParseHeader(AppendHeader(%+v, %d)) = %+v, %d, %v", h, length, got, n, err)
			}
			for i := range len(b) {
				if _, n, err := ParseHeader(b[:i]); n != 0 || err != nil {
					t.Fatalf("a header cut at %d of %d parsed: n=%d err=%v", i, len(b), n, err)
				}
			}
		}
	}
}

func TestHeaderLengthsAreMinimal(t *testing.T) {
	for _, c := range []struct{ length, headerLen int }{{125, 2}, {126, 4}, {65535, 4}, {65536, 10}} {
		if got := len(AppendHeader(nil, Header{}, c.length)); got != c.headerLen {
			t.Errorf("header for %d bytes is %d bytes, want %d", c.length, got, c.headerLen)
		}
	}
}

func TestClientFramesAreMaskedWithFreshKeys(t *testing.T) {
	seen := map[[4]byte]bool{}
	for range 64 {
		h := ClientHeader(OpText, true)
		if !h.Masked {
			t.Fatal("client header not masked")
		}
		seen[h.Mask] = true
		f := AppendFrame(nil, h, []byte("hello"))
		if bytes.Contains(f, []byte("hello")) && h.Mask != ([4]byte{}) {
			t.Fatalf("payload on the wire unmasked: %x", f)
		}
		p := Parser{Server: true}
		c, n, err := p.Parse(f)
		if err != nil || n != len(f) || string(c.Payload) != "hello" || !c.First || !c.Last {
			t.Fatalf("parse of a client frame: %+v %d %v", c, n, err)
		}
	}
	if len(seen) < 60 {
		t.Fatalf("only %d distinct mask keys in 64 frames", len(seen))
	}
}

func TestParserSides(t *testing.T) {
	server := AppendFrame(nil, ServerHeader(OpText, true), []byte("x"))
	client := AppendFrame(nil, ClientHeader(OpText, true), []byte("x"))
	for _, c := range []struct {
		name       string
		readServer bool
		in         []byte
		ok         bool
	}{
		{"server reads a client frame", true, client, true},
		{"server reads an unmasked frame", true, server, false},
		{"client reads a server frame", false, server, true},
		{"client reads a masked frame", false, client, false},
	} {
		p := Parser{Server: c.readServer}
		_, _, err := p.Parse(clone(c.in))
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrProtocol)) {
			t.Errorf("%s: err %v", c.name, err)
		}
	}
}

// TestParserChunksLargeFrame: a data frame's payload comes out as it
// arrives, so nothing below the parser buffers the frame whole.
func TestParserChunksLargeFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 1000)
	f := AppendFrame(nil, ClientHeader(OpBinary, true), payload)
	p := Parser{Server: true}
	var got []byte
	chunks := 0
	for len(f) > 0 {
		piece := f[:min(len(f), 1000)]
		c, n, err := p.Parse(piece)
		if err != nil || n == 0 {
			t.Fatalf("parse: n=%d err=%v", n, err)
		}
		got = append(got, c.Payload...)
		chunks++
		f = f[n:]
	}
	if !bytes.Equal(got, payload) || chunks != 11 || p.InFrame() {
		t.Fatalf("%d chunks, %d bytes, equal %v", chunks, len(got), bytes.Equal(got, payload))
	}
}

func TestClosePayload(t *testing.T) {
	valid := []CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	invalid := []CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for _, c := range valid {
		code, reason, err := ParseClosePayload(AppendClosePayload(nil, c, "why"))
		if err != nil || code != c || reason != "why" {
			t.Errorf("code %d: %d %q %v", c, code, reason, err)
		}
	}
	for _, c := range invalid {
		p := []byte{byte(c >> 8), byte(c)}
		if _, _, err := ParseClosePayload(p); !errors.Is(err, ErrProtocol) || CloseCodeFor(err) != CloseProtocolError {
			t.Errorf("code %d accepted: %v", c, err)
		}
	}
	long := AppendClosePayload(nil, CloseNormal, string(bytes.Repeat([]byte("é"), 100)))
	if len(long) > MaxControlPayload {
		t.Fatalf("close payload of %d bytes", len(long))
	}
	if _, _, err := ParseClosePayload(long); err != nil {
		t.Fatalf("a reason cut to fit is no longer UTF-8: %v", err)
	}
	if p := AppendClosePayload(nil, CloseNoStatus, "x"); len(p) != 0 {
		t.Fatalf("1005 is never sent, got %x", p)
	}
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{16, 512, 16 << 10} {
		buf := make([]byte, n)
		key := [4]byte{1, 2, 3, 4}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				maskBytes(key, 1, buf)
			}
		})
		b.Run(strconv.Itoa(n)+"/bytewise", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				naiveMask(key, 1, buf)
			}
		})
	}
}

// BenchmarkReadMessage is the fast path: a whole masked message in the
// buffer, unmasked in place; it allocates nothing.
func BenchmarkReadMessage(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 128)
	f := AppendFrame(nil, ClientHeader(OpText, true), payload)
	buf := make([]byte, len(f))
	r := newMessageReader(true)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, f)
		ev, n, err := r.next(buf, DefaultMaxMessage)
		if err != nil || n != len(buf) || len(ev.data) != len(payload) {
			b.Fatal(n, err)
		}
	}
}
