package reactor_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// upper answers every message in capitals.
type upper struct{ reactor.BaseHandler }

func (upper) OnTraffic(c conn.Conn) reactor.Action {
	in, _ := c.Next(-1)
	out := make([]byte, len(in))
	for i, b := range in {
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		out[i] = b
	}
	c.Write(out)
	return reactor.None
}

// Start serves in the background and returns once listening; Stop drains.
func ExampleStart() {
	e, err := reactor.Start(upper{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Stop(context.Background())

	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("hello, loop"))
	reply := make([]byte, 11)
	io.ReadFull(c, reply)
	fmt.Println(string(reply))
	// Output: HELLO, LOOP
}

// greeter writes a greeting on open and shuts the engine down on "bye".
type greeter struct{ reactor.BaseHandler }

func (greeter) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("hi\n"))
	return reactor.None
}

func (greeter) OnTraffic(c conn.Conn) reactor.Action {
	if in, _ := c.Next(-1); string(in) == "bye\n" {
		return reactor.Shutdown
	}
	return reactor.None
}

// Run blocks until its context ends or a callback returns Shutdown.
func ExampleRun() {
	addr := make(chan net.Addr, 1)
	go func() {
		c, err := net.Dial("tcp", (<-addr).String())
		if err != nil {
			return
		}
		defer c.Close()
		greeting := make([]byte, 3)
		io.ReadFull(c, greeting)
		fmt.Print(string(greeting))
		c.Write([]byte("bye\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := reactor.Run(ctx, bootReporter{greeter{}, addr}, []string{"tcp://127.0.0.1:0"})
	fmt.Println("stopped:", err)
	// Output:
	// hi
	// stopped: <nil>
}

// bootReporter passes the bound address on from OnBoot.
type bootReporter struct {
	greeter
	addr chan net.Addr
}

func (b bootReporter) OnBoot(e reactor.Engine) reactor.Action {
	b.addr <- e.Addrs()[0]
	return reactor.None
}
