// Command echo is an echo server on evloop: every byte a client sends comes
// back to it.
//
//	go run ./examples/echo -addr tcp://127.0.0.1:7000 -loops 2 -backend native -poller auto
//
// It prints one line "listening <addr>" on stdout once ready and exits 0 on
// SIGINT or SIGTERM after closing its conns.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/reactor"
)

// echo writes back whatever arrives.
type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "tcp://127.0.0.1:7000", "listen address (tcp://, tcp4://, tcp6://, unix://, udp://, fifo://, fd://N, systemd://[NAME], tls://, tls+unix://; ?proxy=required|optional)")
	shared := backend.AddFlags(flag.CommandLine)
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := shared.Options(logger)
	if err != nil {
		return err
	}
	tlsOpts, err := shared.TLSOptions([]string{*addr}, os.Stderr)
	if err != nil {
		return err
	}
	opts = append(opts, tlsOpts...)
	// Before Start, so that a signal right after "listening" is not fatal.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	eng, err := reactor.Start(echo{}, []string{*addr}, opts...)
	if err != nil {
		return err
	}
	for i := range eng.Addrs() {
		fmt.Println("listening", backend.Listening([]string{*addr}, eng.Addrs(), i))
	}
	var stopped error
	select {
	case <-sigs:
	case <-eng.Done():
		stopped = backend.ErrStoppedByItself
	}
	ctx, cancel := context.WithTimeout(context.Background(), reactor.DefaultDrainTimeout)
	defer cancel()
	eng.Stop(ctx)
	return stopped
}
