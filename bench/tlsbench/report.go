//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// row is one figure of one scenario, measured for every server.
type row struct {
	name   string // e.g. "echo16 msgs/s"
	higher bool   // whether higher is better (shown as ↑)
	digits int    // decimals to print
}

// table holds the values of every round for each row and server, and the
// reasons of the runs that failed.
type table struct {
	rows    []row
	servers []string
	vals    map[[2]string][]float64
	errs    map[[2]string][]string
}

func newTable(rows []row, servers []string) *table {
	return &table{rows: rows, servers: servers, vals: map[[2]string][]float64{}, errs: map[[2]string][]string{}}
}

func (t *table) add(r, server string, v float64) {
	t.vals[[2]string{r, server}] = append(t.vals[[2]string{r, server}], v)
}

func (t *table) fail(r, server, reason string) {
	t.errs[[2]string{r, server}] = append(t.errs[[2]string{r, server}], reason)
}

// median of the values of row r for server, NaN when there are none.
func (t *table) median(r, server string) float64 {
	return median(t.vals[[2]string{r, server}])
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio of server's median to the baseline's median for row r.
func (t *table) ratio(r, server, baseline string) float64 {
	b := t.median(r, baseline)
	if b == 0 {
		return math.NaN()
	}
	return t.median(r, server) / b
}

// cell is "value (ratio×)", with "[k/n]" when only k of n rounds succeeded.
func (t *table) cell(r row, server, baseline string, rounds int) string {
	m := t.median(r.name, server)
	if math.IsNaN(m) {
		return "failed"
	}
	s := fmt.Sprintf("%.*f (%.2f×)", r.digits, m, t.ratio(r.name, server, baseline))
	if n := len(t.vals[[2]string{r.name, server}]); n < rounds {
		s += fmt.Sprintf(" [%d/%d]", n, rounds)
	}
	return s
}

// writeMarkdown writes the table of medians with ratios to baseline, then
// the reasons of failed runs.
func (t *table) writeMarkdown(w io.Writer, names map[string]string, baseline string, rounds int) {
	head := []string{"figure"}
	for _, s := range t.servers {
		head = append(head, names[s])
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range t.rows {
		arrow := "↓"
		if r.higher {
			arrow = "↑"
		}
		line := []string{r.name + " " + arrow}
		for _, s := range t.servers {
			line = append(line, t.cell(r, s, baseline, rounds))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(line, " | "))
	}
	first := true
	for _, r := range t.rows {
		for _, s := range t.servers {
			for _, e := range t.errs[[2]string{r.name, s}] {
				if first {
					fmt.Fprintln(w, "\nFailed runs:")
					first = false
				}
				fmt.Fprintf(w, "- %s, %s: %s\n", r.name, names[s], e)
			}
		}
	}
}
