// Command chat is a line-based chat room on evloop, for nc and telnet.
//
//	go run ./examples/chat -addr tcp://127.0.0.1:7100 -loops 2 -backend native
//	nc 127.0.0.1 7100
//
// A client first chooses a nick (at most 32 bytes, no spaces or control
// characters, not taken); then every line it sends reaches everyone else as
// "<nick> line". Commands: /who, /nick NEW, /me ACTION, /quit, /help. The
// room announces joins and leaves. A client that falls more than -maxbacklog
// bytes behind is disconnected, so it never slows the others; one that sends
// a line longer than -maxline bytes is disconnected too.
//
// It prints one line "listening <addr>" on stdout once ready and exits 0 on
// SIGINT or SIGTERM after telling the clients and closing their conns.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/examples/internal/backend"
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
	shared := backend.AddFlags(flag.CommandLine)
	maxBacklog := flag.Int("maxbacklog", DefaultMaxBacklog, "outbound bytes a client may fall behind before it is disconnected")
	maxLine := flag.Int("maxline", DefaultMaxLine, "longest line a client may send, in bytes")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
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

	r := newRoom(config{MaxLine: *maxLine, MaxBacklog: *maxBacklog, Logger: logger})
	eng, err := reactor.Start(newHandler(r), []string{*addr}, opts...)
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
	r.shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), reactor.DefaultDrainTimeout)
	defer cancel()
	if err := eng.Stop(ctx); err != nil {
		logger.Warn("chat: some clients were cut off before their output drained", "err", err)
	}
	return stopped
}
