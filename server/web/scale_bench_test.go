package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/models/scalesite"
)

// scaleThread serves a generated site and finds a thread whose first page
// holds a full PostsPerPage posts, among the most recently active.
func scaleThread(b *testing.B, path string) (http.Handler, string) {
	b.Helper()
	store := scalesite.Open(b, path)
	a, err := New(Config{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h, err := a.router()
	if err != nil {
		b.Fatal(err)
	}
	for n := 1; ; n++ {
		list, err := store.ListThreads(context.Background(), models.ThreadFilter{}, models.Page{Number: n})
		if err != nil || len(list.Items) == 0 {
			b.Fatalf("no thread of %d to %d posts: %v", models.PostsPerPage+1, 2*models.PostsPerPage, err)
		}
		for _, th := range list.Items {
			if th.PostCount > models.PostsPerPage && th.PostCount <= 2*models.PostsPerPage {
				return h, fmt.Sprintf("/threads/%d", th.ID)
			}
		}
	}
}

// BenchmarkScaleThreadPage serves the first page (50 posts) of a thread on
// the million-post site and on a thousand-post one, in turn, and prints
// their medians and the ratio of those.
func BenchmarkScaleThreadPage(b *testing.B) {
	big, bigPath := scaleThread(b, scalesite.Path(b))
	small, smallPath := scaleThread(b, scalesite.Small(b))
	var took [2][]time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for i, site := range []struct {
			h    http.Handler
			path string
		}{{small, smallPath}, {big, bigPath}} {
			began := time.Now()
			w := httptest.NewRecorder()
			site.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, site.path, nil))
			took[i] = append(took[i], time.Since(began))
			if w.Code != http.StatusOK {
				b.Fatal(site.path, w.Code)
			}
		}
	}
	small50, big50 := scalesite.Percentile(took[0], 50), scalesite.Percentile(took[1], 50)
	b.ReportMetric(small50, "thousand-ms")
	b.ReportMetric(big50, "million-ms")
	b.ReportMetric(big50/small50, "million/thousand")
}
