// Command gnetecho is the gnet/v2 reference echo server for the benchmarks:
// a plain gnet echo (OnTraffic: Next(-1) then Write) with multicore on and
// one event loop per -loops.
//
//	go run ./bench/gnetecho -addr tcp://127.0.0.1:7001 -loops 2
//
// It takes the same command line as examples/echo, prints exactly one line
// "listening tcp://<host:port>" on stdout once the listener is bound (gnet
// logs go to stderr, warnings and above only), and exits 0 on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

type echoServer struct {
	gnet.BuiltinEventEngine

	network string
	addr    string
	booted  chan gnet.Engine
}

// OnBoot resolves the bound address (port 0 included) and announces it.
// gnet has bound and is listening on the socket before OnBoot runs, so a
// client that connects now waits in the accept backlog.
func (s *echoServer) OnBoot(eng gnet.Engine) gnet.Action {
	bound := s.addr
	if fd, err := eng.Dup(); err == nil {
		if sa, err := syscall.Getsockname(fd); err == nil {
			if a := sockaddrString(sa); a != "" {
				bound = a
			}
		}
		_ = syscall.Close(fd)
	}
	fmt.Printf("listening %s://%s\n", s.network, bound)
	s.booted <- eng
	return gnet.None
}

func (s *echoServer) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	if _, err := c.Write(buf); err != nil {
		return gnet.Close
	}
	return gnet.None
}

func sockaddrString(sa syscall.Sockaddr) string {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *syscall.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return ""
}

// stderrLogger keeps stdout for the "listening" line only.
type stderrLogger struct{}

func (stderrLogger) Debugf(string, ...any) {}
func (stderrLogger) Infof(string, ...any)  {}
func (stderrLogger) Warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnetecho: warn: "+format+"\n", args...)
}
func (stderrLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnetecho: error: "+format+"\n", args...)
}
func (stderrLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnetecho: fatal: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	addr := flag.String("addr", "tcp://127.0.0.1:7001", "listen address: tcp://host:port (port 0 picks a free one)")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU)")
	flag.Parse()

	network, hostport, ok := strings.Cut(*addr, "://")
	if !ok {
		network, hostport = "tcp", *addr
		*addr = "tcp://" + hostport
	}

	logging.SetDefaultLoggerAndFlusher(stderrLogger{}, nil)

	srv := &echoServer{network: network, addr: hostport, booted: make(chan gnet.Engine, 1)}
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithLogger(stderrLogger{}),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
	}
	if *loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(*loops))
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)

	runErr := make(chan error, 1)
	go func() { runErr <- gnet.Run(srv, *addr, opts...) }()

	var eng gnet.Engine
	select {
	case eng = <-srv.booted:
	case err := <-runErr:
		fmt.Fprintln(os.Stderr, "gnetecho:", err)
		os.Exit(1)
	}

	select {
	case <-sigs:
	case err := <-runErr:
		if err != nil {
			fmt.Fprintln(os.Stderr, "gnetecho:", err)
			os.Exit(1)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eng.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gnetecho: stop:", err)
	}
	select {
	case <-runErr:
	case <-ctx.Done():
	}
}
