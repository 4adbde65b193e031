package models_test

import (
	"context"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/models/scalesite"
)

// Scale benchmarks: they run only when asked (see package scalesite), on a
// generated site of a million posts. Each iteration times every case in
// turn, so that ratios and percentiles compare runs made under the same
// load; ratios are of medians.

// BenchmarkScaleThreadList lists page 1 of the thread list and deep pages
// of the million-post site: the middle and the last of 800 by number, and
// the last as its "next" link reads it, after the last thread of the page
// before.
func BenchmarkScaleThreadList(b *testing.B) {
	s := scalesite.Open(b, scalesite.Path(b))
	ctx := context.Background()
	last := scalesite.Million.Threads / models.ThreadsPerPage
	before, err := s.ListThreads(ctx, models.ThreadFilter{}, models.Page{Number: last - 1})
	if err != nil || len(before.Items) == 0 {
		b.Fatal(err)
	}
	key := before.Items[len(before.Items)-1].Key()
	pages := []struct {
		f models.ThreadFilter
		n int
	}{{models.ThreadFilter{}, 1}, {models.ThreadFilter{}, last / 2}, {models.ThreadFilter{}, last}, {models.ThreadFilter{After: &key}, last}}
	took := make([][]time.Duration, len(pages))
	for b.Loop() {
		for i, p := range pages {
			began := time.Now()
			r, err := s.ListThreads(ctx, p.f, models.Page{Number: p.n})
			took[i] = append(took[i], time.Since(began))
			if err != nil || len(r.Items) != models.ThreadsPerPage {
				b.Fatal(p.n, err, len(r.Items))
			}
		}
	}
	median := func(i int) float64 { return scalesite.Percentile(took[i], 50) }
	b.ReportMetric(median(0), "page1-ms")
	b.ReportMetric(median(2), "last-ms")
	b.ReportMetric(median(1)/median(0), "middle/page1")
	b.ReportMetric(median(2)/median(0), "last/page1")
	b.ReportMetric(median(3)/median(0), "last-by-key/page1")
}

// scaleQueries are searches of each kind on the generated site (seed 1):
// words in most posts (the last word typed is a prefix: "the" is also
// "there", "them"...), in one post in forty, in a handful, and two words.
var scaleQueries = []struct{ kind, query string }{
	{"common", "mail"}, {"common", "the"}, {"common", "same"},
	{"mid", "quota"}, {"mid", "upload"},
	{"rare", "corquinquin"}, {"rare", "dexmicorb"},
	{"two", "mail stuck"}, {"two", "quota delayed"}, {"two", "same here"},
}

// BenchmarkScaleSearch searches the million posts as a visitor, and prints
// the median and the 95th percentile over all queries and by kind.
func BenchmarkScaleSearch(b *testing.B) {
	s := scalesite.Open(b, scalesite.Path(b))
	ctx := context.Background()
	byKind := map[string][]time.Duration{}
	var all []time.Duration
	for b.Loop() {
		for _, q := range scaleQueries {
			began := time.Now()
			r, err := s.Search(ctx, q.query, nil, models.Page{})
			took := time.Since(began)
			if err != nil || len(r.Items) == 0 {
				b.Fatal(q.query, err, len(r.Items))
			}
			byKind[q.kind] = append(byKind[q.kind], took)
			all = append(all, took)
		}
	}
	b.ReportMetric(scalesite.Percentile(all, 50), "p50-ms")
	b.ReportMetric(scalesite.Percentile(all, 95), "p95-ms")
	for kind, took := range byKind {
		b.ReportMetric(scalesite.Percentile(took, 95), kind+"-p95-ms")
	}
}
