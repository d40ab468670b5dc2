package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	gorilla "github.com/gorilla/websocket"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"

	"github.com/lesismal/nbio/nbhttp"
)

// Each server serves /echo (every message back to its sender) and /bcast
// (every message to every /bcast conn), uncompressed, with the library's
// own fan-out where it has one (evloop's PreparedMessage, gws's
// Broadcaster, gorilla's PreparedMessage; nbio writes each conn).

// serve runs impl on addr until SIGTERM or SIGINT.
func serve(impl, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch impl {
	case "evloop":
		return serveEvloop(ctx, addr)
	case "gws":
		return serveNetHTTP(ctx, addr, gwsMux())
	case "gorilla":
		return serveNetHTTP(ctx, addr, gorillaMux())
	case "nbio":
		return serveNbio(ctx, addr)
	}
	return fmt.Errorf("unknown server %q (evloop, gws, nbio, gorilla)", impl)
}

func ready(addr string) { fmt.Println("listening", addr) }

// ---- evloop ----

type evEcho struct{ websocket.BaseHandler }

func (evEcho) OnMessage(c *websocket.Conn, op websocket.Opcode, data []byte) {
	c.WriteMessage(op, data)
}

type evBcast struct {
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
}

func (b *evBcast) OnOpen(c *websocket.Conn) {
	b.mu.Lock()
	b.conns[c] = struct{}{}
	b.mu.Unlock()
}

func (b *evBcast) OnClose(c *websocket.Conn, _ error) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

func (b *evBcast) OnMessage(_ *websocket.Conn, op websocket.Opcode, data []byte) {
	pm, _ := websocket.NewPreparedMessage(op, data)
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		c.AsyncWritePrepared(pm)
	}
}

func serveEvloop(ctx context.Context, addr string) error {
	echo := websocket.NewServer(evEcho{}, websocket.Options{})
	bcast := websocket.NewServer(&evBcast{conns: map[*websocket.Conn]struct{}{}}, websocket.Options{MaxBacklog: 64 << 20})
	mux := http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Target) == "/bcast" {
			bcast.ServeHTTP1(w, r)
			return
		}
		echo.ServeHTTP1(w, r)
	})
	e, err := reactor.Start(http1.NewServer(mux, http1.Config{}), []string{"tcp://" + addr}, reactor.WithLoops(runtime.NumCPU()))
	if err != nil {
		return err
	}
	ready(addr)
	<-ctx.Done()
	return e.Stop(context.Background())
}

// ---- net/http based: gws and gorilla ----

func serveNetHTTP(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	ready(addr)
	<-ctx.Done()
	srv.Close()
	return nil
}

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnMessage(s *gws.Conn, m *gws.Message) {
	s.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

type gwsBcast struct {
	gws.BuiltinEventHandler
	mu    sync.Mutex
	conns map[*gws.Conn]struct{}
}

func (b *gwsBcast) OnOpen(s *gws.Conn) {
	b.mu.Lock()
	b.conns[s] = struct{}{}
	b.mu.Unlock()
}

func (b *gwsBcast) OnClose(s *gws.Conn, _ error) {
	b.mu.Lock()
	delete(b.conns, s)
	b.mu.Unlock()
}

func (b *gwsBcast) OnMessage(_ *gws.Conn, m *gws.Message) {
	br := gws.NewBroadcaster(m.Opcode, m.Bytes())
	b.mu.Lock()
	for s := range b.conns {
		br.Broadcast(s)
	}
	b.mu.Unlock()
	br.Close()
	m.Close()
}

func gwsMux() http.Handler {
	mux := http.NewServeMux()
	up := func(ev gws.Event) http.HandlerFunc {
		u := gws.NewUpgrader(ev, &gws.ServerOption{})
		return func(w http.ResponseWriter, r *http.Request) {
			s, err := u.Upgrade(w, r)
			if err != nil {
				return
			}
			go s.ReadLoop()
		}
	}
	mux.Handle("/echo", up(gwsEcho{}))
	mux.Handle("/bcast", up(&gwsBcast{conns: map[*gws.Conn]struct{}{}}))
	return mux
}

type gorillaConn struct {
	mu sync.Mutex
	c  *gorilla.Conn
}

func gorillaMux() http.Handler {
	up := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	var mu sync.Mutex
	conns := map[*gorillaConn]struct{}{}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, data, err := c.ReadMessage()
			if err != nil || c.WriteMessage(op, data) != nil {
				return
			}
		}
	})
	mux.HandleFunc("/bcast", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		gc := &gorillaConn{c: c}
		mu.Lock()
		conns[gc] = struct{}{}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(conns, gc)
			mu.Unlock()
			c.Close()
		}()
		for {
			op, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			pm, _ := gorilla.NewPreparedMessage(op, data)
			mu.Lock()
			for o := range conns {
				o.mu.Lock()
				o.c.WritePreparedMessage(pm)
				o.mu.Unlock()
			}
			mu.Unlock()
		}
	})
	return mux
}

// ---- nbio ----

func serveNbio(ctx context.Context, addr string) error {
	echo := nbws.NewUpgrader()
	echo.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) { c.WriteMessage(mt, data) })
	var mu sync.Mutex
	conns := map[*nbws.Conn]struct{}{}
	bcast := nbws.NewUpgrader()
	bcast.OnMessage(func(_ *nbws.Conn, mt nbws.MessageType, data []byte) {
		mu.Lock()
		for c := range conns {
			c.WriteMessage(mt, data)
		}
		mu.Unlock()
	})
	bcast.OnClose(func(c *nbws.Conn, _ error) {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { echo.Upgrade(w, r, nil) })
	mux.HandleFunc("/bcast", func(w http.ResponseWriter, r *http.Request) {
		c, err := bcast.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
	})
	e := nbhttp.NewEngine(nbhttp.Config{Network: "tcp", Addrs: []string{addr}, Handler: mux})
	if err := e.Start(); err != nil {
		return err
	}
	ready(addr)
	<-ctx.Done()
	e.Stop()
	return nil
}
