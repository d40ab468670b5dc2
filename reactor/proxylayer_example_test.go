package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// whoami tells each client the address it sees for it.
type whoami struct{ reactor.BaseHandler }

func (whoami) OnOpen(c conn.Conn) reactor.Action {
	c.Write([]byte("you are " + c.RemoteAddr().String() + "\n"))
	return reactor.Close
}

// A ProxyLayer in front of a handler reads the PROXY header a load balancer
// sends, so that the handler sees the real client's address.
func ExampleNewProxyLayer() {
	layer, err := reactor.NewProxyLayer(whoami{}, reactor.ProxyRequired,
		// Only the balancers may say who the client is.
		reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8")))
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := reactor.Start(layer, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Stop(context.Background())

	// What HAProxy's send-proxy does.
	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("PROXY TCP4 203.0.113.7 198.51.100.1 4242 443\r\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	fmt.Println("headers:", layer.Stats().Headers)
	// Output:
	// you are 203.0.113.7:4242
	// headers: 1
}
