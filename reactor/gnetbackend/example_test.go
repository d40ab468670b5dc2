//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// echo writes back whatever arrives.
type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// The same handler runs on gnet: pick the backend with WithBackend.
func Example() {
	e, err := reactor.Start(echo{}, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(gnetbackend.New()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Stop(ctx)
	}()

	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("hello, gnet"))
	buf := make([]byte, len("hello, gnet"))
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: hello, gnet
}
