package web

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/notify"
)

// seedSubscribers adds n confirmed subscriptions to every service, by
// e-mail, in one statement on the database file.
func seedSubscribers(tb testing.TB, path string, n int, at time.Time) {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
		INSERT INTO subscriptions (kind, email, secret, all_services, state, unsubscribe_hash, created_at, confirmed_at, updated_at)
		SELECT 'email', 'reader-' || i || '@example.com', 'key-' || i, 1, 'active', 'seed-' || i, ?, ?, ? FROM k`, n, at, at, at); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOfficialUpdateSubscribers: an official update through the
// router (the JSON API) with no subscriber and with 100,000 confirmed ones.
// The request writes one fan-out job either way, so it costs the same;
// "busy" posts while a worker fans the earlier updates out and delivers
// them (mail off: each delivery is logged and kept in the outbox), so the
// request shares the database's one writer with the deliveries.
func BenchmarkOfficialUpdateSubscribers(b *testing.B) {
	for _, c := range []struct {
		n    int
		busy bool
	}{{0, false}, {100_000, false}, {100_000, true}} {
		name := fmt.Sprintf("subscribers=%d", c.n)
		if c.busy {
			name += "/busy"
		}
		b.Run(name, func(b *testing.B) {
			e := newTestEnvOn(b, filepath.Join(b.TempDir(), "test.db"), func(*Config) {}) // seeded through SQLite
			staff := e.user("sam.support", models.RoleStaff)
			svc := e.service(models.NewService{Name: "Mail"})
			inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
				Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.PartialOutage}}})
			seedSubscribers(b, e.dsn, c.n, e.clock.Now())
			token := e.token(staff)
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(context.Background())
			if c.busy {
				w := notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
				w.Now = e.clock.Now
				wg.Go(func() { w.Run(ctx) })
			}
			statuses := []string{"identified", "monitoring", "investigating"}
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: token,
					json: fmt.Sprintf(`{"status":%q,"body":"Update %d: still on it."}`, statuses[i%3], i)})
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
