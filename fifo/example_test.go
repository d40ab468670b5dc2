package fifo_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/fifo"
	"github.com/evloop/evloop/reactor"
)

// echo writes back whatever arrives.
type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	in, _ := c.Next(-1)
	c.Write(in)
	return reactor.None
}

// A reactor serves a fifo:// address like any other; Dial gives a client a
// net.Conn over its own private FIFO pair.
func ExampleDial() {
	dir, err := os.MkdirTemp("", "fifo-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "echo.fifo")

	e, err := reactor.Start(echo{}, []string{"fifo://" + path})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Stop(context.Background())

	c, err := fifo.Dial(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("through a pipe"))
	reply := make([]byte, 14)
	io.ReadFull(c, reply)
	fmt.Println(string(reply))
	// Output: through a pipe
}
