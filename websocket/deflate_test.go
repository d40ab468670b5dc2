package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/evloop/evloop/reactor"
)

// deflated is s compressed as a permessage-deflate payload by
// compress/flate: one stream, sync-flushed, its tail stripped.
func deflated(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Flush()
	return strings.TrimSuffix(b.String(), "\x00\x00\xff\xff")
}

// bomb is a payload that inflates to n zero bytes.
func bomb(n int) string { return deflated(string(make([]byte, n))) }

// deflateCases are Autobahn's sections 12 and 13 (compression) as reader
// cases, with permessage-deflate negotiated (no context takeover).
var deflateCases = []protocolCase{
	{name: "12.1 compressed text", in: frames(fr{op: OpText, fin: true, rsv: 1, payload: deflated("Hello, Hello, Hello")}), want: `text "Hello, Hello, Hello"`},
	{name: "12.2 compressed binary", in: frames(fr{op: OpBinary, fin: true, rsv: 1, payload: deflated("\x00\x01\x00\x01\x00\x01")}), want: `binary "\x00\x01\x00\x01\x00\x01"`},
	{name: "compressed and plain messages mixed", in: frames(fr{op: OpText, fin: true, rsv: 1, payload: deflated("zip")}, text("plain")), want: "text \"zip\"\ntext \"plain\""},
	{name: "compressed message in fragments (RSV1 on the first only)", in: frames(fr{op: OpText, rsv: 1, payload: deflated("fragmented")[:3]}, cont(deflated("fragmented")[3:], true)), want: `text "fragmented"`},
	{name: "ping between compressed fragments", in: frames(fr{op: OpText, rsv: 1, payload: deflated("abc")[:2]}, ping("x"), cont(deflated("abc")[2:], true)), want: "ping \"x\"\ntext \"abc\""},
	{name: "RSV1 on a continuation", in: frames(fr{op: OpText, rsv: 1, payload: deflated("ab")[:1]}, fr{op: OpContinuation, fin: true, rsv: 1, payload: deflated("ab")[1:]}), want: "error 1002"},
	{name: "RSV1 on a ping", in: frames(fr{op: OpPing, fin: true, rsv: 1}), want: "error 1002"},
	{name: "compressed text that inflates to bad UTF-8", in: frames(fr{op: OpText, fin: true, rsv: 1, payload: deflated("ok\xff")}), want: "error 1007"},
	{name: "corrupt deflate data", in: frames(fr{op: OpBinary, fin: true, rsv: 1, payload: "\xff\xff\xff\xff"}), want: "error 1002"},
	{name: "deflate bomb: 1 MiB of zeros from a few hundred bytes", in: frames(fr{op: OpBinary, fin: true, rsv: 1, payload: bomb(1 << 20)}), want: "error 1009", limit: 64 << 10},
	{name: "inflated exactly at the limit", in: frames(fr{op: OpBinary, fin: true, rsv: 1, payload: bomb(64 << 10)}), want: "binary 65536 bytes", limit: 64 << 10},
	{name: "compressed size over the limit", in: frames(fr{op: OpBinary, fin: true, rsv: 1, payload: strings.Repeat("x", 200)}), want: "error 1009", limit: 100},
}

func TestDeflateCases(t *testing.T) {
	for _, tc := range deflateCases {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 16
			}
			if got := runReader(limit, true, clone(tc.in)); got != tc.want {
				t.Fatalf("whole:\n%s\nwant:\n%s", got, tc.want)
			}
			for i := 1; i < len(tc.in) && len(tc.in) <= 1<<10; i++ {
				in := clone(tc.in)
				if got := runReader(limit, true, in[:i], in[i:]); got != tc.want {
					t.Fatalf("split at %d:\n%s\nwant:\n%s", i, got, tc.want)
				}
			}
		})
	}
}

