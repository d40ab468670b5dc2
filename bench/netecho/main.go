// Command netecho is the standard-library reference echo server for the
// benchmarks: one goroutine per connection with an io.Copy-like loop over a
// pooled buffer.
//
//	go run ./bench/netecho -addr tcp://127.0.0.1:7002 -loops 2
//
// It takes the same command line as examples/echo, prints exactly one line
// "listening tcp://<host:port>" on stdout once it accepts connections, and
// exits 0 on SIGINT or SIGTERM. -loops N sets GOMAXPROCS to N, so the server
// uses as many cores as an N-loop reactor (0 leaves the Go default).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/evloop/evloop/bench/internal/netecho"
)

func main() {
	addr := flag.String("addr", "tcp://127.0.0.1:7002", "listen address: tcp://host:port (port 0 picks a free one)")
	loops := flag.Int("loops", 0, "GOMAXPROCS for the server (0: Go default)")
	bufSize := flag.Int("bufsize", netecho.DefaultBufferSize, "pooled per-connection copy buffer, bytes")
	flag.Parse()

	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	network, hostport, err := netecho.SplitAddr(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netecho:", err)
		os.Exit(2)
	}
	ln, err := net.Listen(network, hostport)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netecho:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := netecho.New(*bufSize)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	fmt.Printf("listening %s://%s\n", network, ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			fmt.Fprintln(os.Stderr, "netecho:", err)
			os.Exit(1)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "netecho: shutdown:", err)
	}
}
