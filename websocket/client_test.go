package websocket

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/reactor"
)

// clientRecorder is a client-side Handler: it records what arrives and
// runs a script at the open.
type clientRecorder struct {
	onOpen func(c *Conn)
	opened chan *Conn
	msgs   chan string
	closed chan error
}

func newClientRecorder() *clientRecorder {
	return &clientRecorder{opened: make(chan *Conn, 8), msgs: make(chan string, 64), closed: make(chan error, 8)}
}

func (r *clientRecorder) OnOpen(c *Conn) {
	if r.onOpen != nil {
		r.onOpen(c)
	}
	r.opened <- c
}

func (r *clientRecorder) OnMessage(c *Conn, op Opcode, data []byte) {
	r.msgs <- op.String() + ":" + string(data)
}

func (r *clientRecorder) OnClose(c *Conn, err error) { r.closed <- err }

func (r *clientRecorder) msg(t *testing.T) string {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(bound):
		t.Fatal("no message")
		return ""
	}
}

func (r *clientRecorder) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(bound):
		t.Fatal("no OnClose")
		return nil
	}
}

func wsURL(s *server, path string) string {
	if s.tls {
		return "wss://" + s.addr + path
	}
	return "ws://" + s.addr + path
}

func clientOpts(scheme string, opts []reactor.Option) []reactor.Option {
	if scheme == "tls" {
		_, pool := testCert(nil)
		opts = append(opts, reactor.WithDialTLS(&tls.Config{RootCAs: pool}))
	}
	return opts
}

// TestClientDial: our client and our server, ws:// and wss://, on both
// backends: messages both ways (compressed past the threshold, with
// context takeover on the client's side), a subprotocol, an extra header,
// and the closing handshake begun by the client.
func TestClientDial(t *testing.T) {
	forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
		srv := newRecorder()
		s := startHTTP1Server(t, scheme, srv, Options{Policy: Policy{Compression: &Compression{}, Subprotocols: []string{"v2", "v1"}}, KeepRequest: true}, clientOpts(scheme, opts)...)
		cl := newClientRecorder()
		big := strings.Repeat("compressible ", 200)
		cl.onOpen = func(c *Conn) {
			c.WriteMessage(OpText, []byte("hello"))
			c.WriteMessage(OpText, []byte(big))
			c.WriteMessage(OpText, []byte(big)) // again: the client's window holds it
			c.WriteMessage(OpBinary, []byte{0, 1, 2})
		}
		err := Dial(s.e, wsURL(s, "/ws?x=1"), cl, DialOptions{
			Options: Options{Policy: Policy{Subprotocols: []string{"v1", "v2"}, Compression: &Compression{}}},
			Header:  map[string][]string{"Origin": {"http://example.test"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var c, sc *Conn
		select {
		case c = <-cl.opened:
		case err := <-cl.closed:
			t.Fatalf("dial failed: %v", err)
		case <-time.After(bound):
			t.Fatal("no OnOpen")
		}
		sc = <-srv.opened
		if c.Subprotocol() != "v2" || c.Deflate() == nil || c.Request() != nil {
			t.Fatalf("client conn: protocol %q, deflate %v", c.Subprotocol(), c.Deflate())
		}
		if sc.Request().Target != "/ws?x=1" || sc.Request().Values("Origin")[0] != "http://example.test" {
			t.Fatalf("server saw %q, origin %q", sc.Request().Target, sc.Request().Values("Origin"))
		}
		for _, want := range []string{"text:hello", "text:" + big, "text:" + big, "binary:\x00\x01\x02"} {
			if got := cl.msg(t); got != want {
				t.Fatalf("echo %q, want %q", trunc([]byte(got)), trunc([]byte(want)))
			}
		}
		if err := c.AsyncClose(CloseNormal, "done"); err != nil {
			t.Fatal(err)
		}
		if err := cl.waitClosed(t); err != nil {
			t.Fatalf("client OnClose(%v)", err)
		}
		if err := srv.waitClosed(t); err != nil {
			t.Fatalf("server OnClose(%v)", err)
		}
	})
}

// fakeServer answers one opening request with a response made from the
// request's key, in pieces of a byte, then sends what follows.
func fakeServer(t *testing.T, respond func(key string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(bound))
		br := bufio.NewReader(nc)
		key := ""
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Key: "); ok {
				key = strings.TrimSpace(v)
			}
			if line == "\r\n" {
				break
			}
		}
		resp := respond(key)
		for i := 0; i < len(resp); i++ {
			if _, err := nc.Write([]byte{resp[i]}); err != nil {
				return
			}
		}
		br.ReadByte() // until the client closes
	}()
	return ln.Addr().String()
}

