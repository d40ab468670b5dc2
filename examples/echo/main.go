// Command echo is an echo server on evloop: every byte a client sends comes
// back to it.
//
//	go run ./examples/echo -addr tcp://127.0.0.1:7000 -loops 2 -backend native -poller auto
//
// It prints one line "listening <addr>" on stdout once ready and exits 0 on
// SIGINT or SIGTERM after closing its conns. On SIGHUP it upgrades itself
// with no dropped connection: the binary on disk is started with the same
// arguments and the listening sockets, prints the same listening line, and
// once it serves, this process stops accepting and drains: it echoes on
// its open conns until their clients close them, for up to -drain-timeout
// (default 30s), then closes the rest gracefully and exits 0 (-pid-file
// tracks which process serves). -log-level debug logs each conn's open
// (remote= is the client, after any PROXY header) and close.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/examples/internal/serve"
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
	life := serve.AddFlags(flag.CommandLine)
	flag.Parse()

	logger, err := life.Logger(os.Stderr)
	if err != nil {
		return err
	}
	opts, err := serve.EngineOptions(shared, life, []string{*addr}, logger, os.Stderr)
	if err != nil {
		return err
	}
	// Before Start, so that a signal right after "listening" is not fatal.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve.Run(ctx, serve.Config{
		Addrs: []string{*addr}, Backend: shared.Backend, Flags: life, Logger: logger, Stdout: os.Stdout,
		Start: func(addrs []string) (reactor.Engine, error) { return reactor.Start(echo{}, addrs, opts...) },
	})
}
