package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// politeUpper is upper with a goodbye: OnStop (StopHandler) tells the
// client that the server is going away, at a point where no request is
// lost, and the conn serves on.
type politeUpper struct{ upper }

func (politeUpper) OnStop(c conn.Conn) { c.Write([]byte("draining\n")) }

// Drain is the stop an upgraded server's old process makes: it accepts no
// more, tells every conn (OnStop) and serves them on until their clients
// close them, so a request already on its way is still answered. It returns
// nil once the last conn has closed, or ctx's cause; a Stop after it closes
// what is left.
func ExampleEngine_Drain() {
	e, err := reactor.Start(politeUpper{}, []string{"tcp://127.0.0.1:0"})
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
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("one\n"))
	line, _ := r.ReadString('\n')
	fmt.Print(line)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- e.Drain(ctx) }()
	line, _ = r.ReadString('\n') // OnStop's word
	fmt.Print(line)
	c.Write([]byte("two\n")) // still served
	line, _ = r.ReadString('\n')
	fmt.Print(line)
	c.Close() // the client ends the conn; the drain is over
	fmt.Println("drained:", <-drained)
	// Output:
	// ONE
	// draining
	// TWO
	// drained: <nil>
}
