package prom_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/evloop/evloop/metrics/prom"
	"github.com/evloop/evloop/reactor"
)

// Export an engine's counters on /metrics.
func ExampleNew() {
	eng, err := reactor.Start(echo{}, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer eng.Stop(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.New(eng))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// go http.ListenAndServe("127.0.0.1:9100", mux)

	fams, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	fmt.Println(fams[0].GetName())
	// Output: evloop_accept_backoffs_total
}
