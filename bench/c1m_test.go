package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCounts(t *testing.T) {
	for in, want := range map[string][]int{
		"10000":                  {10000},
		"10k,100k,1M":            {10000, 100000, 1000000},
		" 1M, 10k ,10000,250K, ": {10000, 250000, 1000000},
		"1_000_000":              {1000000},
	} {
		got, err := parseCounts(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ",", "0", "-5", "abc", "10x", "1.5M", "99999999999M"} {
		if got, err := parseCounts(in); err == nil {
			t.Errorf("parseCounts(%q) = %v, want an error", in, got)
		}
	}
}

func TestShortCount(t *testing.T) {
	for n, want := range map[int]string{1000000: "1M", 250000: "250k", 10000: "10k", 19500: "19500", 999: "999", 2500000: "2500k"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSockstat(t *testing.T) {
	const sample = `sockets: used 2011021
TCP: inuse 2000010 orphan 3 tw 17 alloc 2000012 mem 1234
UDP: inuse 1 mem 2
`
	inuse, mem, err := parseSockstat(sample, 4096)
	if err != nil || inuse != 2000010 || mem != 1234*4096 {
		t.Fatalf("got %d, %d, %v", inuse, mem, err)
	}
	for _, bad := range []string{
		"sockets: used 1\nUDP: inuse 1 mem 2\n",      // no TCP line
		"TCP: inuse 1 orphan\n",                      // odd
		"TCP: inuse x orphan 0 tw 0 alloc 1 mem 0\n", // not a number
		"TCP: orphan 0 tw 0 alloc 1\n",               // neither inuse nor mem
	} {
		if _, _, err := parseSockstat(bad, 4096); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseNetstat(t *testing.T) {
	const sample = `TcpExt: SyncookiesSent ListenOverflows ListenDrops
TcpExt: 0 17 19
IpExt: InNoRoutes ListenOverflows
IpExt: 1 99
`
	if v, err := parseNetstat(sample, "TcpExt", "ListenOverflows"); err != nil || v != 17 {
		t.Fatalf("got %d, %v", v, err)
	}
	if v, err := parseNetstat(sample, "IpExt", "ListenOverflows"); err != nil || v != 99 {
		t.Fatalf("IpExt: got %d, %v", v, err)
	}
	for _, c := range []struct{ text, name string }{
		{sample, "Nonesuch"},
		{"TcpExt: A B\nTcpExt: 1\n", "A"}, // short values
		{"TcpExt: A B\n", "A"},            // no values
		{"IpExt: A\nIpExt: 1\n", "A"},     // no section
		{"TcpExt: A\nTcpExt: x\n", "A"},   // not a number
	} {
		if _, err := parseNetstat(c.text, "TcpExt", c.name); err == nil {
			t.Errorf("parseNetstat(%q, %s) gave no error", c.text, c.name)
		}
	}
}

func TestReadSysMem(t *testing.T) {
	if _, err := os.Stat("/proc/net/sockstat"); err != nil {
		t.Skip("no /proc/net/sockstat")
	}
	m, err := readSysMem()
	if err != nil {
		t.Fatal(err)
	}
	if m.Slab <= 0 || m.TCPInUse < 0 || m.TCPMem < 0 {
		t.Fatalf("implausible %+v", m)
	}
}

func TestExtraFlag(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "echo-before")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	o, err := parseFlags([]string{"-compare", "-extra", "before=" + exe, "-extra", "v0.9=" + exe, "-baseline", "before"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.extras) != 2 || o.extras[0].Key != "before" || o.extras[0].Bin != exe || !o.extras[0].Prebuilt || o.extras[1].Name != "v0.9" {
		t.Fatalf("extras %+v", o.extras)
	}
	for _, bad := range []string{
		"before",     // no path
		"=" + exe,    // no name
		"a b=" + exe, // bad name
		"x=" + plain, // not executable
		"x=" + dir,   // a directory
		"x=" + filepath.Join(dir, "missing"),
	} {
		if _, err := parseFlags([]string{"-compare", "-extra", bad}); err == nil {
			t.Errorf("-extra %q accepted", bad)
		}
	}
	for _, args := range [][]string{
		{"-compare", "-extra", "gnet=" + exe},                    // a built-in name
		{"-compare", "-extra", "a=" + exe, "-extra", "a=" + exe}, // twice
		{"-compare", "-c1m-conns", "10k,zero"},                   // bad count
		{"-compare", "-c1m-active", "1.5"},                       // not a fraction
		{"-compare", "-c1m-workers", "0"},                        // no workers
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	o, err = parseFlags([]string{"-compare", "-c1m-conns", "100k,10k", "-c1m-active", "0.05"})
	if err != nil || !slices.Equal(o.c1mConns, []int{10000, 100000}) || o.c1mActive != 0.05 {
		t.Fatalf("got %+v, %v", o, err)
	}
}

func TestSelectScenarios(t *testing.T) {
	all, err := selectScenarios("all")
	if err != nil || slices.Contains(all, "c1m") || len(all) != len(scenarioKeys) {
		t.Fatalf("all = %v, %v: c1m must be opt-in", all, err)
	}
	got, err := selectScenarios("c1m,echo16")
	if err != nil || strings.Join(got, ",") != "echo16,c1m" {
		t.Fatalf("got %v, %v", got, err)
	}
	o, err := parseFlags([]string{"-compare", "-c1m-conns", "10k,1M"})
	if err != nil {
		t.Fatal(err)
	}
	var c1m []*scenario
	for _, sc := range scenarios(o) {
		if sc.Key == "c1m" {
			c1m = append(c1m, sc)
		}
	}
	if len(c1m) != 2 || c1m[0].Size != 10000 || c1m[1].Size != 1000000 || c1m[0].Group != "c1m" || c1m[1].Metrics[0].Key != "c1m-1M.rss" {
		t.Fatalf("c1m scenarios %+v", c1m)
	}
}

func TestEcho16CPUCharted(t *testing.T) {
	o, err := parseFlags([]string{"-compare"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios(o) {
		for _, m := range sc.Metrics {
			if m.Key == "echo16.cpu" && !m.Chart {
				t.Fatal("echo16's CPU per message is not in the chart")
			}
		}
	}
}

func TestC1MValuesAndSVG(t *testing.T) {
	ns := []int{10000, 100000, 1000000}
	var metrics []metric
	for _, n := range ns {
		metrics = append(metrics, c1mMetrics(n)...)
	}
	tab := newTable(metrics, []string{"evloop native", "gnet", "net <&>"}, 1)
	r := &c1mResult{Conns: 10000, RSSBefore: 1 << 20, RSSHeld: 1<<20 + 10000*512, Exchange: &exchangeResult{Latency: newHistogram()}, ServerCPU: -1, StopTime: -1}
	r.Exchange.Latency.Record(2e6)
	v := c1mValues(r)
	if v["c1m-10k.rss"] != 0.5 || v["c1m-10k.p99"] != 2 {
		t.Fatalf("values %v", v)
	}
	if _, ok := v["c1m-10k.stop"]; ok {
		t.Error("a stop time that was not measured is reported")
	}
	if !math.IsNaN(v["c1m-10k.slab"]) {
		t.Error("kernel figures without readings must be NaN")
	}
	set := func(key string, c int, val float64) { tab.Cells[tab.row(key)][c].Vals = []float64{val} }
	set("c1m-10k.rss", 0, 0.25)
	set("c1m-100k.rss", 0, 0.26)
	set("c1m-10k.rss", 1, 0.55)
	set("c1m-1M.rss", 1, 0.6) // a gap at 100k
	set("c1m-10k.p99", 2, 1.5)
	var b bytes.Buffer
	if err := writeC1MSVG(&b, tab, ns, "C1M <test>", "machine"); err != nil {
		t.Fatal(err)
	}
	_, counts := checkXML(t, b.Bytes())
	if counts["circle"] != 5 {
		t.Errorf("%d points, want 5", counts["circle"])
	}
	// One path per server with points; only native's two neighbours join.
	if counts["path"] != 3 || strings.Count(b.String(), " L") != 1 {
		t.Errorf("%d paths and %d line segments, want 3 and 1", counts["path"], strings.Count(b.String(), " L"))
	}
	// One conn count only still draws.
	b.Reset()
	if err := writeC1MSVG(&b, tab, ns[:1], "t", ""); err != nil {
		t.Fatal(err)
	}
	checkXML(t, b.Bytes())
	// Counts no server reached leave the axis and are named.
	b.Reset()
	tab.Cells[tab.row("c1m-1M.rss")][1].Vals = nil
	if err := writeC1MSVG(&b, tab, ns, "t", "machine"); err != nil {
		t.Fatal(err)
	}
	checkXML(t, b.Bytes())
	if !strings.Contains(b.String(), "no server reached 1M") || strings.Contains(b.String(), ">1M</text>") {
		t.Error("1M, which no server reached, is on the axis or not named")
	}
	// Nothing at all still gives a valid document.
	b.Reset()
	if err := writeC1MSVG(&b, newTable(metrics, []string{"a"}, 0), ns, "t", ""); err != nil {
		t.Fatal(err)
	}
	checkXML(t, b.Bytes())
}

func TestCountLabel(t *testing.T) {
	for n, want := range map[int]string{19500: "19.5k", 1000000: "1M", 2500000: "2.5M", 250000: "250k", 999: "999"} {
		if got := countLabel(n); got != want {
			t.Errorf("countLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

// An -extra binary is started with examples/echo's command line, after the
// selected servers, and its exit after SIGTERM is timed.
func TestExtraServerStarted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	script := filepath.Join(dir, "echo-before")
	body := "#!/bin/sh\necho \"$@\" > " + argsFile + "\ntrap 'exit 0' TERM\necho \"listening $2\"\nwhile :; do sleep 0.05; done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-compare", "-servers", "gnet,native", "-poller", "epoll", "-extra", "before=" + script})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := serverSpecs(o)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range specs {
		keys = append(keys, s.Key)
	}
	if strings.Join(keys, ",") != "native,gnet,before" {
		t.Fatalf("columns %v", keys)
	}
	srv, err := startServer(specs[2], 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	took, err := srv.terminate(5 * time.Second)
	if err != nil || took <= 0 {
		t.Fatalf("terminate: %v, %v", took, err)
	}
	if err := srv.stop(time.Second); err != nil {
		t.Errorf("stop after terminate: %v", err)
	}
	if srv.lifetimeCPU() < 0 {
		t.Error("no CPU time after exit")
	}
	args, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("-addr tcp://%s -loops 2 -backend native -poller epoll\n", srv.Addr)
	if string(args) != want {
		t.Errorf("started with %q, want %q", args, want)
	}
}
