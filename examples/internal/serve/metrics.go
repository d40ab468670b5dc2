package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/metrics/prom"
	"github.com/evloop/evloop/reactor"
)

// metricsServer serves an engine's counters on http://ADDR/metrics for the
// -metrics flag. Its socket has SO_REUSEPORT, so that during an upgrade the
// new process binds the same port while the old one still serves it.
type metricsServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// listenMetrics binds addr (host:port), or returns nil when addr is "".
func listenMetrics(addr string, log *slog.Logger) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	log.Info("metrics: serving /metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return &metricsServer{ln: ln, done: make(chan struct{})}, nil
}

// serve starts answering scrapes with eng's counters.
func (m *metricsServer) serve(eng reactor.Engine, log *slog.Logger) {
	if m == nil {
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.New(eng))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics: server stopped", "err", err)
		}
	}()
}

// close stops the server (or, if it never served, its listener).
func (m *metricsServer) close() {
	if m == nil {
		return
	}
	if m.srv == nil {
		m.ln.Close()
		return
	}
	m.srv.Close()
	<-m.done
}
