package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram records latencies in microseconds in fixed log-linear buckets,
// as HdrHistogram does: exact below 256 µs, then 128 buckets for every
// power of two, so any value is off by less than 1%. It holds a few
// thousand counters whatever the number of requests, and recording is two
// atomic adds, so a thousand workers share one without a lock.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64 // µs, exact
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits // buckets per power of two
	histMaxShift = 26               // 2^(26+8) µs ≈ 4.8 hours: above that values are clamped
	histBuckets  = 2*histSub + histMaxShift*histSub
	histMaxValue = int64(1)<<(histMaxShift+histSubBits+1) - 1
)

// bucketOf maps a value in µs to its bucket.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (histSubBits + 1) // v>>shift is in [128, 256)
	return 2*histSub + (shift-1)*histSub + int(v>>shift) - histSub
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	m := int64((i-2*histSub)%histSub + histSub)
	return (m+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := d.Microseconds()
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

func (h *histogram) count() uint64 { return h.total.Load() }

// maxValue is the largest latency recorded, exactly.
func (h *histogram) maxValue() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// percentile is the latency under which p percent of the values fall,
// given as the top of its bucket (never above the maximum), so it errs on
// the side of slower.
func (h *histogram) percentile(p float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(p / 100 * float64(n))
	if float64(rank) < p/100*float64(n) || rank == 0 {
		rank++
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := bucketHigh(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.maxValue()
}

// atLeast counts the values of d or more (to bucket precision).
func (h *histogram) atLeast(d time.Duration) uint64 {
	var n uint64
	for i := bucketOf(d.Microseconds()); i < histBuckets; i++ {
		n += h.counts[i].Load()
	}
	return n
}

// merge adds o's values to h.
func (h *histogram) merge(o *histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	for {
		m, v := h.max.Load(), o.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}
