//go:build linux

package main

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// echoHandler is examples/echo's handler.
type echoHandler struct{ reactor.BaseHandler }

func (echoHandler) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// BenchmarkHeldConns measures, in one process, what an engine's accept and
// Stop cost per held conn at growing conn counts: both should be flat in
// N. Each conn's client end closes once the server has closed its own (a
// cooperative peer), so Stop is not held by the 2 s linger. Client and
// server share the process (2 fds per conn), which bounds N by
// RLIMIT_NOFILE / 2.
//
//	go test -run - -bench HeldConns -benchtime 3x ./bench
func BenchmarkHeldConns(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	for _, be := range []string{"native", "gnet"} {
		for _, n := range []int{1000, 2000, 4000, 8000} {
			if uint64(2*n+256) > lim.Cur {
				continue
			}
			b.Run(fmt.Sprintf("%s/conns=%d", be, n), func(b *testing.B) {
				var accept, stop time.Duration
				for i := 0; i < b.N; i++ {
					opts := []reactor.Option{reactor.WithLoops(2)}
					if be == "gnet" {
						opts = append(opts, reactor.WithBackend(gnetbackend.New()))
					}
					eng, err := reactor.Start(echoHandler{}, []string{"tcp://127.0.0.1:0"}, opts...)
					if err != nil {
						b.Fatal(err)
					}
					h, err := openHolder(holdConfig{Addr: eng.Addrs()[0].String(), Conns: n, Timeout: time.Minute})
					if err != nil {
						_ = eng.Stop(context.Background())
						b.Fatal(err)
					}
					accept += h.Opened
					pc := h.closeOnEOF()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					begin := time.Now()
					err = eng.Stop(ctx)
					stop += time.Since(begin)
					cancel()
					_, _, pcErr := pc.wait(h, 5*time.Second)
					h.Close()
					if err != nil || pcErr != nil {
						b.Fatalf("stop: %v; peers: %v", err, pcErr)
					}
				}
				per := float64(b.N * n)
				b.ReportMetric(float64(accept.Nanoseconds())/per, "accept-ns/conn")
				b.ReportMetric(float64(stop.Nanoseconds())/per, "stop-ns/conn")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
