package websocket

// Fuzz targets for the decoders. Each checks, for arbitrary input: no
// panic, and the same outcome whether the input arrives whole, split in
// two anywhere, or byte by byte. Run one with, for example,
//
//	go test ./websocket -run '^$' -fuzz '^FuzzMessageReader$' -fuzztime 150000x
//
// or every target in the module with sh fuzz.sh.

import (
	"testing"
)

func FuzzMessageReader(f *testing.F) {
	for _, tc := range protocolCases {
		if len(tc.in) <= 512 {
			f.Add(tc.in, true, false, uint16(0), uint16(100))
		}
	}
	for _, tc := range deflateCases {
		if len(tc.in) <= 512 {
			f.Add(tc.in, true, true, uint16(0), uint16(100))
		}
	}
	f.Add(frames(fr{op: OpText, fin: true, payload: "x", unmasked: true}), false, false, uint16(1), uint16(8))
	f.Fuzz(func(t *testing.T, in []byte, server, deflate bool, split, limit uint16) {
		if len(in) > 4<<10 {
			return
		}
		whole := runSide(server, int(limit)+1, deflate, clone(in))
		s := int(split) % (len(in) + 1)
		c := clone(in)
		if got := runSide(server, int(limit)+1, deflate, c[:s], c[s:]); got != whole {
			t.Fatalf("split at %d:\n%s\nwhole:\n%s", s, got, whole)
		}
		if len(in) <= 512 {
			if got := runSide(server, int(limit)+1, deflate, bytewise(clone(in))...); got != whole {
				t.Fatalf("byte by byte:\n%s\nwhole:\n%s", got, whole)
			}
		}
	})
}

func FuzzUTF8Validator(f *testing.F) {
	f.Add([]byte("κόσμε"), uint8(1), uint8(3))
	f.Add([]byte("\xed\xa0\x80"), uint8(1), uint8(2))
	f.Add([]byte("a\xf4\x90\x80\x80"), uint8(2), uint8(4))
	f.Fuzz(func(t *testing.T, s []byte, a, b uint8) {
		if len(s) > 64 {
			return
		}
		i, j := int(a)%(len(s)+1), int(b)%(len(s)+1)
		checkValidator(t, s, []int{min(i, j), max(i, j)})
	})
}

func FuzzClosePayload(f *testing.F) {
	f.Add([]byte{0x03, 0xe8, 'o', 'k'})
	f.Add([]byte{0x03})
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseClosePayload(p)
		if err != nil {
			if c := CloseCodeFor(err); c != CloseProtocolError && c != CloseInvalidPayload {
				t.Fatalf("close payload %x: error %v with code %d", p, err, c)
			}
			return
		}
		if code == CloseNoStatus {
			if len(p) != 0 {
				t.Fatalf("1005 from a payload of %d bytes", len(p))
			}
			return
		}
		if back := AppendClosePayload(nil, code, reason); len(p) <= MaxControlPayload && string(back) != string(p) {
			t.Fatalf("round trip %x -> %x", p, back)
		}
	})
}

// FuzzClientHandshake feeds a client the server's answer: the head is
// found, parsed and checked against the request without a panic, and a
// response accepted has the key's Accept.
func FuzzClientHandshake(f *testing.F) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := (&Options{Policy: Policy{Compression: &Compression{}}}).withDefaults()
		var h headReader
		n, err := h.scan(b, o.MaxRequestHead)
		if err != nil || n == 0 {
			return
		}
		resp, err := parseResponseHead(b[:n-4])
		if err != nil {
			return
		}
		ch := &clientHandler{endpoint: endpoint{h: BaseHandler{}, o: &o}, key: key, offered: []string{"chat"}, compress: true}
		c := newConn(nil, &ch.endpoint, false)
		if err := ch.check(resp, c); err == nil && resp.Values("Sec-WebSocket-Accept")[0] != AcceptKey(key) {
			t.Fatalf("accepted %q", b)
		}
	})
}
