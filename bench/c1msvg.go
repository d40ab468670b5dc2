package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// c1mSeries is one server's medians of a c1m metric per conn count (NaN
// where it has none).
func c1mSeries(t *table, ns []int, name string) [][]float64 {
	out := make([][]float64, len(t.Servers))
	for c := range t.Servers {
		out[c] = make([]float64, len(ns))
		for i, n := range ns {
			out[c][i] = math.NaN()
			if r := t.row("c1m-" + shortCount(n) + "." + name); r >= 0 {
				if v, ok := t.Cells[r][c].median(); ok {
					out[c][i] = v
				}
			}
		}
	}
	return out
}

// writeC1MSVG draws two line charts side by side against the number of
// conns held (log scale): the server's RSS per conn and the p99 latency of
// the active conns, one line per server. Missing points break the line.
func writeC1MSVG(w io.Writer, t *table, ns []int, title, subtitle string) error {
	// The axis spans the counts some server reached; the others are named.
	rss, p99 := c1mSeries(t, ns, "rss"), c1mSeries(t, ns, "p99")
	var kept, missing []int
	keptRSS, keptP99 := make([][]float64, len(t.Servers)), make([][]float64, len(t.Servers))
	for i, n := range ns {
		reached := false
		for c := range t.Servers {
			reached = reached || !math.IsNaN(rss[c][i]) || !math.IsNaN(p99[c][i])
		}
		if !reached {
			missing = append(missing, n)
			continue
		}
		kept = append(kept, n)
		for c := range t.Servers {
			keptRSS[c] = append(keptRSS[c], rss[c][i])
			keptP99[c] = append(keptP99[c], p99[c][i])
		}
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, n := range missing {
			names[i] = shortCount(n)
		}
		note := "no server reached " + strings.Join(names, ", ") + " (see the table)"
		if subtitle != "" {
			subtitle += "; "
		}
		subtitle += note
	}
	if len(kept) == 0 {
		kept = ns[:1]
		keptRSS, keptP99 = nil, nil
	}
	ns = kept
	const (
		panelW = 380.0
		plotH  = 250.0
		left   = 62.0
		gap    = 70.0
		top    = 84.0
		bottom = 56.0
		right  = 20.0
	)
	width := left + 2*panelW + gap + right
	height := top + plotH + bottom
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	esc := func(s string) string {
		var e strings.Builder
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height, width, height)
	p(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	p(`<text x="%.1f" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(title))
	if subtitle != "" {
		p(`<text x="%.1f" y="32" font-size="10" fill="#555555">%s</text>`+"\n", left, esc(subtitle))
	}
	lx := left
	for c, name := range t.Servers {
		p(`<rect x="%.1f" y="42" width="11" height="11" fill="%s"/>`+"\n", lx, svgPalette[c%len(svgPalette)])
		p(`<text x="%.1f" y="52">%s</text>`+"\n", lx+15, esc(name))
		lx += 15 + 6.5*float64(len([]rune(name))) + 18
	}

	lo, hi := math.Log10(float64(ns[0])), math.Log10(float64(ns[len(ns)-1]))
	// Log scales on both axes: the servers differ by 30× in memory, and a
	// latency spike on this shared machine would flatten everything else.
	panel := func(x0 float64, heading, unit string, series [][]float64, ref float64, refLabel string) {
		x := func(i int) float64 {
			if hi == lo {
				return x0 + panelW/2
			}
			return x0 + 20 + (panelW-40)*(math.Log10(float64(ns[i]))-lo)/(hi-lo)
		}
		vmin, vmax := ref, ref
		for _, s := range series {
			for _, v := range s {
				if !math.IsNaN(v) && v > 0 {
					vmin, vmax = math.Min(vmin, v), math.Max(vmax, v)
				}
			}
		}
		ylo, yhi := math.Floor(math.Log10(vmin/1.2)), math.Ceil(math.Log10(vmax*1.2))
		if yhi <= ylo {
			yhi = ylo + 1
		}
		y := func(v float64) float64 {
			if v <= 0 {
				return top + plotH
			}
			return top + plotH - plotH*(math.Log10(v)-ylo)/(yhi-ylo)
		}
		p(`<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", x0, top-10, esc(heading))
		var ticks []float64
		for e := ylo; e <= yhi; e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); math.Log10(v) <= yhi+1e-9 {
					ticks = append(ticks, v)
				}
			}
		}
		p(`<g stroke="#dddddd" stroke-width="1">` + "\n")
		for _, v := range ticks {
			p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x0, y(v), x0+panelW, y(v))
		}
		p("</g>\n")
		p(`<g font-size="10" text-anchor="end" fill="#444444">` + "\n")
		for _, v := range ticks {
			p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", x0-5, y(v)+3.5, esc(trimFloat(v)))
		}
		p("</g>\n")
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333"/>`+"\n", x0, top+plotH, x0+panelW, top+plotH)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333"/>`+"\n", x0, top+plotH, x0, top)
		if ref > 0 {
			p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aa0000" stroke-width="1" stroke-dasharray="5,3"/>`+"\n", x0, y(ref), x0+panelW, y(ref))
			p(`<text x="%.1f" y="%.1f" text-anchor="end" font-size="9" fill="#aa0000">%s</text>`+"\n", x0+panelW-2, y(ref)-3, esc(refLabel))
		}
		for i, n := range ns {
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", x(i), top+plotH+14, esc(countLabel(n)))
		}
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x0+panelW/2, top+plotH+32, "conns held (log scale)")
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#444444" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
			x0-44, top+plotH/2, x0-44, top+plotH/2, esc(unit+" (log scale)"))
		for c, s := range series {
			col := svgPalette[c%len(svgPalette)]
			var path strings.Builder
			pen := false
			for i, v := range s {
				if math.IsNaN(v) {
					pen = false
					continue
				}
				if pen {
					fmt.Fprintf(&path, " L%.1f %.1f", x(i), y(v))
				} else {
					fmt.Fprintf(&path, " M%.1f %.1f", x(i), y(v))
				}
				pen = true
			}
			if path.Len() > 0 {
				p(`<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(path.String()), col)
			}
			for i, v := range s {
				if math.IsNaN(v) {
					continue
				}
				p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, %s conns: %s %s</title></circle>`+"\n",
					x(i), y(v), col, esc(t.Servers[c]), esc(groupDigits(int64(ns[i]))), esc(trimFloat(v)), esc(unit))
			}
		}
	}
	// 400 MiB for 1M conns is about 0.41 KiB per conn.
	panel(left, "Server RSS per conn held", "KiB per conn", keptRSS, 400.0*1024/1e6, "1M target: 400 MiB")
	panel(left+panelW+gap, "p99 latency of the active conns", "ms", keptP99, 5, "1M target: 5 ms")
	p("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// countLabel writes a conn count for an axis: 19500 -> "19.5k".
func countLabel(n int) string {
	switch {
	case n >= 1000000:
		return trimFloat(float64(n)/1e6) + "M"
	case n >= 1000:
		return trimFloat(float64(n)/1e3) + "k"
	}
	return strconv.Itoa(n)
}

// trimFloat prints v with up to three decimals and no trailing zeros.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