// TestDeflateContextTakeover: with context takeover a later message refers
// back into earlier ones; the conn's compressor and inflater keep the
// window across messages (and the inflater only its last 32 KiB).
func TestDeflateContextTakeover(t *testing.T) {
	for _, keep := range []bool{false, true} {
		o := (&Options{Policy: Policy{Compression: &Compression{Threshold: -1, ServerContextTakeover: keep}}}).withDefaults()
		p := &DeflateParams{ServerNoContextTakeover: !keep, ClientNoContextTakeover: !keep}
		sender := newConn(nil, &endpoint{o: &o}, true)
		sender.setDeflate(p)
		receiver := &deflater{keepInflate: keep}
		msg := strings.Repeat("the same sentence, again and again. ", 20)
		var sizes []int
		for i := range 50 {
			z, err := sender.compress([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(z))
			out, err := receiver.inflate(nil, z, 1<<20)
			if err != nil || string(out) != msg {
				t.Fatalf("takeover %v, message %d: %v %q", keep, i, err, trunc(out))
			}
		}
		if keep && sizes[1] >= sizes[0]/2 {
			t.Fatalf("with context takeover the second message took %d bytes, the first %d", sizes[1], sizes[0])
		}
		if !keep && sizes[1] != sizes[0] {
			t.Fatalf("without context takeover messages differ: %v", sizes[:2])
		}
		if len(receiver.dict) > maxWindow {
			t.Fatalf("inflate window of %d bytes", len(receiver.dict))
		}
	}
}

// deflateClient is a test client that speaks permessage-deflate with
// compress/flate directly, without context takeover.
func (c *client) writeCompressed(op Opcode, s string) {
	c.write(frames(fr{op: op, fin: true, rsv: 1, payload: deflated(s)}))
}

func (c *client) expectCompressed(op Opcode, want string) {
	c.t.Helper()
	h, p, err := c.readFrame()
	if err != nil || h.Opcode != op || !h.RSV1 {
		c.t.Fatalf("got %+v %v, want a compressed %v", h, err, op)
	}
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(inflateTail)))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != want {
		c.t.Fatalf("inflated %q, %v; want %q", trunc(got), err, trunc([]byte(want)))
	}
}

// bigBomb is 16 MiB of zeros deflated to some 16 KiB.
var (
	bigBombOnce sync.Once
	bigBomb     string
)

func TestServerDeflate(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{Policy: Policy{Compression: &Compression{Threshold: 64}}, MaxMessage: 1 << 20}, opts...)
		ws := s.dial(t, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
		if !strings.Contains(ws.resp, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n") {
			t.Fatalf("response:\n%s", ws.resp)
		}
		long := strings.Repeat("compress me ", 100)
		ws.writeCompressed(OpText, long)
		ws.expectCompressed(OpText, long)
		ws.writeCompressed(OpText, "short")
		ws.expect(OpText, "short") // under the threshold: sent as is
		// Fan-out: compressed once, without context takeover.
		c := <-rec.opened
		pm, _ := NewPreparedMessage(OpBinary, []byte(long))
		c.AsyncWritePrepared(pm)
		ws.expectCompressed(OpBinary, long)
		// A bomb: 16 MiB of zeros in 16 KiB of deflate.
		bigBombOnce.Do(func() { bigBomb = deflated(string(make([]byte, 16<<20))) }) // slow under -race: once
		ws.write(frames(fr{op: OpBinary, fin: true, rsv: 1, payload: bigBomb}))
		ws.expectClose(CloseMessageTooBig)
		if err := rec.waitClosed(t); !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// TestServerDeflateTakeoverAndPrepared: a conn whose compressor keeps its
// window still sends prepared (context-free) frames its peer can inflate,
// and its own messages after them stay valid.
func TestServerDeflateTakeoverAndPrepared(t *testing.T) {
	rec := newRecorder()
	s := startServer(t, "tcp", rec, Options{Policy: Policy{Compression: &Compression{Threshold: -1, ServerContextTakeover: true}}})
	ws := s.dial(t, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
	if !strings.Contains(ws.resp, "Sec-WebSocket-Extensions: permessage-deflate\r\n") {
		t.Fatalf("response:\n%s", ws.resp)
	}
	c := <-rec.opened
	// One inflater over the whole stream, as a peer with context takeover
	// keeps it: every message's bytes must continue the same stream.
	pr, pw := io.Pipe()
	inflater := flate.NewReader(pr)
	defer pr.Close()
	// Messages that compress only by referring to earlier ones.
	rng := rand.New(rand.NewPCG(5, 6))
	noise := func() string {
		b := make([]byte, 300)
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		return string(b)
	}
	a, b := noise(), noise()
	msgs := []string{a, b, a, b, a + a}
	go func() {
		for i, m := range msgs {
			if i%2 == 1 {
				pm, _ := NewPreparedMessage(OpText, []byte(m))
				c.AsyncWritePrepared(pm)
			} else {
				c.AsyncWriteMessage(OpText, []byte(m))
			}
		}
	}()
	for _, m := range msgs {
		h, p, err := ws.readFrame()
		if err != nil || !h.RSV1 {
			t.Fatalf("%+v %v", h, err)
		}
		go pw.Write(append(p, deflateTail...))
		got := make([]byte, len(m))
		if _, err := io.ReadFull(inflater, got); err != nil || string(got) != m {
			t.Fatalf("inflated %q %v, want %q", got, err, m)
		}
	}
}
