package loadtest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for v := range int64(1 << 16) {
		i := bucketOf(v)
		if hi := bucketHigh(i); v > hi || (i > 0 && v <= bucketHigh(i-1)) {
			t.Fatalf("%d in bucket %d, which ends at %d", v, i, hi)
		}
	}
	for _, v := range []int64{1 << 20, 123456789, histMaxValue} {
		i := bucketOf(v)
		if hi := bucketHigh(i); v > hi || float64(hi-v) > float64(v)/128 {
			t.Errorf("%d in bucket %d ending at %d: off by more than 1/128", v, i, hi)
		}
	}
	if bucketOf(histMaxValue) != histBuckets-1 || bucketOf(1<<62) != histBuckets-1 || bucketOf(-5) != 0 {
		t.Errorf("the ends are not clamped")
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h histogram
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = rand.Int64N(2_000_000) // up to 2 s, in µs
		h.record(time.Duration(vals[i]) * time.Microsecond)
	}
	slices.Sort(vals)
	for _, p := range []float64{50, 90, 99, 99.9} {
		want := vals[int(p/100*float64(len(vals)))-1]
		got := h.percentile(p).Microseconds()
		if got < want || float64(got-want) > float64(want)/100+1 {
			t.Errorf("p%v = %dµs, want %dµs to within 1%%, never below", p, got, want)
		}
	}
	if h.maxValue() != time.Duration(vals[len(vals)-1])*time.Microsecond || h.count() != 100000 {
		t.Errorf("max %s, count %d", h.maxValue(), h.count())
	}
	if n := h.atLeast(time.Second); n < 49000 || n > 51000 {
		t.Errorf("%d values of a second or more, want about half", n)
	}
	var empty histogram
	if empty.percentile(99) != 0 {
		t.Errorf("empty histogram has a p99")
	}
}
