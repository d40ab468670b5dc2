// Package prom exports an evloop engine's counters (Engine.Stats) to
// Prometheus. Start here with New: it returns a prometheus.Collector to
// register on a registry that an HTTP handler serves.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(prom.New(eng))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Engine-wide series have no labels (evloop_conns_open,
// evloop_bytes_received_total, evloop_tls_handshakes_total, ...). The same
// loop counters per loop are evloop_loop_* series with a "loop" label
// (evloop_loop_conns_open{loop="0"}): a different name, so that summing a
// metric never counts a conn twice. Open conns, handshakes in progress and
// buffered outbound bytes are gauges; everything else is a counter that
// only grows while the engine runs.
//
// A scrape calls Stats once, from the scrape's goroutine; Stats is safe to
// call from any goroutine and costs a read of each loop's atomics. The
// package is linked only into programs that import it: the reactor does
// not depend on Prometheus. To tell two engines of one process apart,
// register each collector through prometheus.WrapRegistererWith with a
// label of your own.
package prom

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/evloop/evloop/reactor"
)

// Source is what the collector reads: every reactor.Engine is one.
type Source interface {
	Stats() reactor.Stats
}

// A metric is one row of the tables below: adding a counter to Stats is
// one line here.
type metric[T any] struct {
	name, help string
	kind       prometheus.ValueType
	get        func(*T) int64
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// loopMetrics are the LoopStats counters, exported summed (evloop_NAME)
// and per loop (evloop_loop_NAME{loop="i"}).
var loopMetrics = []metric[reactor.LoopStats]{
	{"conns_open", "Conns open now.", gauge, func(s *reactor.LoopStats) int64 { return s.Open }},
	{"conns_accepted_total", "Conns accepted or dialed since the engine started.", counter, func(s *reactor.LoopStats) int64 { return s.Accepted }},
	{"conns_closed_total", "Conns closed since the engine started.", counter, func(s *reactor.LoopStats) int64 { return s.Closed }},
	{"conns_rejected_total", "Conns closed at once because WithMaxConns was reached.", counter, func(s *reactor.LoopStats) int64 { return s.Rejected }},
	{"bytes_received_total", "Bytes read from conns.", counter, func(s *reactor.LoopStats) int64 { return s.BytesIn }},
	{"bytes_sent_total", "Bytes written to conns.", counter, func(s *reactor.LoopStats) int64 { return s.BytesOut }},
	{"write_eagain_total", "Writes the kernel did not take whole (EAGAIN).", counter, func(s *reactor.LoopStats) int64 { return s.WriteEAGAIN }},
	{"outbound_buffered_bytes", "Bytes waiting for the kernel now.", gauge, func(s *reactor.LoopStats) int64 { return s.OutboundBuffered }},
	{"wakeups_total", "Returns from the poller's wait.", counter, func(s *reactor.LoopStats) int64 { return s.Wakeups }},
	{"accept_backoffs_total", "Times accept paused on EMFILE or ENFILE.", counter, func(s *reactor.LoopStats) int64 { return s.AcceptBackoffs }},
	{"panics_total", "Callbacks that panicked.", counter, func(s *reactor.LoopStats) int64 { return s.Panics }},
	{"outbound_overflows_total", "Conns closed because their buffered output passed WithMaxOutbound.", counter, func(s *reactor.LoopStats) int64 { return s.OutboundOverflows }},
}

// tlsMetrics are Stats.TLS, exported as evloop_tls_NAME.
var tlsMetrics = []metric[reactor.TLSStats]{
	{"handshakes_total", "TLS handshakes completed.", counter, func(s *reactor.TLSStats) int64 { return s.Handshakes }},
	{"handshake_failures_total", "TLS handshakes that failed or timed out.", counter, func(s *reactor.TLSStats) int64 { return s.HandshakeFailures }},
	{"handshakes_rejected_total", "Conns closed because too many TLS handshakes were in progress.", counter, func(s *reactor.TLSStats) int64 { return s.HandshakesRejected }},
	{"handshakes_in_progress", "TLS handshakes running now.", gauge, func(s *reactor.TLSStats) int64 { return s.HandshakesInProgress }},
}

// proxyMetrics are Stats.Proxy, exported as evloop_proxy_NAME.
var proxyMetrics = []metric[reactor.ProxyStats]{
	{"headers_total", "Conns opened with a valid PROXY header.", counter, func(s *reactor.ProxyStats) int64 { return s.Headers }},
	{"passthrough_total", "Conns opened without a PROXY header (optional mode).", counter, func(s *reactor.ProxyStats) int64 { return s.Passthrough }},
	{"malformed_total", "Conns closed for an invalid or truncated PROXY header.", counter, func(s *reactor.ProxyStats) int64 { return s.Malformed }},
	{"timeouts_total", "Conns closed for a PROXY header not complete in time.", counter, func(s *reactor.ProxyStats) int64 { return s.Timeouts }},
	{"untrusted_total", "Conns refused because the peer may not send a PROXY header.", counter, func(s *reactor.ProxyStats) int64 { return s.Untrusted }},
	{"aborted_total", "Conns closed by their peer before sending a PROXY header byte.", counter, func(s *reactor.ProxyStats) int64 { return s.Aborted }},
}

// desc is a metric's description, ready to emit.
type desc[T any] struct {
	metric[T]
	d *prometheus.Desc
}

func describe[T any](prefix string, ms []metric[T], labels ...string) []desc[T] {
	out := make([]desc[T], len(ms))
	for i, m := range ms {
		out[i] = desc[T]{m, prometheus.NewDesc(prefix+m.name, m.help, labels, nil)}
	}
	return out
}

// Collector is a prometheus.Collector over one engine's Stats.
type Collector struct {
	src   Source
	sum   []desc[reactor.LoopStats]
	loop  []desc[reactor.LoopStats]
	tls   []desc[reactor.TLSStats]
	proxy []desc[reactor.ProxyStats]
}

// New returns a Collector of src's counters; register it on a
// prometheus.Registerer. Every series is present from the first scrape,
// at 0 until something happens.
func New(src Source) *Collector {
	return &Collector{
		src:   src,
		sum:   describe("evloop_", loopMetrics),
		loop:  describe("evloop_loop_", loopMetrics, "loop"),
		tls:   describe("evloop_tls_", tlsMetrics),
		proxy: describe("evloop_proxy_", proxyMetrics),
	}
}

// Describe sends every series' description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.sum {
		ch <- d.d
	}
	for _, d := range c.loop {
		ch <- d.d
	}
	for _, d := range c.tls {
		ch <- d.d
	}
	for _, d := range c.proxy {
		ch <- d.d
	}
}

// Collect reads Stats once and sends every series. It runs on the
// scrape's goroutine, which Stats allows.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	emit(ch, c.sum, &s.LoopStats)
	for i := range s.Loop {
		emit(ch, c.loop, &s.Loop[i], strconv.Itoa(i))
	}
	emit(ch, c.tls, &s.TLS)
	emit(ch, c.proxy, &s.Proxy)
}

func emit[T any](ch chan<- prometheus.Metric, ds []desc[T], s *T, labels ...string) {
	for _, d := range ds {
		ch <- prometheus.MustNewConstMetric(d.d, d.kind, float64(d.get(s)), labels...)
	}
}
