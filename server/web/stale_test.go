package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"sitrep/models"
)

// holdWriteLock starts a write transaction on the test database from
// another connection, as a long writer in another process would, until the
// returned function is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN IMMEDIATE", "UPDATE services SET position = position"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// TestStaleRatherThanDown: while the database cannot be read at all, the
// dashboard, an incident, summary.json and a feed answer 200 from their
// last good render, pages with an "as of" note; readiness says degraded; a
// write gets 503 with the draft kept. A long writer in another process does
// not get that far: under WAL, readers read on.
func TestStaleRatherThanDown(t *testing.T) {
	// SQLite's own locks, in a file, are what this test holds.
	e := newTestEnvOn(t, filepath.Join(t.TempDir(), "test.db"), func(c *Config) { c.CacheTTL = 5 * time.Second; c.StaleFor = 15 * time.Minute })
	sam, casey := e.user("sam", models.RoleStaff), e.user("casey", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	svc := e.service(models.NewService{Name: "Mail"})
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail is slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
	pages := []string{"/", fmt.Sprintf("/incidents/%d", inc.ID), "/api/v2/summary.json", "/history.atom"}
	rendered := e.clock.Now().UTC().Format("15:04 UTC")
	for _, p := range pages {
		e.page(p, nil)
	}
	cookie := e.session(casey)

	// A long writer elsewhere: pages are still made fresh.
	release := holdWriteLock(t, e.dsn)
	e.clock.Advance(10 * time.Second) // past the micro-cache's TTL
	for _, p := range pages {
		if w := e.do(req{method: http.MethodGet, path: p}); w.Code != http.StatusOK || w.Header().Get("X-Cache") != "miss" {
			t.Errorf("%s beside a long writer: %d, X-Cache %q", p, w.Code, w.Header().Get("X-Cache"))
		}
	}
	release()

	// The database gone: the last good answers, with their age.
	e.clock.Advance(10 * time.Second)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	rendered = e.clock.Now().Add(-10 * time.Second).UTC().Format("15:04 UTC")
	for _, p := range pages {
		w := e.do(req{method: http.MethodGet, path: p})
		wantStatus(t, w, http.StatusOK)
		if w.Header().Get("X-Cache") != "stale" || w.Header().Get("Age") != "10" {
			t.Errorf("%s: X-Cache %q, Age %q; want stale, 10", p, w.Header().Get("X-Cache"), w.Header().Get("Age"))
		}
		body := w.Body.String()
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			mustContain(t, p+" with the database gone", body, "As of "+rendered+", live data unavailable", "Mail is slow")
		} else if !strings.Contains(body, "Mail is slow") {
			t.Errorf("%s: the last good answer lacks the incident: %.200s", p, body)
		}
	}
	// A signed-in reader gets the visitors' last good page too.
	if w := e.do(req{method: http.MethodGet, path: "/", cookie: cookie}); w.Code != http.StatusOK || w.Header().Get("X-Cache") != "stale" {
		t.Errorf("signed-in reader: %d %q", w.Code, w.Header().Get("X-Cache"))
	}
	w := e.do(req{method: http.MethodGet, path: "/readyz"})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"degraded"`) {
		t.Errorf("readiness: %d %s", w.Code, w.Body)
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/healthz"}), http.StatusOK)
	// A page never rendered has nothing to fall back on: 503.
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/incidents"}), http.StatusServiceUnavailable)
	// A write is refused with 503, and the text comes back to send again.
	form := url.Values{"body": {"Still slow for me."}, "submit_key": {"k1"}}
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/posts", inc.ThreadID), form: form, cookie: cookie})
	wantStatus(t, w, http.StatusServiceUnavailable)
	mustContain(t, "the refused write's page", w.Body.String(), "Still slow for me.", "Send again")
	// The last good answers are kept up to -stale-for, not longer.
	e.clock.Advance(15 * time.Minute)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/"}), http.StatusServiceUnavailable)
}
