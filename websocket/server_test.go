package websocket

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/reactor"
)

func TestServerEchoAndCloseHandshake(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{Path: "/ws"}, opts...)
		c := s.dial(t, "")
		c.write(frames(text("hello")))
		c.expect(OpText, "hello")
		c.write(frames(binary_("\x00\xff")))
		c.expect(OpBinary, "\x00\xff")
		// Fragments with a ping between them: the pong comes first.
		c.write(frames(first(OpText, "frag"), ping("p"), cont("ment", true)))
		c.expect(OpPong, "p")
		c.expect(OpText, "fragment")
		big := strings.Repeat("x", 100<<10) // written as header + payload
		c.write(frames(binary_(big)))
		c.expect(OpBinary, big)
		c.write(frames(closeFrame(CloseNormal, "bye")))
		c.expectClose(CloseNormal)
		if err := rec.waitClosed(t); err != nil {
			t.Fatalf("OnClose(%v), want nil after a normal close", err)
		}
	})
}

func TestServerCloseCodes(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{MaxMessage: 1000}, opts...)
		for _, c := range []struct {
			name string
			in   []byte
			code CloseCode
			err  error
		}{
			{"unmasked frame", frames(fr{op: OpText, fin: true, payload: "x", unmasked: true}), CloseProtocolError, ErrProtocol},
			{"reserved opcode", frames(fr{op: 3, fin: true}), CloseProtocolError, ErrProtocol},
			{"bad UTF-8 in a fragment", frames(first(OpText, "ok\xff")), CloseInvalidPayload, ErrInvalidUTF8},
			{"message over the limit", frames(first(OpBinary, strings.Repeat("x", 600)), cont(strings.Repeat("x", 600), true)), CloseMessageTooBig, ErrMessageTooBig},
			{"2^63 length", frames(fr{op: OpBinary, fin: true, length: 1 << 63})[:14], CloseProtocolError, ErrProtocol},
		} {
			ws := s.dial(t, "")
			ws.write(c.in)
			ws.expectClose(c.code)
			if err := rec.waitClosed(t); !errors.Is(err, c.err) {
				t.Fatalf("%s: OnClose(%v), want %v", c.name, err, c.err)
			}
		}
		// A close with an unusual code reaches OnClose as a CloseError.
		ws := s.dial(t, "")
		ws.write(frames(closeFrame(4001, "custom")))
		ws.expectClose(4001)
		var ce *CloseError
		if err := rec.waitClosed(t); !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "custom" {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

func TestServerRefusesBadHandshakes(t *testing.T) {
	rec := newRecorder()
	s := startServer(t, "tcp", rec, Options{Path: "/ws", MaxRequestHead: 1024})
	for _, c := range []struct {
		extra, want string
	}{
		{"Sec-WebSocket-Version: 8\r\n", "HTTP/1.1 426 "},
		{"X-Filler: " + strings.Repeat("a", 2000) + "\r\n", "HTTP/1.1 431 "},
	} {
		// The default request already has version 13; a second version
		// line makes it ambiguous, which is refused as another version.
		ws := s.dialStatus(t, c.extra)
		if !strings.HasPrefix(ws.resp, c.want) {
			t.Fatalf("%q: response\n%s", c.extra, ws.resp)
		}
		if c.want == "HTTP/1.1 426 " && !strings.Contains(ws.resp, "\r\nSec-WebSocket-Version: 13\r\n") {
			t.Fatalf("426 without Sec-WebSocket-Version: 13:\n%s", ws.resp)
		}
		if _, err := io.ReadAll(ws.br); err != nil && !isReset(err) {
			t.Fatalf("after the refusal: %v", err)
		}
	}
	// A wrong path, and a request without a key.
	for _, c := range []struct{ req, want string }{
		{strings.Replace(handshakeRequest, "/ws", "/other", 1) + "\r\n", "HTTP/1.1 404 "},
		{strings.Replace(handshakeRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1) + "\r\n", "HTTP/1.1 400 "},
	} {
		nc := s.dialRaw(t)
		nc.Write([]byte(c.req))
		b := make([]byte, 512)
		n, _ := nc.Read(b)
		if !strings.HasPrefix(string(b[:n]), c.want) {
			t.Fatalf("response %q, want %q", b[:n], c.want)
		}
	}
	select {
	case <-rec.opened:
		t.Fatal("a refused conn reached OnOpen")
	default:
	}
}

// TestServerStalledHandshake: a client that sends half a request and
// stalls is answered 408 and closed after HandshakeTimeout.
func TestServerStalledHandshake(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		s := startServer(t, scheme, newRecorder(), Options{HandshakeTimeout: 200 * time.Millisecond}, opts...)
		nc := s.dialRaw(t)
		start := time.Now()
		nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
		b := make([]byte, 512)
		n, _ := nc.Read(b)
		if !strings.HasPrefix(string(b[:n]), "HTTP/1.1 408 ") {
			t.Fatalf("response %q", b[:n])
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 10*time.Second {
			t.Fatalf("closed after %v", d)
		}
	})
}

