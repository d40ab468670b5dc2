package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Direction says which way a metric improves.
type Direction int

const (
	// Neutral metrics get no ratio (for example "bytes verified").
	Neutral Direction = iota
	// HigherBetter metrics are throughputs.
	HigherBetter
	// LowerBetter metrics are costs: CPU, memory, latency.
	LowerBetter
)

// metric is one row of the comparison table.
type metric struct {
	Key    string // "<scenario>.<name>", the key scenario runs report under
	Label  string // row title
	Unit   string
	Better Direction
	Chart  bool // drawn in the SVG
	Digits int  // decimals shown; -1 for a grouped integer
}

func (m metric) format(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	if m.Digits < 0 {
		return groupDigits(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', m.Digits, 64)
}

// groupDigits writes n with thousands separators: 1234567 -> "1,234,567".
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// cell is what one server produced for one metric over all rounds.
type cell struct {
	Vals []float64 // one per successful round
	Runs int       // rounds attempted
	Errs []string  // distinct failure reasons
}

// median of the successful rounds; ok is false when there were none.
func (c *cell) median() (v float64, ok bool) {
	if len(c.Vals) == 0 {
		return math.NaN(), false
	}
	return median(c.Vals), true
}

func (c *cell) addErr(e string) {
	if !slices.Contains(c.Errs, e) {
		c.Errs = append(c.Errs, e)
	}
}

// table holds every cell of a comparison: Cells[row][column].
type table struct {
	Metrics  []metric
	Servers  []string // column titles
	Baseline int      // column the ratios divide by; -1 for none
	Cells    [][]*cell
}

func newTable(metrics []metric, servers []string, baseline int) *table {
	t := &table{Metrics: metrics, Servers: servers, Baseline: baseline}
	t.Cells = make([][]*cell, len(metrics))
	for i := range t.Cells {
		t.Cells[i] = make([]*cell, len(servers))
		for j := range t.Cells[i] {
			t.Cells[i][j] = &cell{}
		}
	}
	return t
}

func (t *table) row(key string) int {
	return slices.IndexFunc(t.Metrics, func(m metric) bool { return m.Key == key })
}

// ratio is the median of cell (r, c) over the baseline's median in row r.
func (t *table) ratio(r, c int) (float64, bool) {
	if t.Baseline < 0 || t.Metrics[r].Better == Neutral {
		return math.NaN(), false
	}
	v, ok := t.Cells[r][c].median()
	b, okb := t.Cells[r][t.Baseline].median()
	if !ok || !okb || b == 0 || math.IsNaN(v) || math.IsNaN(b) {
		return math.NaN(), false
	}
	return v / b, true
}

// text is the cell as shown in the text and Markdown tables:
// "123,456 (1.05×)", with "[2/3]" when some rounds failed, or "failed".
func (t *table) text(r, c int) string {
	cl := t.Cells[r][c]
	m := t.Metrics[r]
	v, ok := cl.median()
	if !ok {
		if len(cl.Errs) > 0 {
			return "failed"
		}
		return "n/a"
	}
	s := m.format(v)
	if ratio, ok := t.ratio(r, c); ok {
		s += fmt.Sprintf(" (%.2f×)", ratio)
	}
	if len(cl.Vals) < cl.Runs {
		s += fmt.Sprintf(" [%d/%d]", len(cl.Vals), cl.Runs)
	}
	return s
}

func (m metric) title() string {
	s := m.Label
	if m.Unit != "" {
		s += ", " + m.Unit
	}
	switch m.Better {
	case HigherBetter:
		s += " ↑"
	case LowerBetter:
		s += " ↓"
	}
	return s
}

// failures lists each distinct failure once per server, with the
// scenarios it hit: "net (idle, slow): reason".
func (t *table) failures() []string {
	type key struct {
		server int
		reason string
	}
	var order []key
	scens := map[key][]string{}
	for r, row := range t.Metrics {
		scen, _, _ := strings.Cut(row.Key, ".")
		for c := range t.Servers {
			for _, e := range t.Cells[r][c].Errs {
				k := key{c, e}
				if _, ok := scens[k]; !ok {
					order = append(order, k)
				}
				if !slices.Contains(scens[k], scen) {
					scens[k] = append(scens[k], scen)
				}
			}
		}
	}
	slices.SortStableFunc(order, func(a, b key) int { return a.server - b.server })
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = fmt.Sprintf("%s (%s): %s", t.Servers[k.server], strings.Join(scens[k], ", "), k.reason)
	}
	return out
}

func (t *table) baselineName() string {
	if t.Baseline < 0 {
		return ""
	}
	return t.Servers[t.Baseline]
}

// writeText prints the table with aligned columns.
func (t *table) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\t%s\t\n", strings.Join(t.Servers, "\t"))
	for r := range t.Metrics {
		cells := make([]string, len(t.Servers))
		for c := range cells {
			cells[c] = t.text(r, c)
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", t.Metrics[r].title(), strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if b := t.baselineName(); b != "" {
		fmt.Fprintf(w, "Medians over rounds; (×) = ratio to %s; ↑ higher is better, ↓ lower is better; [k/n] = k of n rounds succeeded.\n", b)
	}
	for _, f := range t.failures() {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
	return nil
}

// writeMarkdown prints the table as GitHub-flavoured Markdown after
// preamble (Markdown text such as the machine and the parameters).
func (t *table) writeMarkdown(w io.Writer, preamble string) error {
	var b strings.Builder
	if preamble != "" {
		b.WriteString(strings.TrimRight(preamble, "\n"))
		b.WriteString("\n\n")
	}
	b.WriteString("| metric | " + strings.Join(mapSlice(t.Servers, mdEscape), " | ") + " |\n")
	b.WriteString("|---|" + strings.Repeat("---:|", len(t.Servers)) + "\n")
	for r, m := range t.Metrics {
		b.WriteString("| " + mdEscape(m.title()))
		for c := range t.Servers {
			b.WriteString(" | " + mdEscape(t.text(r, c)))
		}
		b.WriteString(" |\n")
	}
	if name := t.baselineName(); name != "" {
		fmt.Fprintf(&b, "\nMedians over rounds; (×) is the ratio to %s; ↑ higher is better, ↓ lower is better; [k/n]: k of n rounds succeeded.\n", mdEscape(name))
	}
	if f := t.failures(); len(f) > 0 {
		b.WriteString("\nFailures:\n\n")
		for _, line := range f {
			b.WriteString("- " + mdEscape(line) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mapSlice(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// mdEscape keeps a string from breaking a Markdown table row.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}
