// Command httpd serves the TechEmpower plaintext and json tests from one
// of several servers, for bench/http.sh to compare:
//
//	evloop          http1 loop-native handler (native backend; -backend gnet|uring for the others)
//	evloop-nethttp  the net/http handler below through http1.NetHTTP
//	evloop-uring, evloop-nethttp-uring
//	                the same two on the io_uring backend (as -backend uring)
//	nethttp         the same net/http handler under net/http's own server
//	fasthttp        fasthttp v1.79.0
//	nbio            nbio v1.6.8 nbhttp, serving the same net/http handler
//	gnet            gnet v2.10.0 with a TechEmpower-style handler, "stripped":
//	                it only scans for CRLFCRLF and answers by the target's
//	                first letters (no parser, no header handling)
//
// GET /plaintext answers "Hello, World!" (text/plain) and GET /json
// {"message":"Hello, World!"} (application/json, encoded per request), each
// with Server and Date, as the TechEmpower rules ask. It prints
// "listening ADDR" once ready and exits on SIGINT/SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
	"github.com/evloop/evloop/reactor/uringbackend"
)

type message struct {
	Message string `json:"message"`
}

var hello = []byte("Hello, World!")

func main() {
	server := flag.String("server", "evloop", "evloop|evloop-nethttp|evloop-uring|evloop-nethttp-uring|nethttp|fasthttp|nbio|gnet")
	addr := flag.String("addr", "127.0.0.1:8080", "host:port")
	loops := flag.Int("loops", runtime.NumCPU(), "event loops (evloop, nbio, gnet)")
	backend := flag.String("backend", "native", "evloop's backend: native|gnet|uring")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile at the end of the run to this file")
	flag.Parse()
	if *memprofile != "" {
		defer func() {
			if f, err := os.Create(*memprofile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch *server {
	case "evloop", "evloop-nethttp":
		err = runEvloop(ctx, *addr, *loops, *backend, *server == "evloop-nethttp")
	case "evloop-uring", "evloop-nethttp-uring":
		err = runEvloop(ctx, *addr, *loops, "uring", *server == "evloop-nethttp-uring")
	case "nethttp":
		err = runNetHTTP(ctx, *addr)
	case "fasthttp":
		err = runFastHTTP(ctx, *addr)
	case "nbio":
		err = runNbio(ctx, *addr, *loops)
	case "gnet":
		err = runGnet(ctx, *addr, *loops)
	default:
		err = fmt.Errorf("unknown -server %q", *server)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		os.Exit(1)
	}
}

func listening(addr string) { fmt.Printf("listening tcp://%s\n", addr) }

// mux is the net/http application of the nethttp, evloop-nethttp and nbio runs.
func mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Server"] = []string{"bench"}
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{"13"} // nbio chunks a body of unset length
		w.Write(hello)
	})
	m.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Server"] = []string{"bench"}
		h["Content-Type"] = []string{"application/json"}
		b, _ := json.Marshal(&message{"Hello, World!"})
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		w.Write(b)
	})
	return m
}

func runEvloop(ctx context.Context, addr string, loops int, backend string, adapted bool) error {
	var h http1.Handler = http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		switch string(r.Target) {
		case "/plaintext":
			w.AddHeader("Content-Type", "text/plain")
			w.Write(hello)
		case "/json":
			b, _ := json.Marshal(&message{"Hello, World!"})
			w.AddHeader("Content-Type", "application/json")
			w.Write(b)
		default:
			w.SetStatus(404)
		}
	})
	if adapted {
		// A queue for every request wrk keeps in flight (256 conns × a
		// 16-deep pipeline): the default (4×Workers) answers the rest 503.
		h = http1.NetHTTP(mux(), http1.NetHTTPConfig{Queue: 8192})
	}
	opts := []reactor.Option{reactor.WithLoops(loops)}
	switch backend {
	case "gnet":
		opts = append(opts, reactor.WithBackend(gnetbackend.New()))
	case "uring":
		opts = append(opts, reactor.WithBackend(uringbackend.New()))
	}
	e, err := reactor.Start(http1.NewServer(h, http1.Config{ServerName: "bench"}), []string{"tcp://" + addr}, opts...)
	if err != nil {
		return err
	}
	listening(e.Addrs()[0].String())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.Stop(sctx)
}

func runNetHTTP(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux()}
	listening(ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func runFastHTTP(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &fasthttp.Server{Name: "bench", Handler: func(c *fasthttp.RequestCtx) {
		switch string(c.Path()) {
		case "/plaintext":
			c.SetContentType("text/plain")
			c.SetBody(hello)
		case "/json":
			c.SetContentType("application/json")
			b, _ := json.Marshal(&message{"Hello, World!"})
			c.SetBody(b)
		default:
			c.SetStatusCode(404)
		}
	}}
	listening(ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Shutdown()
	}()
	return srv.Serve(ln)
}

func runNbio(ctx context.Context, addr string, loops int) error {
	e := nbhttp.NewEngine(nbhttp.Config{Network: "tcp", Addrs: []string{addr}, Handler: mux(), NPoller: loops})
	if err := e.Start(); err != nil {
		return err
	}
	listening(addr)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.Shutdown(sctx)
}

// gnetServer is the TechEmpower-style gnet handler ("stripped": no parser).
type gnetServer struct {
	gnet.BuiltinEventEngine
	addr string
	eng  gnet.Engine
}

var gnetDate atomic.Pointer[[]byte]

func refreshDate() {
	b := []byte(time.Now().UTC().Format(http.TimeFormat))
	gnetDate.Store(&b)
}

func (s *gnetServer) OnBoot(e gnet.Engine) gnet.Action {
	s.eng = e
	listening(s.addr)
	return gnet.None
}

var crlf2 = []byte("\r\n\r\n")

func (s *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	out := make([]byte, 0, 256)
	used := 0
	for {
		i := bytes.Index(buf[used:], crlf2)
		if i < 0 {
			break
		}
		req := buf[used : used+i]
		used += i + 4
		date := *gnetDate.Load()
		if bytes.HasPrefix(req, []byte("GET /json")) {
			b, _ := json.Marshal(&message{"Hello, World!"})
			out = append(out, "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: application/json\r\nDate: "...)
			out = append(out, date...)
			out = append(out, "\r\nContent-Length: "...)
			out = fmt.Appendf(out, "%d\r\n\r\n", len(b))
			out = append(out, b...)
		} else {
			out = append(out, "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\nDate: "...)
			out = append(out, date...)
			out = append(out, "\r\nContent-Length: 13\r\n\r\nHello, World!"...)
		}
	}
	c.Discard(used)
	if len(out) > 0 {
		c.Write(out)
	}
	return gnet.None
}

func runGnet(ctx context.Context, addr string, loops int) error {
	refreshDate()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				refreshDate()
			}
		}
	}()
	s := &gnetServer{addr: addr}
	go func() {
		<-ctx.Done()
		s.eng.Stop(context.Background())
	}()
	return gnet.Run(s, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithNumEventLoop(loops))
}
