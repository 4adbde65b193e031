package web

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sitrep/models"
	"sitrep/models/testdb"
	"sitrep/server/demo"
)

// TestCopiedSiteAnswersTheSame: the demo on SQLite, copied with CopyTo to an
// empty database (PostgreSQL when the tests run on it), answers every
// public page and every /api/v2 document the same, on the same clock. Only
// search results may come in another order with other snippets: each
// database's full-text search ranks and cuts its own; they find the same.
func TestCopiedSiteAnswersTheSame(t *testing.T) {
	ctx := context.Background()
	src := newTestEnvOn(t, filepath.Join(t.TempDir(), "demo.db"), func(*Config) {})
	if err := demo.Load(ctx, src.store); err != nil {
		t.Fatal(err)
	}
	dst := newTestEnvOn(t, testdb.DSN(t, "copy.db"), func(*Config) {})
	if _, err := src.store.CopyTo(ctx, dst.store); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/threads", "/threads?page=2", "/incidents", "/record", "/badge.svg",
		"/search?q=mail", "/search?q=delays", "/history.atom", "/history.rss",
		"/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json", "/api/v2/incidents.json",
		"/api/v2/incidents/unresolved.json", "/api/v2/scheduled-maintenances.json",
		"/api/v2/scheduled-maintenances/active.json", "/api/v2/scheduled-maintenances/upcoming.json"}
	threads, err := src.store.ListThreads(ctx, models.ThreadFilter{}, models.Page{PerPage: models.MaxPerPage})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range threads.Items {
		paths = append(paths, fmt.Sprintf("/threads/%d", th.ID), fmt.Sprintf("/threads/%d/feed.atom", th.ID))
		if th.IncidentID != nil {
			paths = append(paths, fmt.Sprintf("/incidents/%d", *th.IncidentID), fmt.Sprintf("/incidents/%d/feed.atom", *th.IncidentID))
		}
	}
	services, err := src.store.ListServices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		paths = append(paths, fmt.Sprintf("/services/%d/badge.svg", s.ID))
	}
	for _, p := range paths {
		want := src.do(req{method: http.MethodGet, path: p})
		got := dst.do(req{method: http.MethodGet, path: p})
		if want.Code != http.StatusOK {
			t.Errorf("%s: %d on the original", p, want.Code)
		}
		wantBody, gotBody := want.Body.String(), got.Body.String()
		if strings.HasPrefix(p, "/search") {
			wantBody, gotBody = searchResults(wantBody), searchResults(gotBody)
			if wantBody == "" {
				t.Errorf("%s finds nothing in the demo", p)
			}
		}
		if got.Code != want.Code || gotBody != wantBody {
			t.Errorf("%s: the copy answers %d, the original %d\n%s", p, got.Code, want.Code, firstDifference(wantBody, gotBody))
		}
	}
}

// searchResults lists the links of a search page's results, sorted.
func searchResults(page string) string {
	var out []string
	for _, m := range resultLink.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

var resultLink = regexp.MustCompile(`<a href="([^"]+)" class="result-title">`)

// firstDifference shows where two bodies part.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("original: %q\ncopy:     %q", a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
