// Command netls is the standard-library reference TLS echo server for the
// TLS benchmarks: one goroutine per connection, crypto/tls over package net,
// reading into a pooled buffer and writing it back.
//
//	go run ./bench/tlsbench/netls -addr tls://127.0.0.1:7443 -loops 2
//
// It takes the same command line as examples/echo serving tls:// (with
// -cert/-key PEM files, or an ephemeral self-signed certificate whose SHA-256
// fingerprint goes to stderr), prints one line "listening tls://<host:port>"
// on stdout once it accepts connections, and exits 0 on SIGINT or SIGTERM.
// -loops N sets GOMAXPROCS to N, so the server uses as many cores as an
// N-loop reactor.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/evloop/evloop/bench/internal/netecho"
	"github.com/evloop/evloop/internal/selfsigned"
)

func main() {
	addr := flag.String("addr", "tls://127.0.0.1:7443", "listen address: tls://host:port (port 0 picks a free one)")
	loops := flag.Int("loops", 0, "GOMAXPROCS for the server (0: Go default)")
	certFile := flag.String("cert", "", "certificate PEM file (with -key; none: ephemeral self-signed)")
	keyFile := flag.String("key", "", "private key PEM file")
	bufSize := flag.Int("bufsize", netecho.DefaultBufferSize, "pooled per-connection read buffer, bytes (as bench/netecho)")
	// Accepted and ignored, so that the harness can pass examples/echo's flags.
	flag.String("backend", "", "ignored")
	flag.String("poller", "", "ignored")
	flag.Parse()

	if *loops > 0 {
		runtime.GOMAXPROCS(*loops)
	}
	hostport, ok := strings.CutPrefix(*addr, "tls://")
	if !ok {
		fail(2, fmt.Errorf("address %q: want tls://host:port", *addr))
	}
	var cert tls.Certificate
	var err error
	if *certFile != "" || *keyFile != "" {
		cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
	} else {
		cert, err = selfsigned.New()
		if err == nil {
			fmt.Fprintf(os.Stderr, "SHA-256 fingerprint %s\n", selfsigned.Fingerprint(cert))
		}
	}
	if err != nil {
		fail(2, err)
	}
	ln, err := net.Listen("tcp", hostport)
	if err != nil {
		fail(1, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	pool := sync.Pool{New: func() any { b := make([]byte, *bufSize); return &b }}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		var backoff time.Duration
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// EMFILE and the like: back off, bounded, rather than spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			go echo(tls.Server(c, cfg), &pool)
		}
	}()
	fmt.Printf("listening tls://%s\n", ln.Addr())
	<-sigs
	// The process exits at once: the kernel closes the conns, which is all a
	// benchmark server needs on SIGTERM.
	_ = ln.Close()
}

// echo handshakes (on the first Read, like most net/http-style servers) and
// copies what it reads back until EOF or an error.
func echo(c *tls.Conn, pool *sync.Pool) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Handshake(); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	netecho.Copy(c, *bp)
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "netls:", err)
	os.Exit(code)
}
