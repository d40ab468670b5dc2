package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// svgPalette colours the servers, in column order.
var svgPalette = []string{"#2f6fb0", "#7fb3e6", "#e07b24", "#4a9a4a", "#b04a8a", "#888888"}

// writeSVG draws the table's chart rows as grouped bars: one group per
// metric, one bar per server, bar height = ratio to the baseline server
// (which is therefore 1.0, also drawn as a dashed line). Bars taller than
// the axis are cut at the top and labelled with their value. Missing or
// failed figures are marked "×" on the axis.
func (t *table) writeSVG(w io.Writer, title, subtitle string) error {
	var rows []int
	for r, m := range t.Metrics {
		if m.Chart && m.Better != Neutral {
			rows = append(rows, r)
		}
	}
	ns := len(t.Servers)
	const (
		barW     = 26.0
		left     = 56.0
		right    = 16.0
		top      = 70.0
		plotH    = 260.0
		bottom   = 64.0
		capRatio = 4.0
	)
	groupW := math.Max(float64(ns)*barW+34, 136)
	width := left + right + groupW*math.Max(float64(len(rows)), 1)
	height := top + plotH + bottom

	maxRatio := 1.0
	anyRatio := false
	for _, r := range rows {
		for c := range t.Servers {
			if v, ok := t.ratio(r, c); ok {
				anyRatio = true
				maxRatio = math.Max(maxRatio, math.Min(v, capRatio))
			}
		}
	}
	step := 0.25
	switch {
	case maxRatio > 3:
		step = 1
	case maxRatio > 1.5:
		step = 0.5
	}
	ymax := math.Max(math.Ceil(maxRatio*1.08/step)*step, 1.5)
	y := func(v float64) float64 { return top + plotH - plotH*math.Min(v, ymax)/ymax }

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

	// Legend.
	lx := left
	for c, name := range t.Servers {
		p(`<rect x="%.1f" y="42" width="11" height="11" fill="%s"/>`+"\n", lx, svgPalette[c%len(svgPalette)])
		label := name
		if c == t.Baseline {
			label += " (= 1.0)"
		}
		p(`<text x="%.1f" y="52">%s</text>`+"\n", lx+15, esc(label))
		lx += 15 + 6.5*float64(len([]rune(label))) + 18
	}

	// Axis, grid and ticks.
	p(`<g stroke="#dddddd" stroke-width="1">` + "\n")
	for v := step; v <= ymax+1e-9; v += step {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", left, y(v), width-right, y(v))
	}
	p("</g>\n")
	p(`<g font-size="10" text-anchor="end" fill="#444444">` + "\n")
	for v := 0.0; v <= ymax+1e-9; v += step {
		p(`<text x="%.1f" y="%.1f">%.2f×</text>`+"\n", left-6, y(v)+3.5, v)
	}
	p("</g>\n")
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333" stroke-width="1"/>`+"\n", left, y(0), width-right, y(0))

	for g, r := range rows {
		m := t.Metrics[r]
		gx := left + groupW*float64(g)
		x0 := gx + (groupW-float64(ns)*barW)/2
		for c := range t.Servers {
			x := x0 + float64(c)*barW
			v, ok := t.ratio(r, c)
			if !ok {
				p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#aa0000">×</text>`+"\n", x+barW/2, y(0)-4)
				continue
			}
			yt := y(math.Max(v, 0))
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				x+1, yt, barW-2, y(0)-yt, svgPalette[c%len(svgPalette)], esc(fmt.Sprintf("%s: %s", t.Servers[c], t.text(r, c))))
			label := fmt.Sprintf("%.2f", v)
			if v > ymax {
				label = fmt.Sprintf("%.1f", v)
				p(`<path d="M%.1f %.1f l%.1f 5 l%.1f -5 z" fill="#ffffff"/>`+"\n", x+1, yt+8, (barW-2)/2, (barW-2)/2)
			}
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>`+"\n", x+barW/2, yt-3, esc(label))
		}
		scen, name := m.Label, m.Unit
		dir := "higher is better"
		if m.Better == LowerBetter {
			dir = "lower is better"
		}
		cx := gx + groupW/2
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", cx, y(0)+16, esc(scen))
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", cx, y(0)+30, esc(name))
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9" fill="#666666">%s</text>`+"\n", cx, y(0)+44, esc(dir))
	}
	// Reference line at 1.0 on top of the bars.
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222" stroke-width="1" stroke-dasharray="5,3"/>`+"\n", left, y(1), width-right, y(1))
	if !anyRatio {
		p(`<text x="%.1f" y="%.1f" fill="#aa0000">no ratios to draw (baseline missing or failed)</text>`+"\n", left+10, top+20)
	}
	p("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
