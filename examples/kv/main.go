// Command kv is an in-memory key-value server that speaks the Redis
// protocol (RESP2), on evloop. redis-cli, redis-benchmark and Redis client
// libraries talk to it; so do nc and telnet, with inline commands.
//
//	go run ./examples/kv -addr tcp://127.0.0.1:6380 -loops 2 -backend native
//	redis-cli -p 6380 set greeting hello
//	printf 'GET greeting\r\n' | nc -q1 127.0.0.1 6380
//
// Commands: PING, ECHO, SET (NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL),
// GET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, MGET, MSET, TTL, PTTL,
// LPUSH, RPUSH, LPOP, RPOP (with a count too), LLEN, DBSIZE, FLUSHDB,
// FLUSHALL, QUIT; and for client libraries' handshakes
// COMMAND, CLIENT SETNAME/SETINFO/GETNAME, HELLO (RESP2 only), AUTH,
// SELECT 0, CONFIG GET and INFO. Requests may be pipelined.
//
// Every request is bounded (-maxbulk, -maxargs, -maxinline, -maxrequest);
// a request over a limit, or malformed, is answered with "-ERR Protocol
// error: ..." and the conn is closed. The defaults are far below
// redis-server's (values of up to 4 MiB, 65,536 arguments), so that one
// request cannot make the server hold much. Every reply is bounded too
// (-maxreply, 16 MiB): an MGET or LPOP/RPOP with a count whose reply
// would be larger is answered with "-ERR reply too large ..." instead,
// and the conn serves on. A client that does not read its replies is
// closed once the server holds more than one such reply for it (plus its
// high watermark, 1 MiB).
//
// It prints one line "listening <addr>" on stdout once ready and exits 0 on
// SIGINT or SIGTERM after closing its conns. SIGHUP upgrades it with no
// dropped connection, as examples/echo does: the old process answers its
// open conns' requests until their clients close them or -drain-timeout
// passes (the store is not carried over: each process has its own).
// -log-level debug logs each conn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/evloop/evloop/codec/resp"
	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/examples/internal/serve"
	"github.com/evloop/evloop/reactor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		// -h: usage printed, as the flag package's own programs exit.
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has said what was wrong
	default:
		fmt.Fprintln(os.Stderr, "kv:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	addr       string
	shared     *backend.Flags // -loops, -backend, -poller
	life       *serve.Flags   // -log-level, -pid-file, -proxy-trusted
	limits     resp.Config
	maxReply   int
	cpuprofile string
}

// hiddenFlags work but are left out of -help: tools for whoever measures
// kv, not part of its interface.
var hiddenFlags = map[string]bool{"cpuprofile": true}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("kv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "tcp://127.0.0.1:6380", "listen address (tcp://, tcp4://, tcp6://, unix://, tls://, tls+unix://; ?proxy=required|optional)")
	cfg.shared = backend.AddFlags(fs)
	cfg.life = serve.AddFlags(fs)
	fs.IntVar(&cfg.limits.MaxBulk, "maxbulk", defaultMaxBulk, "largest argument (bulk string), bytes")
	fs.IntVar(&cfg.limits.MaxArgs, "maxargs", defaultMaxArgs, "most arguments in one request")
	fs.IntVar(&cfg.limits.MaxInline, "maxinline", resp.DefaultMaxInline, "longest inline request line, bytes")
	fs.IntVar(&cfg.limits.MaxRequest, "maxrequest", 0, "largest request, bytes (0: 2*maxbulk+maxinline)")
	fs.IntVar(&cfg.maxReply, "maxreply", defaultMaxReply, "largest reply to one command, bytes (at least a GET of a -maxbulk value); a larger one is answered with an error")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to this file until exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of kv:\n")
		visible := flag.NewFlagSet("kv", flag.ContinueOnError)
		visible.SetOutput(fs.Output())
		fs.VisitAll(func(f *flag.Flag) {
			if !hiddenFlags[f.Name] {
				visible.Var(f.Value, f.Name, f.Usage)
				// Var takes the value as it is now, which the command
				// line may have set: show the default.
				visible.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		visible.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, nil
}

// errUsage marks a command line the flag package refused (exit status 2).
var errUsage = errors.New("usage")

// run serves until ctx ends or the engine stops, printing the listening
// line to stdout once ready.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	logger, err := cfg.life.Logger(stderr)
	if err != nil {
		return err
	}
	return serve.Run(ctx, serve.Config{
		Addrs: []string{cfg.addr}, Backend: cfg.shared.Backend, Flags: cfg.life, Logger: logger, Stdout: stdout,
		Start: func(addrs []string) (reactor.Engine, error) {
			cfg := cfg
			cfg.addr = addrs[0]
			return start(cfg, logger, stderr)
		},
	})
}

// start builds the server for cfg and starts an engine serving it.
func start(cfg config, logger *slog.Logger, stderr io.Writer) (reactor.Engine, error) {
	opts, err := serve.EngineOptions(cfg.shared, cfg.life, []string{cfg.addr}, logger, stderr)
	if err != nil {
		return nil, err
	}
	srv, err := newServer(cfg.limits, cfg.maxReply, reactor.DefaultWriteHigh)
	if err != nil {
		return nil, err
	}
	limits := srv.dec.Config()
	opts = append(opts,
		reactor.WithTicker(true),
		// kv bounds its conns' buffers itself (below), whatever the
		// -profile: of the internet profile it keeps the conn cap and the
		// idle timeout.
		reactor.WithReadBufferSize(reactor.DefaultReadBufferSize),
		reactor.WithWriteWatermarks(reactor.DefaultWriteLow, reactor.DefaultWriteHigh),
		// A conn buffers at most one partial request (the decoder fails
		// one past its limits as soon as it can tell), plus what arrived
		// while its output was over the high watermark: the decoder, not
		// the inbound cap, is what answers an oversized request.
		reactor.WithMaxInbound(max(limits.MaxRequest, limits.MaxInline)+4*reactor.DefaultReadBufferSize),
		// Output is bounded by the largest reply (see maxOutbound): a
		// client past it does not read.
		reactor.WithMaxOutbound(srv.maxOutbound()),
	)
	return reactor.Start(srv, []string{cfg.addr}, opts...)
}
