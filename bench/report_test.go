package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func sampleTable() *table {
	metrics := []metric{
		{Key: "echo1.msgs", Label: "echo, 1 in flight", Unit: "msgs/s", Better: HigherBetter, Chart: true, Digits: -1},
		{Key: "echo1.cpu", Label: "echo, 1 in flight", Unit: "server CPU µs/msg", Better: LowerBetter, Chart: true, Digits: 2},
		{Key: "slow.verified", Label: "slow reader", Unit: "MiB verified", Better: Neutral, Digits: 1},
	}
	servers := []string{"evloop native", "evloop on gnetbackend", "gnet", "net <&>"}
	t := newTable(metrics, servers, 0)
	set := func(r, c int, runs int, vals ...float64) {
		t.Cells[r][c].Runs = runs
		t.Cells[r][c].Vals = vals
	}
	set(0, 0, 3, 100000, 120000, 110000) // median 110,000
	set(0, 2, 3, 99000, 121000, 132000)  // median 121,000 -> 1.10×
	set(0, 3, 3, 55000, 60000)           // 2 of 3 rounds, median 57,500 -> 0.52×
	t.Cells[0][3].addErr("read: connection reset")
	set(1, 0, 3, 4, 5, 6)
	set(1, 2, 3, 10, 10, 10) // 2.00×
	set(1, 3, 3, 4, 8, 6, 7) // even count: median 6.5 -> 1.30×
	set(2, 0, 3, 64, 64, 64)
	set(2, 2, 3, 64, 64, 64)
	for r := range metrics {
		t.Cells[r][1].Runs = 3
		t.Cells[r][1].addErr(`exited before listening: unknown backend "gnet" | x`)
		t.Cells[r][1].addErr(`exited before listening: unknown backend "gnet" | x`) // deduplicated
	}
	return t
}

func TestTableCells(t *testing.T) {
	tab := sampleTable()
	cases := []struct {
		r, c int
		want string
	}{
		{0, 0, "110,000 (1.00×)"},
		{0, 1, "failed"},
		{0, 2, "121,000 (1.10×)"},
		{0, 3, "57,500 (0.52×) [2/3]"},
		{1, 0, "5.00 (1.00×)"},
		{1, 2, "10.00 (2.00×)"},
		{1, 3, "6.50 (1.30×)"},
		{2, 0, "64.0"}, // neutral: no ratio
		{2, 3, "n/a"},  // no values and no error
	}
	for _, c := range cases {
		if got := tab.text(c.r, c.c); got != c.want {
			t.Errorf("cell (%d,%d) = %q, want %q", c.r, c.c, got, c.want)
		}
	}
	if r, ok := tab.ratio(0, 2); !ok || math.Abs(r-1.1) > 1e-9 {
		t.Errorf("ratio = %v, %v", r, ok)
	}
	if _, ok := tab.ratio(0, 1); ok {
		t.Error("ratio of a failed cell")
	}

	// Without a baseline there are no ratios.
	tab.Baseline = -1
	if got := tab.text(0, 2); got != "121,000" {
		t.Errorf("no baseline: %q", got)
	}
	// A failed baseline leaves no ratio either.
	tab = sampleTable()
	tab.Baseline = 1
	if got := tab.text(0, 2); got != "121,000" {
		t.Errorf("failed baseline: %q", got)
	}
}

func TestGroupDigits(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45678: "-45,678"} {
		if got := groupDigits(in); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", in, got, want)
		}
	}
	if got := (metric{Digits: 2}).format(math.NaN()); got != "n/a" {
		t.Errorf("NaN formats as %q", got)
	}
}

