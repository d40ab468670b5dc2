package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
)

// startHTTP1Server serves a page at / and WebSocket at /ws on one address,
// through http1.Server and its upgrade path.
func startHTTP1Server(t *testing.T, scheme string, h Handler, o Options, opts ...reactor.Option) *server {
	t.Helper()
	if scheme == "tls" {
		cert, _ := testCert(t)
		opts = append(opts, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	}
	ws := NewServer(h, o)
	mux := http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if path, _, _ := strings.Cut(string(r.Target), "?"); path == "/ws" {
			ws.ServeHTTP1(w, r)
			return
		}
		w.WriteString("a page")
	})
	opts = append(opts, reactor.WithLoops(2))
	addr := scheme + "://127.0.0.1:0"
	if scheme == "tcp+proxy" {
		addr = "tcp://127.0.0.1:0?proxy=required"
	}
	e, err := reactor.Start(http1.NewServer(mux, http1.Config{}), []string{addr}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		e.Stop(ctx)
		<-e.Done()
	})
	return &server{e: e, addr: e.Addrs()[0].String(), tls: scheme == "tls", scheme: scheme}
}

// TestHTTP1Upgrade: WebSocket behind http1.Server on one address — a
// page and the endpoint side by side, frames that came with the request,
// compression, refusals that keep the conn HTTP, and 1001 on stop.
func TestHTTP1Upgrade(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startHTTP1Server(t, scheme, rec, Options{Policy: Policy{Compression: &Compression{}, Subprotocols: []string{"chat"}}, KeepRequest: true}, opts...)

		// A plain request, then an upgrade on the same conn.
		nc := s.dialRaw(t)
		c := &client{t: t, nc: nc}
		c.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + handshakeRequest +
			"Sec-WebSocket-Protocol: other, chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
		c.br = newBufReader(nc)
		page := readHTTPResponse(t, c.br)
		if !strings.HasPrefix(page, "HTTP/1.1 200 ") || !strings.HasSuffix(page, "a page") {
			t.Fatalf("page: %q", page)
		}
		resp := readHTTPResponse(t, c.br)
		for _, want := range []string{"HTTP/1.1 101 Switching Protocols\r\n", "\r\nUpgrade: websocket\r\n", "\r\nConnection: Upgrade\r\n",
			"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n", "permessage-deflate"} {
			if !strings.Contains(resp, want) {
				t.Fatalf("101 lacks %q:\n%s", want, resp)
			}
		}
		c.p.AllowRSV1 = true
		ws := <-rec.opened
		if ws.Subprotocol() != "chat" || ws.Deflate() == nil || ws.Request().Path() != "/ws" {
			t.Fatalf("conn: protocol %q, deflate %v, path %q", ws.Subprotocol(), ws.Deflate(), ws.Request().Path())
		}
		c.write(frames(text("hello")))
		c.expect(OpText, "hello")
		c.write(frames(closeFrame(CloseNormal, "")))
		c.expectClose(CloseNormal)
		if err := rec.waitClosed(t); err != nil {
			t.Fatalf("OnClose(%v)", err)
		}

		// Frames sent with the request are the WebSocket's.
		nc = s.dialRaw(t)
		c = &client{t: t, nc: nc, br: newBufReader(nc)}
		c.write(append([]byte(handshakeRequest+"\r\n"), frames(text("early"))...))
		readHTTPResponse(t, c.br)
		c.expect(OpText, "early")
		<-rec.opened

		// A refusal is an HTTP answer; the conn stays HTTP.
		nc2 := s.dialRaw(t)
		c2 := &client{t: t, nc: nc2, br: newBufReader(nc2)}
		c2.write([]byte(strings.Replace(handshakeRequest, "Version: 13", "Version: 8", 1) + "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		if r := readHTTPResponse(t, c2.br); !strings.HasPrefix(r, "HTTP/1.1 426 ") || !strings.Contains(r, "Sec-WebSocket-Version: 13\r\n") {
			t.Fatalf("refusal: %q", r)
		}
		if r := readHTTPResponse(t, c2.br); !strings.HasSuffix(r, "a page") {
			t.Fatalf("after the refusal: %q", r)
		}

		// Stop: the open conn gets 1001.
		go s.e.Stop(context.Background())
		c.expectClose(CloseGoingAway)
		if err := rec.waitClosed(t); err != nil {
			t.Fatalf("OnClose(%v) after 1001", err)
		}
	})
}

func newBufReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }

// readHTTPResponse reads one response: its head, and a body of its
// Content-Length.
func readHTTPResponse(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a response: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("reading a body: %v", err)
	}
	return b.String() + string(body)
}

// TestHTTP1UpgradeBehindProxy: behind ?proxy=required the WebSocket conn
// sees the client's address from the PROXY header, on both backends.
func TestHTTP1UpgradeBehindProxy(t *testing.T) {
	for _, tr := range transports {
		if tr.scheme != "tcp" {
			continue
		}
		t.Run(tr.name, func(t *testing.T) {
			rec := newRecorder()
			opts := append(tr.backend(), reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8"))))
			s := startHTTP1Server(t, "tcp+proxy", rec, Options{}, opts...)
			nc := s.dialRaw(t)
			c := &client{t: t, nc: nc, br: newBufReader(nc)}
			c.write([]byte("PROXY TCP4 192.0.2.7 127.0.0.1 4242 80\r\n" + handshakeRequest + "\r\n"))
			if r := readHTTPResponse(t, c.br); !strings.HasPrefix(r, "HTTP/1.1 101 ") {
				t.Fatalf("response: %q", r)
			}
			ws := <-rec.opened
			if got := ws.RemoteAddr().String(); got != "192.0.2.7:4242" {
				t.Fatalf("RemoteAddr %s, want the PROXY header's", got)
			}
			c.write(frames(text("via proxy")))
			c.expect(OpText, "via proxy")
		})
	}
}

// TestRequestDroppedAfterOpen: the opening request is there in OnOpen and
// gone after it, unless KeepRequest: an idle conn keeps no headers.
func TestRequestDroppedAfterOpen(t *testing.T) {
	for _, keep := range []bool{false, true} {
		rec := newRecorder()
		seen := make(chan string, 2)
		rec.onOpen = func(c *Conn) { seen <- c.Request().Values("Host")[0] }
		rec.onMessage = func(c *Conn, op Opcode, data []byte) {
			c.WriteMessage(OpText, []byte(fmt.Sprint(c.Request() != nil)))
		}
		s := startHTTP1Server(t, "tcp", rec, Options{KeepRequest: keep})
		nc := s.dialRaw(t)
		c := &client{t: t, nc: nc, br: newBufReader(nc)}
		c.write([]byte(handshakeRequest + "\r\n"))
		readHTTPResponse(t, c.br)
		if host := <-seen; host != "127.0.0.1" {
			t.Fatalf("Host in OnOpen: %q", host)
		}
		c.write(frames(text("still there?")))
		c.expect(OpText, fmt.Sprint(keep))
	}
}

// TestHTTP1UpgradeRefusedCarriesNoAccept: a handshake that Negotiate
// accepts but http1 cannot hand over (HTTP/1.0 has no upgrade) is refused
// with 400, and that refusal must not carry the 101's Upgrade and
// Sec-WebSocket-Accept fields: a client that checks only the Accept key
// would take it for a WebSocket conn (RFC 6455 §4.1, §4.2.2).
func TestHTTP1UpgradeRefusedCarriesNoAccept(t *testing.T) {
	s := startHTTP1Server(t, "tcp", newRecorder(), Options{})
	nc := s.dialRaw(t)
	c := &client{t: t, nc: nc, br: newBufReader(nc)}
	c.write([]byte(strings.Replace(handshakeRequest, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n"))
	r := readHTTPResponse(t, c.br)
	if !strings.HasPrefix(r, "HTTP/1.1 400 ") {
		t.Fatalf("response: %q", r)
	}
	for _, bad := range []string{"Sec-WebSocket-Accept", "Upgrade: websocket"} {
		if strings.Contains(r, bad) {
			t.Errorf("the refusal carries %q:\n%s", bad, r)
		}
	}
}