// TestClientHandshakeFailures: each response a client must refuse (§4.1)
// ends in OnClose with ErrBadHandshake and no OnOpen; a stalled server
// with ErrHandshakeTimeout; a refused connect with the dial's error. A
// good response in one-byte pieces opens the conn.
func TestClientHandshakeFailures(t *testing.T) {
	e := startServer(t, "tcp", newRecorder(), Options{}).e
	ok := func(key string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\n"
	}
	for _, c := range []struct {
		name    string
		respond func(key string) string
		want    error
	}{
		{"good, a byte at a time", func(k string) string { return ok(k) + "\r\n\x81\x02hi" }, nil},
		{"404", func(string) string { return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" }, ErrBadHandshake},
		{"wrong accept", func(string) string { return ok("dGhlIHNhbXBsZSBub25jZQ==") + "\r\n" }, ErrBadHandshake},
		{"no upgrade", func(k string) string { return strings.Replace(ok(k), "Upgrade: websocket\r\n", "", 1) + "\r\n" }, ErrBadHandshake},
		{"protocol not offered", func(k string) string { return ok(k) + "Sec-WebSocket-Protocol: x\r\n\r\n" }, ErrBadHandshake},
		{"extension not offered", func(k string) string { return ok(k) + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n" }, ErrBadHandshake},
		{"malformed status line", func(string) string { return "HTTP/1.1 1x1 Huh\r\n\r\n" }, ErrBadHandshake},
		{"masked server frame", func(k string) string { return ok(k) + "\r\n\x81\x82abcd\x09\x0b" }, ErrProtocol},
		{"stalled", func(string) string { return "HTTP/1.1 101 " }, ErrHandshakeTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeServer(t, c.respond)
			cl := newClientRecorder()
			if err := Dial(e, "ws://"+addr+"/", cl, DialOptions{Options: Options{HandshakeTimeout: 300 * time.Millisecond}}); err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				conn := <-cl.opened
				if m := cl.msg(t); m != "text:hi" {
					t.Fatalf("got %q", m)
				}
				conn.AsyncClose(CloseNormal, "")
				cl.waitClosed(t) // the fake server hangs up
				return
			}
			err := cl.waitClosed(t)
			if !errors.Is(err, c.want) {
				t.Fatalf("OnClose(%v), want %v", err, c.want)
			}
			select {
			case <-cl.opened:
				if c.want != ErrProtocol {
					t.Fatal("OnOpen ran")
				}
			default:
			}
		})
	}

	// A refused connect: OnClose with the dial's error.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cl := newClientRecorder()
	if err := Dial(e, "ws://"+addr+"/", cl, DialOptions{}); err != nil {
		t.Fatal(err)
	}
	var oe *net.OpError
	if err := cl.waitClosed(t); !errors.As(err, &oe) {
		t.Fatalf("OnClose(%v), want a *net.OpError", err)
	}
	for _, bad := range []string{"http://x/", "ws:///nohost", "::"} {
		if err := Dial(e, bad, cl, DialOptions{}); err == nil {
			t.Fatalf("Dial(%q) took it", bad)
		}
	}
}

// TestClientLetsServerCloseFirst: once the closing handshake is done, the
// client waits for the server to close the TCP conn (RFC 6455 §7.1.1: the
// server closes first, so that it, not the client, holds TIME_WAIT), and
// closes it itself only after CloseTimeout.
func TestClientLetsServerCloseFirst(t *testing.T) {
	e := startServer(t, "tcp", newRecorder(), Options{}).e
	for _, serverCloses := range []bool{true, false} {
		t.Run(fmt.Sprintf("server closes: %v", serverCloses), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cl := newClientRecorder()
			const closeTimeout = 600 * time.Millisecond
			if err := Dial(e, "ws://"+ln.Addr().String()+"/", cl, DialOptions{Options: Options{CloseTimeout: closeTimeout}}); err != nil {
				t.Fatal(err)
			}
			nc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(bound))
			br := bufio.NewReader(nc)
			key := ""
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Key: "); ok {
					key = strings.TrimSpace(v)
				}
				if line == "\r\n" {
					break
				}
			}
			nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\n\r\n"))
			<-cl.opened
			cf := closeFrame(CloseNormal, "")
			cf.unmasked = true // a server's
			nc.Write(cf.wire())
			// The client's echo: 2 header bytes, a 4-byte mask, the code.
			echo := make([]byte, 8)
			if _, err := io.ReadFull(br, echo); err != nil || echo[0] != 0x88 {
				t.Fatalf("echo %x, %v", echo, err)
			}
			start := time.Now()
			nc.SetReadDeadline(time.Now().Add(closeTimeout / 3))
			if n, err := br.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the client closed first (%d bytes, %v after %v)", n, err, time.Since(start))
			}
			if serverCloses {
				nc.Close()
				if err := cl.waitClosed(t); err != nil {
					t.Fatalf("OnClose(%v)", err)
				}
				return
			}
			// A server that never closes: the client does, after CloseTimeout.
			nc.SetReadDeadline(time.Now().Add(bound))
			if _, err := br.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("read: %v, want EOF", err)
			}
			if d := time.Since(start); d < closeTimeout/2 {
				t.Fatalf("the client closed after %v", d)
			}
			if err := cl.waitClosed(t); err != nil {
				t.Fatalf("OnClose(%v)", err)
			}
		})
	}
}
