package main

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Histogram records durations (nanoseconds) in log-linear buckets: every
// power-of-two range is split into histSub equal buckets, so a quantile is
// exact below histSub ns and within 1/histSub (< 0.8%) above. Values beyond
// histMax are clamped. The zero value is not usable; call newHistogram.
type Histogram struct {
	counts []uint64
	n      uint64
	min    int64
	max    int64
	sum    float64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // 128 buckets per power of two
	histMaxExp  = 40               // up to 2^40 ns, about 18 minutes
	histMax     = int64(1)<<histMaxExp - 1
	histBuckets = (histMaxExp-histSubBits)*histSub + histSub
)

func newHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, histBuckets), min: math.MaxInt64}
}

// histIndex maps v >= 0 to its bucket.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1 // v in [2^k, 2^(k+1))
	m := v >> (k - histSubBits)    // top histSubBits+1 bits, in [histSub, 2*histSub)
	return (k-histSubBits)*histSub + int(m)
}

// histBounds is the inclusive value range of bucket i.
func histBounds(i int) (lo, hi int64) {
	if i < 2*histSub {
		return int64(i), int64(i)
	}
	k := i/histSub + histSubBits - 1
	m := int64(i%histSub + histSub)
	shift := k - histSubBits
	return m << shift, (m+1)<<shift - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	h.counts[histIndex(v)]++
	h.n++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded samples.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the average sample, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the nearest-rank q-quantile (0 < q <= 1): the smallest
// recorded value v such that at least q of the samples are <= v, reported as
// the middle of v's bucket and clamped to the observed min and max (the
// lowest and highest ranks give the exact min and max). It is 0 for an
// empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := nearestRank(q, int(min(h.n, math.MaxInt)))
	switch {
	case rank == 1:
		return time.Duration(h.min)
	case uint64(rank) == h.n:
		return time.Duration(h.max)
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= uint64(rank) {
			lo, hi := histBounds(i)
			v := lo + (hi-lo)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// nearestRank is the 1-based nearest rank of quantile q among n samples.
func nearestRank(q float64, n int) int {
	r := int(math.Ceil(q * float64(n)))
	return min(max(r, 1), n)
}

// percentile is the exact nearest-rank q-quantile of vals (0 < q <= 1); vals
// need not be sorted and is not modified. It is NaN for no values.
func percentile(vals []float64, q float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[nearestRank(q, len(s))-1]
}

// median is the middle value of vals (the mean of the two middle ones for an
// even count); NaN for no values.
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
