package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// banner is a layer of a third party's own, built on the public seam: it
// embeds reactor.Forward, so every callback it does not override reaches
// the handler inside it (Next) unchanged, the optional OnDrained and
// OnStop included. It greets each conn before the handler sees it, and
// says goodbye when the engine stops, before the engine's graceful close.
type banner struct {
	reactor.Forward
}

func (b banner) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("welcome\n"))
	return b.Next.OnOpen(c)
}

// OnStop runs on the conn's loop when the engine begins to stop (Stop,
// Drain, a Shutdown action, a signal): what it writes goes out ahead of the
// close. Forward passes OnStop on to Next, if Next wants it.
func (b banner) OnStop(c conn.Conn) {
	c.Write([]byte("server stopping\n"))
	b.Forward.OnStop(c)
}

// A layer is a Handler that wraps another one: the TLS and PROXY layers
// are built the same way, and any package can add its own. StartSpecs puts
// it in front of one listener's handler; the engine's own layers (those
// the address asks for) go around it.
func ExampleForward() {
	specs, err := reactor.ListenSpecs(banner{reactor.Forward{Next: upper{}}}, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := reactor.StartSpecs(reactor.BaseHandler{}, specs)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		e.Stop(context.Background())
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greeting, _ := r.ReadString('\n')
	fmt.Print(greeting)
	c.Write([]byte("hi\n"))
	reply, _ := r.ReadString('\n')
	fmt.Print(reply)

	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(context.Background()) }()
	rest, _ := io.ReadAll(r) // the goodbye, then the engine's close
	fmt.Print(string(rest))
	c.Close()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// welcome
	// HI
	// server stopping
	// stopped: <nil>
}
