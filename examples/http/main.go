// Command http serves HTTP/1.1 on evloop with package http1: two
// loop-native endpoints in the TechEmpower style and a net/http ServeMux
// page run through the NetHTTP adapter.
//
//	go run ./examples/http -addr tcp://127.0.0.1:8080 -loops 2 -backend native
//	curl http://127.0.0.1:8080/plaintext
//	curl http://127.0.0.1:8080/json
//	curl http://127.0.0.1:8080/hello/gopher
//
// /plaintext answers "Hello, World!" (text/plain) and /json
// {"message":"Hello, World!"} on the loop; every other path goes to a
// net/http ServeMux on a bounded set of goroutines. It prints one line
// "listening <addr>" on stdout once ready and exits 0 on SIGINT or SIGTERM;
// SIGHUP upgrades it with no dropped connection, as examples/echo does.
// tls:// serves HTTPS (-cert/-key, or an ephemeral self-signed certificate).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/examples/internal/serve"
	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "http:", err)
		os.Exit(1)
	}
}

// handler answers the benchmark endpoints on the loop and hands the rest
// to net/http handlers.
func handler(mux http.Handler) http1.Handler {
	adapted := http1.NetHTTP(mux, http1.NetHTTPConfig{})
	message := struct {
		Message string `json:"message"`
	}{"Hello, World!"}
	return http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		switch string(r.Target) {
		case "/plaintext":
			w.AddHeader("Content-Type", "text/plain")
			w.WriteString("Hello, World!")
		case "/json":
			// Encoded per request, as the TechEmpower rules ask.
			b, _ := json.Marshal(&message)
			w.AddHeader("Content-Type", "application/json")
			w.Write(b)
		default:
			adapted.ServeHTTP1(w, r)
		}
	})
}

// mux is an ordinary net/http application.
func mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>evloop</title><p>Hello from net/http on evloop, %s.", r.Proto)
	})
	m.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	return m
}

func run() error {
	addr := flag.String("addr", "tcp://127.0.0.1:8080", "listen address (tcp://, tcp4://, tcp6://, unix://, tls://, tls+unix://; ?proxy=required|optional)")
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
	// Over tls://, offer http/1.1 by ALPN (clients that offer h2 too then
	// know which one they got).
	opts = append(opts, func(o *reactor.Options) {
		if o.TLS != nil {
			o.TLS = http1.TLSConfig(o.TLS)
		}
	})
	srv := http1.NewServer(handler(mux()), http1.Config{})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve.Run(ctx, serve.Config{
		Addrs: []string{*addr}, Backend: shared.Backend, Flags: life, Logger: logger, Stdout: os.Stdout,
		Start: func(addrs []string) (reactor.Engine, error) { return reactor.Start(srv, addrs, opts...) },
	})
}
