// Package scalesite gives the scale benchmarks their databases: a site of
// a million posts (models.Generate), made once and kept between runs, and a
// small one of a thousand posts to compare it with. The benchmarks run only
// when asked: SITREP_BENCH_DB names a generated database to use, or
// SITREP_BENCH_SCALE=1 generates one (about two minutes and 2.4 GB) into
// $TMPDIR/sitrep-scale and uses it from then on; delete that folder after
// changing the generator.
package scalesite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sitrep/models"
)

// Million is the site the scale targets name.
var Million = models.GenerateSpec{Users: 100_000, Threads: 20_000, Posts: 1_000_000, Seed: 1}

// Thousand is the site they are compared with: threads of the same mean
// length, a thousand posts.
var Thousand = models.GenerateSpec{Users: 1_000, Threads: 20, Posts: 1_000, Seed: 1}

// Path returns the million-post database, or skips the benchmark unless
// asked for it.
func Path(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SITREP_BENCH_DB"); p != "" {
		return p
	}
	if os.Getenv("SITREP_BENCH_SCALE") != "1" {
		tb.Skip("scale benchmark: set SITREP_BENCH_SCALE=1 (or SITREP_BENCH_DB to a generated database) to run it")
	}
	dir := filepath.Join(os.TempDir(), "sitrep-scale")
	path := filepath.Join(dir, fmt.Sprintf("site-%d-%d-%d-seed%d-schema%d.db",
		Million.Users, Million.Threads, Million.Posts, Million.Seed, models.SchemaVersion()))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	// Made under another name and renamed: two packages' benchmarks may
	// make it at once.
	tmp, err := os.CreateTemp(dir, "making-*.db")
	if err != nil {
		tb.Fatal(err)
	}
	tmp.Close()
	tb.Logf("generating %s (once; kept for later runs)", path)
	if _, err := models.Generate(context.Background(), tmp.Name(), Million); err != nil {
		os.Remove(tmp.Name())
		tb.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Small generates the thousand-post site in the benchmark's own folder.
func Small(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "thousand.db")
	if _, err := models.Generate(context.Background(), path, Thousand); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Open opens a generated database, closed when the benchmark ends.
func Open(tb testing.TB, path string) *models.Store {
	tb.Helper()
	s, err := models.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Percentile is the p-th percentile of took, in milliseconds. Medians
// rather than means: on a machine shared with other work, a few slow
// iterations would otherwise decide a ratio.
func Percentile(took []time.Duration, p int) float64 {
	sorted := slices.Sorted(slices.Values(took))
	return float64(sorted[min(len(sorted)-1, len(sorted)*p/100)]) / float64(time.Millisecond)
}
