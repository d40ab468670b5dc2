package framed_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/codec/framed"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// lineEcho answers every line with the same line. Embedding
// reactor.BaseHandler gives it no-op lifecycle callbacks; the one it
// overrides, OnClose, the Adapter forwards with the decode error, if any.
type lineEcho struct {
	reactor.BaseHandler
	lines codec.Codec
}

func (h *lineEcho) OnFrame(c conn.Conn, line []byte) reactor.Action {
	// line aliases the conn's inbound buffer; WriteFrame copies it out
	// before OnFrame returns.
	if err := codec.WriteFrame(c, h.lines, line); err != nil {
		return reactor.Close
	}
	return reactor.None
}

func (h *lineEcho) OnClose(c conn.Conn, err error) {
	if errors.Is(err, codec.ErrFrameTooLarge) {
		log.Printf("%v: dropped: %v", c.RemoteAddr(), err)
	}
}

// A line echo server: each complete line is handed to OnFrame; a client that
// sends more than 1 KiB without a newline is disconnected. A real server
// serves it with reactor.Run(ctx, h, addrs) until a signal; here it serves
// one client, whose line arrives in two pieces.
func ExampleNew() {
	lines := codec.NewLineCRLF(1 << 10)
	h := framed.New(&lineEcho{lines: lines}, lines)

	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Stop(context.Background())

	c, err := net.Dial("tcp", e.Addrs()[0].String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("hello, "))
	c.Write([]byte("frames\r\nsecond line\r\n"))
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q\n", line)
	}
	// Output:
	// "hello, frames\r\n"
	// "second line\r\n"
}
