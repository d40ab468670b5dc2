package codec_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/codec"
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
// sends more than 1 KiB without a newline is disconnected.
func ExampleNew() {
	lines := codec.NewLineCRLF(1 << 10)
	h := codec.New(&lineEcho{lines: lines}, lines)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := reactor.Run(ctx, h, []string{"tcp://127.0.0.1:7000"}); err != nil {
		log.Fatal(err)
	}
}

func ExampleLine_DecodeBytes() {
	lines := codec.NewLine(0)
	buf := []byte("PING\r\nECHO hi\nPART")
	for {
		frame, n, err := lines.DecodeBytes(buf)
		if err != nil || n == 0 {
			break // n == 0: the rest is an incomplete line
		}
		fmt.Printf("%q\n", frame)
		buf = buf[n:]
	}
	fmt.Printf("left %q\n", buf)
	// Output:
	// "PING"
	// "ECHO hi"
	// left "PART"
}

func ExampleLengthField() {
	// A 2-byte big-endian body length, stripped from the decoded frame.
	lf, err := codec.NewLengthField(codec.LengthFieldConfig{Size: 2, Strip: 2, MaxFrame: 1 << 10})
	if err != nil {
		log.Fatal(err)
	}
	wire, _ := lf.Encode(nil, []byte("hello"))
	fmt.Printf("% x\n", wire)

	frame, n, _ := lf.DecodeBytes(wire)
	fmt.Printf("%q %d\n", frame, n)

	_, _, err = lf.DecodeBytes([]byte{0xff, 0xff})
	fmt.Println(errors.Is(err, codec.ErrFrameTooLarge))
	// Output:
	// 00 05 68 65 6c 6c 6f
	// "hello" 7
	// true
}
