package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// Interop with the Go peers (test-only, in this module so that evloop's
// go.mod stays free of them): gorilla/websocket and coder/websocket as
// clients of evloop's server and as servers for evloop's client, with
// permessage-deflate where the peer offers it.

const bound = 20 * time.Second

// echoServer is evloop's WebSocket echo behind http1 on a loopback port.
func echoServer(t *testing.T) (reactor.Engine, string) {
	t.Helper()
	ws := websocket.NewServer(evEcho{}, websocket.Options{Policy: websocket.Policy{Compression: &websocket.Compression{}}})
	e, err := reactor.Start(http1.NewServer(ws, http1.Config{}), []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		e.Stop(ctx)
		<-e.Done()
	})
	return e, e.Addrs()[0].String()
}

var messages = []string{"hello", strings.Repeat("é", 3000), strings.Repeat("compressible ", 400), ""}

func TestGorillaClient(t *testing.T) {
	_, addr := echoServer(t)
	d := gorilla.Dialer{EnableCompression: true, HandshakeTimeout: bound}
	c, resp, err := d.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("no compression: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	c.SetReadDeadline(time.Now().Add(bound))
	for _, m := range messages {
		if err := c.WriteMessage(gorilla.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		op, got, err := c.ReadMessage()
		if err != nil || op != gorilla.TextMessage || string(got) != m {
			t.Fatalf("echo: %v %d %d bytes, want %d", err, op, len(got), len(m))
		}
	}
	c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "done"))
	if _, _, err := c.ReadMessage(); !gorilla.IsCloseError(err, gorilla.CloseNormalClosure) {
		t.Fatalf("close: %v", err)
	}
}

func TestCoderClient(t *testing.T) {
	_, addr := echoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	c, resp, err := coder.Dial(ctx, "ws://"+addr+"/", &coder.DialOptions{CompressionMode: coder.CompressionContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("no compression: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	for _, m := range messages {
		if err := c.Write(ctx, coder.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		op, got, err := c.Read(ctx)
		if err != nil || op != coder.MessageText || string(got) != m {
			t.Fatalf("echo: %v %v %d bytes, want %d", err, op, len(got), len(m))
		}
	}
	if err := c.Close(coder.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// client is evloop's client side for the peer servers.
type client struct {
	opened chan *websocket.Conn
	msgs   chan string
	closed chan error
}

func (c *client) OnOpen(conn *websocket.Conn) { c.opened <- conn }
func (c *client) OnMessage(_ *websocket.Conn, _ websocket.Opcode, data []byte) {
	c.msgs <- string(data)
}
func (c *client) OnClose(_ *websocket.Conn, err error) { c.closed <- err }

// dialPeer runs evloop's client against a peer's echo server at url.
func dialPeer(t *testing.T, url string) {
	t.Helper()
	e, _ := echoServer(t)
	cl := &client{opened: make(chan *websocket.Conn, 1), msgs: make(chan string, 16), closed: make(chan error, 1)}
	o := websocket.DialOptions{Options: websocket.Options{Policy: websocket.Policy{Compression: &websocket.Compression{ServerContextTakeover: true}}}}
	if err := websocket.Dial(e, url, cl, o); err != nil {
		t.Fatal(err)
	}
	var conn *websocket.Conn
	select {
	case conn = <-cl.opened:
	case err := <-cl.closed:
		t.Fatalf("dial: %v", err)
	case <-time.After(bound):
		t.Fatal("no OnOpen")
	}
	if conn.Deflate() == nil {
		t.Fatal("no permessage-deflate")
	}
	for _, m := range messages {
		conn.AsyncWriteMessage(websocket.OpText, []byte(m))
		select {
		case got := <-cl.msgs:
			if got != m {
				t.Fatalf("echo of %d bytes: %d bytes", len(m), len(got))
			}
		case <-time.After(bound):
			t.Fatal("no echo")
		}
	}
	conn.AsyncClose(websocket.CloseNormal, "done")
	select {
	case err := <-cl.closed:
		if err != nil {
			t.Fatalf("OnClose(%v)", err)
		}
	case <-time.After(bound):
		t.Fatal("no OnClose")
	}
}

func TestGorillaServer(t *testing.T) {
	up := gorilla.Upgrader{EnableCompression: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, data, err := c.ReadMessage()
			if err != nil || c.WriteMessage(op, data) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	dialPeer(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/")
}

func TestCoderServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: coder.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		for {
			op, data, err := c.Read(ctx)
			if err != nil || c.Write(ctx, op, data) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	dialPeer(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/")
}
