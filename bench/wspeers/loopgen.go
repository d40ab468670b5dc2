package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// echoLoop is echo's load from an evloop engine of the load generator's
// own (-gen loop, the default): a round trip costs the generator a wakeup
// of its loop rather than a goroutine parked and woken per conn, so more
// of the two shared cores is left to the server, and the servers' costs
// show more in their messages/s. The conns are evloop's WebSocket client
// conns: text frames of 1 KiB, masked as a client's must be.
func echoLoop(addr string, pid, n int, d time.Duration) (float64, float64, error) {
	g := &loopGen{msg: []byte(strings.Repeat("x", 1024)), opened: make(chan *websocket.Conn, n), errs: make(chan error, n)}
	e, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(runtime.NumCPU()))
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Stop(ctx)
	}()
	for range n {
		if err := websocket.Dial(e, "ws://"+addr+"/echo", g, websocket.DialOptions{}); err != nil {
			return 0, 0, err
		}
	}
	conns := make([]*websocket.Conn, 0, n)
	timeout := time.After(30 * time.Second)
	for len(conns) < n {
		select {
		case c := <-g.opened:
			conns = append(conns, c)
		case err := <-g.errs:
			return 0, 0, err
		case <-timeout:
			return 0, 0, fmt.Errorf("%d of %d conns opened in 30s", len(conns), n)
		}
	}
	for _, c := range conns {
		c.AsyncWriteMessage(websocket.OpText, g.msg)
	}
	time.Sleep(d / 5) // warm up
	c0, n0, t0 := cpu(pid), g.count.Load(), time.Now()
	time.Sleep(d)
	c1, n1, t1 := cpu(pid), g.count.Load(), time.Now()
	g.stop.Store(true)
	msgs := float64(n1 - n0)
	if msgs == 0 {
		select {
		case err := <-g.errs:
			return 0, 0, err
		default:
			return 0, 0, fmt.Errorf("no echo")
		}
	}
	return msgs / t1.Sub(t0).Seconds(), float64(c1-c0) / float64(time.Microsecond) / msgs, nil
}

// loopGen is the generator's handler: each echo received sends the next
// message, until stop.
type loopGen struct {
	websocket.BaseHandler
	msg    []byte
	count  atomic.Int64
	stop   atomic.Bool
	opened chan *websocket.Conn
	errs   chan error
	once   sync.Once
}

func (g *loopGen) OnOpen(c *websocket.Conn) { g.opened <- c }

func (g *loopGen) OnMessage(c *websocket.Conn, _ websocket.Opcode, _ []byte) {
	g.count.Add(1)
	if !g.stop.Load() {
		c.WriteMessage(websocket.OpText, g.msg)
	}
}

func (g *loopGen) OnClose(_ *websocket.Conn, err error) {
	if !g.stop.Load() && err != nil {
		g.once.Do(func() { g.errs <- err })
	}
}
