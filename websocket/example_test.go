package websocket_test

import (
	"context"
	"fmt"
	"time"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// echo sends every message back.
type echo struct{ websocket.BaseHandler }

func (echo) OnMessage(c *websocket.Conn, op websocket.Opcode, data []byte) { c.WriteMessage(op, data) }

// printer is a client that says hello and prints what comes back.
type printer struct {
	websocket.BaseHandler
	done chan struct{}
}

func (p printer) OnOpen(c *websocket.Conn) { c.WriteMessage(websocket.OpText, []byte("hello")) }

func (p printer) OnMessage(c *websocket.Conn, _ websocket.Opcode, data []byte) {
	fmt.Printf("%s (deflate: %v)\n", data, c.Deflate() != nil)
	c.Close(websocket.CloseNormal, "")
}

func (p printer) OnClose(*websocket.Conn, error) { close(p.done) }

// A page and a WebSocket endpoint on one address: http1.Server routes
// /ws to the WebSocket Server, which takes the conn over at the 101. A
// client on the same engine dials it.
func Example() {
	ws := websocket.NewServer(echo{}, websocket.Options{
		Policy: websocket.Policy{Compression: &websocket.Compression{}},
	})
	mux := http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Target) == "/ws" {
			ws.ServeHTTP1(w, r)
			return
		}
		w.WriteString("a page\n")
	})
	eng, err := reactor.Start(http1.NewServer(mux, http1.Config{}), []string{"tcp://127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer eng.Stop(context.Background())

	p := printer{done: make(chan struct{})}
	url := "ws://" + eng.Addrs()[0].String() + "/ws"
	err = websocket.Dial(eng, url, p, websocket.DialOptions{
		Options: websocket.Options{Policy: websocket.Policy{Compression: &websocket.Compression{}}},
	})
	if err != nil {
		panic(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	// Output: hello (deflate: true)
}
