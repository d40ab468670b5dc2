package reactor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// pinger is a client: on a dialed conn it sends "ping" and prints the
// reply, then shuts its engine down.
type pinger struct{ reactor.BaseHandler }

func (p pinger) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("ping"))
	return reactor.None
}

func (p pinger) OnTraffic(c conn.Conn) reactor.Action {
	if c.InboundBuffered() < 4 {
		return reactor.None // wait for the whole reply
	}
	reply, _ := c.Next(4)
	fmt.Println("reply:", string(reply))
	return reactor.Shutdown
}

func (p pinger) OnClose(c conn.Conn, err error) {
	if err != nil {
		fmt.Println("dial failed:", err)
	}
}

// Dial connects out from a loop: OnOpen runs once the connect completes, and
// the dialed conn is served by the engine's handler like an accepted one. An
// engine listens on at least one address, here an unused loopback port.
func ExampleEngine_Dial() {
	server, err := reactor.Start(upper{}, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Stop(context.Background())

	client, err := reactor.Start(pinger{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := client.Dial("tcp", server.Addrs()[0].String()); err != nil {
		fmt.Println(err)
	}
	select {
	case <-client.Done(): // closed once OnTraffic returned Shutdown
	case <-time.After(10 * time.Second):
		fmt.Println("no reply")
	}
	client.Stop(context.Background())
	// Output: reply: PING
}