func TestServerKeepalive(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{PingInterval: 100 * time.Millisecond}, opts...)
		ws := s.dial(t, "")
		for range 3 { // answered pings keep the conn
			ws.expect(OpPing, "")
			ws.write(frames(pong("")))
		}
		ws.expect(OpPing, "") // unanswered: cut off at the next interval
		ws.expectEOF()
		if err := rec.waitClosed(t); !errors.Is(err, ErrPongTimeout) {
			t.Fatalf("OnClose(%v), want ErrPongTimeout", err)
		}
	})
}

// TestServerStopSendsGoingAway: a stopping engine's conns get 1001, over
// tls:// too (the TLS layer passes OnStop on).
func TestServerStopSendsGoingAway(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{}, opts...)
		ws := s.dial(t, "")
		<-rec.opened
		go s.e.Stop(t.Context())
		ws.expectClose(CloseGoingAway)
		if err := rec.waitClosed(t); err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	})
}

// TestServerFanOut: a prepared message goes to every conn, from another
// goroutine, framed once.
func TestServerFanOut(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		s := startServer(t, scheme, rec, Options{}, opts...)
		var clients []*client
		var conns []*Conn
		for range 8 {
			clients = append(clients, s.dial(t, ""))
			conns = append(conns, <-rec.opened)
		}
		pm, err := NewPreparedMessage(OpText, []byte("to everyone"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			if err := c.AsyncWritePrepared(pm); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range clients {
			c.expect(OpText, "to everyone")
		}
	})
}

// TestServerSlowReceiver: a client that never reads is cut off once its
// backlog passes MaxBacklog; the server's buffer for it stays bounded.
func TestServerSlowReceiver(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		const maxBacklog = 256 << 10
		rec := newRecorder()
		chunk := make([]byte, 16<<10)
		maxSeen := make(chan int, 1)
		rec.onMessage = func(c *Conn, op Opcode, data []byte) {
			most := 0
			for range 10000 {
				if err := c.WriteMessage(OpBinary, chunk); err != nil {
					break
				}
				most = max(most, c.Raw().OutboundBuffered())
			}
			maxSeen <- most
		}
		s := startServer(t, scheme, rec, Options{MaxBacklog: maxBacklog, CloseTimeout: 200 * time.Millisecond}, opts...)
		ws := s.dial(t, "")
		ws.write(frames(text("flood me")))
		if most := <-maxSeen; most > maxBacklog {
			t.Fatalf("outbound reached %d bytes, bound %d", most, maxBacklog)
		}
		if err := rec.waitClosed(t); !errors.Is(err, ErrSlowReceiver) {
			t.Fatalf("OnClose(%v), want ErrSlowReceiver", err)
		}
	})
}

// TestServerMessageOverMaxBacklog: a message larger than MaxBacklog (which
// MaxMessage allows) is echoed whole when nothing else waits; it was cut
// off as from a slow receiver, and could never be sent.
func TestServerMessageOverMaxBacklog(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		rec := newRecorder()
		rec.onMessage = func(c *Conn, op Opcode, data []byte) {
			if err := c.WriteMessage(op, data); err != nil {
				t.Errorf("WriteMessage(%d bytes): %v", len(data), err)
			}
		}
		s := startServer(t, scheme, rec, Options{MaxMessage: 4 << 20, MaxBacklog: 1 << 20}, opts...)
		ws := s.dial(t, "")
		big := strings.Repeat("z", 3<<20)
		ws.write(frames(binary_(big)))
		ws.expect(OpBinary, big)
	})
}

// TestServerEndlessFragments: fragments that never end are cut off at the
// message limit, whatever their number.
func TestServerEndlessFragments(t *testing.T) {
	rec := newRecorder()
	s := startServer(t, "tcp", rec, Options{MaxMessage: 64 << 10})
	ws := s.dial(t, "")
	ws.write(frames(first(OpBinary, "x")))
	frag := frames(cont(strings.Repeat("y", 1000), false))
	go func() {
		for range 1000 {
			if _, err := ws.nc.Write(frag); err != nil {
				return
			}
		}
	}()
	ws.expectClose(CloseMessageTooBig)
	if err := rec.waitClosed(t); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("OnClose(%v)", err)
	}
}

func TestServerAppClose(t *testing.T) {
	rec := newRecorder()
	rec.onMessage = func(c *Conn, op Opcode, data []byte) { c.Close(CloseNormal, "done") }
	s := startServer(t, "tcp", rec, Options{})
	ws := s.dial(t, "")
	ws.write(frames(text("close please")))
	h, p, err := ws.readFrame()
	if err != nil || h.Opcode != OpClose || string(p[2:]) != "done" {
		t.Fatalf("%v %q %v", h.Opcode, p, err)
	}
	ws.write(frames(closeFrame(CloseNormal, "")))
	ws.expectEOF()
	if err := rec.waitClosed(t); err != nil {
		t.Fatalf("OnClose(%v)", err)
	}
}
