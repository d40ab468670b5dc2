package main

import (
	"net"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestBinaryMetrics runs the command with -metrics on a loopback port,
// echoes 256 KiB through it, and checks on a scrape of /metrics, parsed
// with the Prometheus text parser, that the conn and its bytes are counted.
func TestBinaryMetrics(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-metrics", "127.0.0.1:0")
	// The metrics line is logged before the listening line is printed,
	// but stderr and stdout are read by goroutines of their own: the line
	// may reach the test a moment after the listening line.
	urlRE := regexp.MustCompile(`url=(http://\S+/metrics)`)
	var m []string
	require.Eventually(t, func() bool {
		m = urlRE.FindStringSubmatch(p.Stderr())
		return m != nil
	}, cmdtest.WaitLimit, 5*time.Millisecond, "no metrics url on stderr: %s", p.Stderr())

	c, err := net.DialTimeout("tcp", p.Addr("tcp"), cmdtest.WaitLimit)
	require.NoError(t, err)
	echoStream(t, c) // closes c

	client := &http.Client{Timeout: cmdtest.WaitLimit, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(m[1])
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	get := func(name string) float64 {
		f := fams[name]
		require.NotNil(t, f, "no %s", name)
		require.Len(t, f.GetMetric(), 1, name)
		if f.GetType() == dto.MetricType_GAUGE {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
		return f.GetMetric()[0].GetCounter().GetValue()
	}
	require.Equal(t, 1.0, get("evloop_conns_accepted_total"))
	require.Equal(t, float64(256<<10), get("evloop_bytes_received_total"))
	require.Equal(t, float64(256<<10), get("evloop_bytes_sent_total"))
	require.Len(t, fams["evloop_loop_conns_accepted_total"].GetMetric(), 2, "one series per loop")
	p.Stop(syscall.SIGTERM)
}
