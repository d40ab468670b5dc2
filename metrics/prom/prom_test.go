package prom_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/metrics/prom"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's package init starts an ants worker pool that lives as
		// long as the process.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// serveMetrics serves reg's /metrics on a loopback port until the test ends
// and returns its URL.
func serveMetrics(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String() + "/metrics"
}

// scrape fetches url and parses it with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value is the value of name's series whose loop label is loop ("" for
// none).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name, loop string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no family %s", name)
	for _, m := range f.GetMetric() {
		got := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "loop" {
				got = l.GetValue()
			}
		}
		if got != loop {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s has type %v", name, f.GetType())
	}
	t.Fatalf("no series %s{loop=%q}", name, loop)
	return 0
}

// TestScrapeCountersMove serves an echo engine's counters on /metrics,
// sends traffic over loopback (one conn through a PROXY header), and checks
// on a scrape parsed with expfmt that the counters moved, per loop and
// summed, on both backends.
func TestScrapeCountersMove(t *testing.T) {
	for _, b := range []struct {
		name string
		opts []reactor.Option
	}{
		{"native", nil},
		{"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New())}},
	} {
		t.Run(b.name, func(t *testing.T) {
			opts := append([]reactor.Option{reactor.WithLoops(2), reactor.WithProxy(reactor.WithProxyTrustAny())}, b.opts...)
			eng, err := reactor.Start(echo{}, []string{"tcp://127.0.0.1:0?proxy=optional"}, opts...)
			require.NoError(t, err)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, eng.Stop(ctx))
			})
			reg := prometheus.NewRegistry()
			reg.MustRegister(prom.New(eng))
			url := serveMetrics(t, reg)

			before := scrape(t, url)
			require.Zero(t, value(t, before, "evloop_conns_accepted_total", ""))
			require.Zero(t, value(t, before, "evloop_bytes_received_total", ""))
			require.Zero(t, value(t, before, "evloop_tls_handshakes_total", ""))

			// Three conns: one sends a PROXY v1 header first, each
			// echoes 1000 bytes, and one stays open.
			addr := eng.Addrs()[0].String()
			msg := make([]byte, 1000)
			var open net.Conn
			for i := range 3 {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				require.NoError(t, err)
				require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
				if i == 0 {
					_, err = fmt.Fprint(c, "PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n")
					require.NoError(t, err)
				}
				_, err = c.Write(msg)
				require.NoError(t, err)
				_, err = io.ReadFull(c, make([]byte, len(msg)))
				require.NoError(t, err)
				if i == 2 {
					open = c
					continue
				}
				c.Close()
			}
			defer open.Close()

			// The server sees a client's close after the client's echo
			// is in, and a backend may count bytes sent when their write
			// completes, after the client has them: wait (bounded) for
			// the two closes and the 3,000 bytes to be counted.
			var after map[string]*dto.MetricFamily
			deadline := time.Now().Add(10 * time.Second)
			for {
				after = scrape(t, url)
				counted := value(t, after, "evloop_conns_closed_total", "") == 2 &&
					value(t, after, "evloop_bytes_sent_total", "") == 3000
				if counted || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			require.Equal(t, 3.0, value(t, after, "evloop_conns_accepted_total", ""))
			require.Equal(t, 2.0, value(t, after, "evloop_conns_closed_total", ""))
			require.Equal(t, 1.0, value(t, after, "evloop_conns_open", ""))
			require.Equal(t, 3000.0, value(t, after, "evloop_bytes_sent_total", ""))
			require.GreaterOrEqual(t, value(t, after, "evloop_bytes_received_total", ""), 3000.0)
			require.Equal(t, 1.0, value(t, after, "evloop_proxy_headers_total", ""))
			require.Equal(t, 2.0, value(t, after, "evloop_proxy_passthrough_total", ""))
			require.Zero(t, value(t, after, "evloop_panics_total", ""))

			// The per-loop series add up to the sum.
			var perLoop float64
			for _, loop := range []string{"0", "1"} {
				perLoop += value(t, after, "evloop_loop_conns_accepted_total", loop)
			}
			require.Equal(t, 3.0, perLoop)
			require.Equal(t, dto.MetricType_GAUGE, after["evloop_conns_open"].GetType())
			require.Equal(t, dto.MetricType_COUNTER, after["evloop_bytes_received_total"].GetType())
		})
	}
}

// TestEveryStatsFieldExported fails when a counter is added to Stats
// without its row in the collector's tables.
func TestEveryStatsFieldExported(t *testing.T) {
	fams := func() map[string]*dto.MetricFamily {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prom.New(fakeSource{}))
		got, err := reg.Gather()
		require.NoError(t, err)
		m := map[string]*dto.MetricFamily{}
		for _, f := range got {
			m[f.GetName()] = f
		}
		return m
	}()
	count := func(prefix string, skip ...string) int {
		n := 0
	next:
		for name := range fams {
			if len(name) < len(prefix) || name[:len(prefix)] != prefix {
				continue
			}
			for _, s := range skip {
				if len(name) >= len(s) && name[:len(s)] == s {
					continue next
				}
			}
			n++
		}
		return n
	}
	require.Equal(t, reflect.TypeFor[reactor.LoopStats]().NumField(), count("evloop_", "evloop_loop_", "evloop_tls_", "evloop_proxy_"), "LoopStats fields vs evloop_* series")
	require.Equal(t, reflect.TypeFor[reactor.LoopStats]().NumField(), count("evloop_loop_"), "LoopStats fields vs evloop_loop_* series")
	require.Equal(t, reflect.TypeFor[reactor.TLSStats]().NumField(), count("evloop_tls_"), "TLSStats fields vs evloop_tls_* series")
	require.Equal(t, reflect.TypeFor[reactor.ProxyStats]().NumField(), count("evloop_proxy_"), "ProxyStats fields vs evloop_proxy_* series")
}

// fakeSource has one loop, so that per-loop series are gathered too.
type fakeSource struct{}

func (fakeSource) Stats() reactor.Stats {
	return reactor.Stats{Loop: []reactor.LoopStats{{}}}
}