func TestFailuresGrouped(t *testing.T) {
	f := sampleTable().failures()
	want := []string{
		`evloop on gnetbackend (echo1, slow): exited before listening: unknown backend "gnet" | x`,
		`net <&> (echo1): read: connection reset`,
	}
	if strings.Join(f, "\n") != strings.Join(want, "\n") {
		t.Fatalf("failures:\n%s\nwant:\n%s", strings.Join(f, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleTable().writeText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{"metric", "evloop native", "echo, 1 in flight, msgs/s ↑", "121,000 (1.10×)", "ratio to evloop native", "failed: net <&> (echo1)"} {
		if !strings.Contains(out, s) {
			t.Errorf("text table lacks %q:\n%s", s, out)
		}
	}
	// Columns line up: the cell of each row starts at the same rune offset.
	lines := strings.Split(out, "\n")
	runeIndex := func(s, sub string) int { return utf8.RuneCountInString(s[:strings.Index(s, sub)]) }
	col := runeIndex(lines[0], "evloop native")
	if got := runeIndex(lines[1], "110,000"); got != col {
		t.Errorf("misaligned: header column at %d, value at %d\n%s", col, got, out)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := sampleTable().writeMarkdown(&b, "machine  \nparams\n"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2+3 {
		t.Fatalf("want header, separator and 3 rows, got %d:\n%s", len(rows), out)
	}
	if rows[1] != "|---|---:|---:|---:|---:|" {
		t.Errorf("separator %q", rows[1])
	}
	for _, r := range rows {
		// Escaped pipes do not count as cell borders.
		if n := strings.Count(strings.ReplaceAll(r, `\|`, ""), "|"); n != 6 {
			t.Errorf("row has %d borders, want 6: %s", n, r)
		}
	}
	if !strings.HasPrefix(out, "machine  \nparams\n\n| metric |") {
		t.Errorf("preamble not before the table:\n%s", out)
	}
	if !strings.Contains(out, `- evloop on gnetbackend (echo1, slow): exited before listening: unknown backend "gnet" \| x`) {
		t.Errorf("failure list missing or unescaped:\n%s", out)
	}
}

// checkXML decodes the whole document and returns the root element's name
// and how many elements of each name it holds.
func checkXML(t *testing.T, doc []byte) (root xml.Name, counts map[string]int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	counts = map[string]int{}
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root.Local != "" {
					t.Fatalf("second root element %v", el.Name)
				}
				root = el.Name
			}
			counts[el.Name.Local]++
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced elements (depth %d)", depth)
	}
	return root, counts
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	tab := sampleTable()
	tab.Cells[0][2].Vals = []float64{1e9} // far above the axis: clipped
	if err := tab.writeSVG(&b, `Ratio to "evloop native" <1 & 2>`, "linux/amd64"); err != nil {
		t.Fatal(err)
	}
	root, counts := checkXML(t, b.Bytes())
	if root.Local != "svg" || root.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v", root)
	}
	// 2 chart rows × 3 drawable bars (one server failed) + background + 4 legend keys.
	if got, want := counts["rect"], 2*3+1+4; got != want {
		t.Errorf("%d rects, want %d", got, want)
	}
	if !strings.Contains(b.String(), "&lt;1 &amp; 2&gt;") {
		t.Error("title not escaped")
	}
	var probe struct {
		XMLName xml.Name `xml:"svg"`
		Width   string   `xml:"width,attr"`
		Texts   []string `xml:"text"`
	}
	if err := xml.Unmarshal(b.Bytes(), &probe); err != nil {
		t.Fatal(err)
	}
	if probe.Width == "" || len(probe.Texts) == 0 {
		t.Errorf("svg lacks width or text: %+v", probe)
	}

	// No ratios at all (baseline failed) still gives a valid document.
	b.Reset()
	tab.Baseline = 1
	if err := tab.writeSVG(&b, "t", ""); err != nil {
		t.Fatal(err)
	}
	checkXML(t, b.Bytes())
	if !strings.Contains(b.String(), "no ratios to draw") {
		t.Error("missing the no-ratio notice")
	}
}

func TestSelectKeys(t *testing.T) {
	got, err := selectKeys("slow, echo1", scenarioKeys, "scenario")
	if err != nil || strings.Join(got, ",") != "echo1,slow" {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, _ := selectKeys("all", scenarioKeys, "scenario"); len(got) != len(scenarioKeys) {
		t.Fatalf("all gave %v", got)
	}
	if _, err := selectKeys("echo2", scenarioKeys, "scenario"); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:7000": "127.0.0.1:7000",
		"127.0.0.1:7001":       "127.0.0.1:7001",
		"tcp://[::1]:7002":     "[::1]:7002",
		"tcp://0.0.0.0:7003":   "fallback", // not loopback
		"tcp://10.1.2.3:7004":  "fallback",
		"tcp://127.0.0.1:0":    "fallback", // unresolved port
		"garbage":              "fallback",
	} {
		if got := dialAddr(in, "fallback"); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
	for _, ok := range []string{"127.0.0.1:7000", "tcp://127.0.0.2:1", "localhost:80", "tcp6://[::1]:9"} {
		if _, err := loopbackAddr(ok); err != nil {
			t.Errorf("loopbackAddr(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.1:7000", "example.com:80", "udp://127.0.0.1:1", "127.0.0.1"} {
		if _, err := loopbackAddr(bad); err == nil {
			t.Errorf("loopbackAddr(%q) accepted", bad)
		}
	}
}
