package websocket

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAcceptKeyRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
	if k := NewClientKey(); !validKey(k) || k == NewClientKey() {
		t.Fatalf("NewClientKey %q", k)
	}
}

func goodRequest() http.Header {
	return http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		"Sec-Websocket-Version": {"13"},
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name   string
		method string
		edit   func(h http.Header)
		policy Policy
		status int
		check  func(t *testing.T, hs Handshake)
	}{
		{name: "good", status: 101, check: func(t *testing.T, hs Handshake) {
			if hs.Accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" || hs.Protocol != "" || hs.Deflate != nil {
				t.Fatalf("%+v", hs)
			}
		}},
		{name: "token lists and case", edit: func(h http.Header) {
			h.Set("Connection", "keep-alive, UPGRADE")
			h.Set("Upgrade", "h2c, WebSocket")
		}, status: 101},
		{name: "POST", method: "POST", status: 400},
		{name: "no Upgrade", edit: func(h http.Header) { h.Del("Upgrade") }, status: 400},
		{name: "no Connection: upgrade", edit: func(h http.Header) { h.Set("Connection", "keep-alive") }, status: 400},
		{name: "missing key", edit: func(h http.Header) { h.Del("Sec-Websocket-Key") }, status: 400},
		{name: "key not 16 bytes", edit: func(h http.Header) { h.Set("Sec-Websocket-Key", "c2hvcnQ=") }, status: 400},
		{name: "two keys", edit: func(h http.Header) { h.Add("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, status: 400},
		{name: "version 8", edit: func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }, status: 426, check: func(t *testing.T, hs Handshake) {
			if r := string(hs.AppendResponse(nil)); !strings.Contains(r, "\r\nSec-WebSocket-Version: 13\r\n") || !strings.HasPrefix(r, "HTTP/1.1 426 ") {
				t.Fatalf("426 response:\n%s", r)
			}
		}},
		{name: "no version", edit: func(h http.Header) { h.Del("Sec-Websocket-Version") }, status: 426},
		{name: "origin refused", edit: func(h http.Header) { h.Set("Origin", "https://evil.example") },
			policy: Policy{CheckOrigin: func(o string, _ Headers) bool { return o == "https://good.example" }}, status: 403},
		{name: "origin accepted", edit: func(h http.Header) { h.Set("Origin", "https://good.example") },
			policy: Policy{CheckOrigin: func(o string, _ Headers) bool { return o == "https://good.example" }}, status: 101},
		{name: "subprotocol: the server's preference", edit: func(h http.Header) {
			h.Add("Sec-Websocket-Protocol", "chat.v1, chat.v2")
			h.Add("Sec-Websocket-Protocol", "mqtt")
		}, policy: Policy{Subprotocols: []string{"mqtt", "chat.v2"}}, status: 101, check: func(t *testing.T, hs Handshake) {
			if hs.Protocol != "mqtt" || !strings.Contains(string(hs.AppendResponse(nil)), "\r\nSec-WebSocket-Protocol: mqtt\r\n") {
				t.Fatalf("protocol %q", hs.Protocol)
			}
		}},
		{name: "subprotocol: none in common", edit: func(h http.Header) { h.Set("Sec-Websocket-Protocol", "a") },
			policy: Policy{Subprotocols: []string{"b"}}, status: 101, check: func(t *testing.T, hs Handshake) {
				if hs.Protocol != "" || strings.Contains(string(hs.AppendResponse(nil)), "Sec-WebSocket-Protocol") {
					t.Fatalf("protocol %q", hs.Protocol)
				}
			}},
		{name: "deflate off: offer ignored", edit: func(h http.Header) { h.Set("Sec-Websocket-Extensions", "permessage-deflate") }, status: 101,
			check: func(t *testing.T, hs Handshake) {
				if hs.Deflate != nil {
					t.Fatal("deflate negotiated with Compression nil")
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := goodRequest()
			if c.edit != nil {
				c.edit(h)
			}
			method := c.method
			if method == "" {
				method = "GET"
			}
			hs := c.policy.Negotiate(method, h)
			if hs.Status != c.status {
				t.Fatalf("status %d (%s), want %d", hs.Status, hs.Reason, c.status)
			}
			if c.check != nil {
				c.check(t, hs)
			}
			resp := string(hs.AppendResponse(nil))
			if !strings.HasPrefix(resp, fmt.Sprintf("HTTP/1.1 %d ", c.status)) || !strings.HasSuffix(resp, "\n") {
				t.Fatalf("response:\n%s", resp)
			}
		})
	}
}

func TestNegotiateDeflate(t *testing.T) {
	cases := []struct {
		offer  string
		policy Compression
		want   string // the response's extension element; "" declines
	}{
		{"permessage-deflate", Compression{}, "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate", Compression{ServerContextTakeover: true}, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits", Compression{ServerContextTakeover: true}, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits", Compression{ClientMaxWindowBits: 10}, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
		{"permessage-deflate; client_max_window_bits=9", Compression{ClientMaxWindowBits: 10}, "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"},
		{"permessage-deflate; client_max_window_bits=12", Compression{}, "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"},
		{"permessage-deflate; server_max_window_bits=10", Compression{}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"permessage-deflate; client_no_context_takeover", Compression{ServerContextTakeover: true}, "permessage-deflate; client_no_context_takeover"},
		{"permessage-deflate", Compression{ClientNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{`permessage-deflate; server_max_window_bits="10"`, Compression{}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		// Invalid offers are declined, and the next one considered.
		{"permessage-deflate; server_max_window_bits=7", Compression{}, ""},
		{"permessage-deflate; server_max_window_bits=16", Compression{}, ""},
		{"permessage-deflate; server_max_window_bits", Compression{}, ""},
		{"permessage-deflate; server_max_window_bits=010", Compression{}, ""},
		{"permessage-deflate; foo=1", Compression{}, ""},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", Compression{}, ""},
		{"permessage-deflate; client_no_context_takeover=1", Compression{}, ""},
		{"permessage-deflate; foo, permessage-deflate; client_max_window_bits", Compression{}, "permessage-deflate; server_no_context_takeover"},
		{"x-webkit-deflate-frame, permessage-deflate", Compression{}, "permessage-deflate; server_no_context_takeover"},
		{"x-webkit-deflate-frame", Compression{}, ""},
		{"permessage-deflate;;", Compression{}, ""},
	}
	for _, c := range cases {
		h := goodRequest()
		h.Set("Sec-Websocket-Extensions", c.offer)
		p := Policy{Compression: &c.policy}
		hs := p.Negotiate("GET", h)
		got := ""
		if hs.Deflate != nil {
			got = hs.Deflate.String()
		}
		if hs.Status != 101 || got != c.want {
			t.Errorf("offer %q with %+v: %d %q, want %q", c.offer, c.policy, hs.Status, got, c.want)
		}
	}
}

func TestAcceptDeflateResponse(t *testing.T) {
	for _, c := range []struct {
		resp string
		ok   bool
	}{
		{"permessage-deflate", true},
		{"permessage-deflate; server_no_context_takeover; client_max_window_bits=10", true},
		{"permessage-deflate; client_max_window_bits", false},
		{"permessage-deflate, permessage-deflate", false},
		{"x-other", false},
		{"permessage-deflate; bogus", false},
	} {
		exts, err := ParseExtensions([]string{c.resp})
		if err == nil {
			_, err = acceptDeflateResponse(exts)
		}
		if (err == nil) != c.ok {
			t.Errorf("%q: %v", c.resp, err)
		}
	}
}

func TestParseExtensions(t *testing.T) {
	exts, err := ParseExtensions([]string{`foo; a=1; b="two", bar`, "baz;c"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", exts)
	want := `[{Name:foo Params:[{Name:a Value:1 HasValue:true} {Name:b Value:two HasValue:true}]} {Name:bar Params:[]} {Name:baz Params:[{Name:c Value: HasValue:false}]}]`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"a b", "foo; =1", `foo; a="x y"`, "foo; a=", "fo\"o"} {
		if _, err := ParseExtensions([]string{bad}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

const sampleHead = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n"

// readHead feeds pieces to a head reader as a conn would.
func readHead(max int, pieces ...string) (*RequestHead, int, error) {
	var h headReader
	var buf []byte
	for _, p := range pieces {
		buf = append(buf, p...)
		head, n, err := h.read(buf, max)
		if err != nil || n > 0 {
			return head, n, err
		}
	}
	return nil, 0, nil
}

func TestHeadReaderEverySplit(t *testing.T) {
	in := sampleHead + "\x81\x80tail" // a frame right behind the head stays unconsumed
	for i := 0; i <= len(in); i++ {
		head, n, err := readHead(0, in[:i], in[i:])
		if err != nil || n != len(sampleHead) || head.Method != "GET" || head.Path() != "/chat" || head.Target != "/chat?room=1" {
			t.Fatalf("split at %d: %+v %d %v", i, head, n, err)
		}
		if got := head.Values("sec-websocket-key"); len(got) != 1 || got[0] != "dGhlIHNhbXBsZSBub25jZQ==" {
			t.Fatalf("key %q", got)
		}
		if hs := (&Policy{}).Negotiate(head.Method, head); hs.Status != 101 {
			t.Fatalf("negotiate: %+v", hs)
		}
	}
	var pieces []string
	for i := range len(sampleHead) {
		pieces = append(pieces, sampleHead[i:i+1])
	}
	if _, n, err := readHead(0, pieces...); err != nil || n != len(sampleHead) {
		t.Fatalf("byte by byte: %d %v", n, err)
	}
}

func TestHeadReaderRefuses(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     string
		max    int
		status int
	}{
		{"over the bound, no end in sight", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 200), 128, 431},
		{"end beyond the bound", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 200) + "\r\n\r\n", 128, 431},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", 0, 400},
		{"no version", "GET /\r\n\r\n", 0, 400},
		{"folded header", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 0, 400},
		{"header without colon", "GET / HTTP/1.1\r\nAb\r\n\r\n", 0, 400},
		{"space in name", "GET / HTTP/1.1\r\nA b: c\r\n\r\n", 0, 400},
		{"too many fields", "GET / HTTP/1.1\r\n" + strings.Repeat("A: b\r\n", 101) + "\r\n", 0, 431},
	} {
		_, _, err := readHead(c.max, c.in)
		he, ok := err.(*HandshakeError)
		if !ok || he.Status != c.status {
			t.Errorf("%s: %v, want status %d", c.name, err, c.status)
		}
	}
}

func FuzzRequestHead(f *testing.F) {
	f.Add([]byte(sampleHead), uint16(10))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		s := int(split) % (len(in) + 1)
		h1, n1, err1 := readHead(256, string(in))
		h2, n2, err2 := readHead(256, string(in[:s]), string(in[s:]))
		if n1 != n2 || fmt.Sprint(err1) != fmt.Sprint(err2) || fmt.Sprint(h1) != fmt.Sprint(h2) {
			t.Fatalf("whole: %v %d %v; split at %d: %v %d %v", h1, n1, err1, s, h2, n2, err2)
		}
		if n1 > 256 {
			t.Fatalf("a head of %d bytes over the bound", n1)
		}
		if h1 != nil {
			(&Policy{Compression: &Compression{}}).Negotiate(h1.Method, h1)
		}
	})
}

func FuzzParseExtensions(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits, x; a=\"b\"")
	f.Fuzz(func(t *testing.T, s string) {
		exts, err := ParseExtensions([]string{s})
		if err != nil {
			return
		}
		(&Compression{}).negotiateDeflate(exts)
		acceptDeflateResponse(exts)
	})
}
