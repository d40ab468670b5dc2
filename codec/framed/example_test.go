package framed_test

import (
	"context"
	"errors"
	"log"
	"os/signal"
	"syscall"

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
// sends more than 1 KiB without a newline is disconnected.
func ExampleNew() {
	lines := codec.NewLineCRLF(1 << 10)
	h := framed.New(&lineEcho{lines: lines}, lines)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := reactor.Run(ctx, h, []string{"tcp://127.0.0.1:7000"}); err != nil {
		log.Fatal(err)
	}
}
