package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistIndexBounds(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, histMax} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, out of [0, %d)", v, i, histBuckets)
		}
		if i < prev {
			t.Fatalf("histIndex not monotonic at %d", v)
		}
		prev = i
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d with bounds [%d, %d]", v, i, lo, hi)
		}
		if v >= 256 && float64(hi-lo+1)/float64(lo) > 1.0/histSub+1e-12 {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its value", i, lo, hi, histSub)
		}
	}
	// Buckets tile the range with no gaps.
	for i := 1; i < histBuckets; i++ {
		_, hiPrev := histBounds(i - 1)
		lo, _ := histBounds(i)
		if lo != hiPrev+1 {
			t.Fatalf("gap between bucket %d (hi %d) and %d (lo %d)", i-1, hiPrev, i, lo)
		}
	}
}

func TestPercentileExact(t *testing.T) {
	vals := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} // 1..10, unsorted
	cases := []struct {
		q    float64
		want float64
	}{
		{0.01, 1}, {0.1, 1}, {0.11, 2}, {0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10},
	}
	for _, c := range cases {
		if got := percentile(vals, c.q); got != c.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	if vals[0] != 5 {
		t.Error("percentile modified its input")
	}
	if !math.IsNaN(percentile(nil, 0.5)) {
		t.Error("percentile of nothing should be NaN")
	}
}

func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if got := median([]float64{7}); got != 7 {
		t.Errorf("median single = %v", got)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := newHistogram()
	var exact []float64
	for i := 0; i < 100000; i++ {
		// Log-normal-ish latencies from ~10µs to ~10ms.
		d := time.Duration(math.Exp(r.NormFloat64()*1.2+math.Log(200e3))) + 10*time.Microsecond
		h.Record(d)
		exact = append(exact, float64(d))
	}
	if h.Count() != 100000 {
		t.Fatalf("count %d", h.Count())
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		got := float64(h.Quantile(q))
		want := percentile(exact, q)
		if rel := math.Abs(got-want) / want; rel > 1.0/histSub {
			t.Errorf("q%v: histogram %v, exact %v (off by %.3f%%)", q, time.Duration(got), time.Duration(want), rel*100)
		}
	}
	if got, want := h.Quantile(1), time.Duration(exact[len(exact)-1]); got != want {
		t.Errorf("max quantile %v, want the max %v", got, want)
	}
}

func TestHistogramSmallExactAndMerge(t *testing.T) {
	a, b := newHistogram(), newHistogram()
	for v := 1; v <= 50; v++ {
		a.Record(time.Duration(v))
	}
	for v := 51; v <= 100; v++ {
		b.Record(time.Duration(v))
	}
	a.Merge(b)
	a.Merge(newHistogram()) // empty: no effect
	if a.Count() != 100 {
		t.Fatalf("count %d", a.Count())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {0.999, 100}, {0.01, 1}} {
		if got := a.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if m := a.Mean(); m != 50 { // 50.5 truncated
		t.Errorf("mean %v", m)
	}
	e := newHistogram()
	if e.Quantile(0.5) != 0 || e.Mean() != 0 {
		t.Error("empty histogram should report zeros")
	}
	e.Record(-5)
	e.Record(time.Duration(math.MaxInt64))
	if e.Quantile(0.01) != 0 || e.Quantile(1) != time.Duration(histMax) {
		t.Errorf("clamping: %v %v", e.Quantile(0.01), e.Quantile(1))
	}
}
