// Command chat is a line-based chat room on evloop, for nc and telnet, and
// for browsers.
//
//	go run ./examples/chat -addr tcp://127.0.0.1:7100 -loops 2 -backend native
//	nc 127.0.0.1 7100
//	open http://127.0.0.1:7180/
//
// The -http address (default tcp://127.0.0.1:7180; tls:// serves https
// and wss; "" turns it off) serves a page at / and the WebSocket endpoint
// at /ws: the page joins the same room at once under a generated nick
// (guest-N, change it with /nick) and shows the room's lines as they
// arrive. Browser and nc users see each other's lines and notices.
//
// A client first chooses a nick (at most 32 bytes, no spaces or control
// characters, not taken); then every line it sends reaches everyone else as
// "<nick> line". Commands: /who, /nick NEW, /me ACTION, /quit, /help. The
// room announces joins and leaves. A client that falls more than -maxbacklog
// bytes behind is disconnected, so it never slows the others; one that sends
// a line longer than -maxline bytes is disconnected too.
//
// It prints one line "listening <addr>" on stdout per address (-addr
// first, then -http) once ready and exits 0 on
// SIGINT or SIGTERM after telling the clients and closing their conns. SIGHUP
// upgrades it as examples/echo does (the room is not carried over: as the
// old process drains, it tells each client goodbye and closes its conn, and
// the clients reconnect to the new one).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/examples/internal/serve"
	"github.com/evloop/evloop/reactor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "tcp://127.0.0.1:7100", "listen address (tcp://, tcp4://, tcp6://, unix://, fd://, tls://, tls+unix://; ?proxy=required|optional)")
	httpAddr := flag.String("http", "tcp://127.0.0.1:7180", "address of the browser page (/) and its WebSocket endpoint (/ws): tcp:// or tls://; \"\" for none")
	shared := backend.AddFlags(flag.CommandLine)
	life := serve.AddFlags(flag.CommandLine)
	maxBacklog := flag.Int("maxbacklog", DefaultMaxBacklog, "outbound bytes a client may fall behind before it is disconnected")
	maxLine := flag.Int("maxline", DefaultMaxLine, "longest line a client may send, in bytes")
	flag.Parse()

	logger, err := life.Logger(os.Stderr)
	if err != nil {
		return err
	}
	addrs := []string{*addr}
	if *httpAddr != "" {
		addrs = append(addrs, *httpAddr)
	}
	opts, err := serve.EngineOptions(shared, life, addrs, logger, os.Stderr)
	if err != nil {
		return err
	}
	opts = append(opts,
		// Members may only read, for as long as they like: the conn cap,
		// not an idle timeout, bounds them.
		reactor.WithIdleTimeout(0),
		// The room disconnects a member at -maxbacklog, checked after a
		// delivery that may add a full outbox (MaxQueued, 4× the backlog);
		// the engine's bound is a backstop just past both (a line, TLS
		// records), so that the room, not the engine, says "too slow".
		reactor.WithMaxOutbound(5*(*maxBacklog+*maxBacklog/64)+*maxLine+64<<10),
	)

	// Before Start, so that a signal right after "listening" is not fatal.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	r := newRoom(config{MaxLine: *maxLine, MaxBacklog: *maxBacklog, Logger: logger})
	return serve.Run(ctx, serve.Config{
		Addrs: addrs, Backend: shared.Backend, Flags: life, Logger: logger, Stdout: os.Stdout,
		Start: func(addrs []string) (reactor.Engine, error) {
			e, _, err := start(r, addrs, opts...)
			return e, err
		},
	})
}
