package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/models/testdb"
)

// instances is n apps on one fresh PostgreSQL database, as n instances of
// Sitrep behind a load balancer: each with its own cache, broker and clock
// (all at the same time). Skipped, saying why, without PostgreSQL.
func instances(t *testing.T, n int, adjust func(*Config)) []*testEnv {
	t.Helper()
	dsn := testdb.Fresh(t, testdb.Postgres(t))
	out := make([]*testEnv, n)
	for i := range out {
		out[i] = newTestEnvOn(t, dsn, adjust)
	}
	return out
}

// TestInstancesShareLiveUpdates: an official update posted on the first
// instance reaches a stream held on the third within 1 s.
func TestInstancesShareLiveUpdates(t *testing.T) {
	e := instances(t, 3, func(*Config) {})
	staff := e[0].user("sam", models.RoleStaff)
	token := e[0].token(staff)
	mail := e[0].service(models.NewService{Name: "Mail"})
	inc := e[0].incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail is slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.DegradedPerformance}}})
	e[2].startBackground()
	srv := e[2].server()
	stream := openStream(t, srv.URL, fmt.Sprintf("/api/v1/stream?thread=%d", inc.ThreadID), nil, 0)
	if stream.resp.StatusCode != http.StatusOK {
		t.Fatalf("stream on the third instance: %d", stream.resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond) // the stream is subscribed once its first block is read; let the broker settle
	start := time.Now()
	w := e[0].do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: token,
		json: `{"status":"identified","body":"A certificate expired."}`})
	wantStatus(t, w, http.StatusCreated)
	ev := stream.next("incident")
	if d := time.Since(start); d > time.Second {
		t.Errorf("the update reached the third instance's stream after %v, want within 1 s", d)
	}
	if !strings.Contains(ev.Data, `"identified"`) {
		t.Errorf("incident event on the third instance: %s", ev.Data)
	}
}

// TestInstancesPurgeEachOthersCaches: a staff change on one instance purges
// the micro-cache of the others, which then show it at once.
func TestInstancesPurgeEachOthersCaches(t *testing.T) {
	e := instances(t, 3, withCache)
	staff := e[0].user("sam", models.RoleStaff)
	mail := e[0].service(models.NewService{Name: "Mail"})
	for _, x := range e[1:] {
		x.startBackground()
		x.page("/", nil)
		if w := x.do(req{method: http.MethodGet, path: "/"}); w.Header().Get("X-Cache") != "hit" {
			t.Fatalf("the dashboard is not cached: X-Cache %q", w.Header().Get("X-Cache"))
		}
	}
	e[0].incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.MajorOutage}}})
	for i, x := range e[1:] {
		deadline := time.Now().Add(time.Second) // well within the cache's TTL of 5 s
		for !strings.Contains(x.do(req{method: http.MethodGet, path: "/"}).Body.String(), "Mail delivery failing") {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still shows the dashboard from before the incident", i+2)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestInstancesShareTheLogInThrottle: 40 wrong passwords sent at once,
// spread over three instances, still get only 5 password checks.
func TestInstancesShareTheLogInThrottle(t *testing.T) {
	e := instances(t, 3, func(*Config) {})
	e[0].user("alice", models.RoleCustomer)
	count := concurrently(40, func(i int) int {
		return e[i%3].do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"alice"}, "password": {"wrong password!"}}}).Code
	})
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != 35 {
		t.Fatalf("40 wrong log-ins over three instances: %v, want 5 checked (401) and 35 refused (429)", count)
	}
}

// TestInstancesMoveMaintenanceOnce: a maintenance window due now, and a
// pin that has ended, are each handled exactly once however many
// instances run their maintenance at the same moment.
func TestInstancesMoveMaintenanceOnce(t *testing.T) {
	e := instances(t, 3, func(*Config) {})
	ctx := context.Background()
	staff, mod := e[0].user("sam", models.RoleStaff), e[0].user("mia", models.RoleModerator)
	mail := e[0].service(models.NewService{Name: "Mail"})
	from, until := e[0].clock.Now().Add(time.Minute), e[0].clock.Now().Add(time.Hour)
	m := e[0].incident(staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Mail servers move", Body: "Planned.",
		Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	th := e[0].thread(staff, "Read this first", "How to report a problem.")
	if _, err := e[0].store.SetPinned(ctx, mod, th.ID, true, &from, "for the move"); err != nil {
		t.Fatal(err)
	}
	for _, x := range e {
		x.clock.Advance(2 * time.Minute)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	moved, unpinned := 0, 0
	for _, x := range e {
		wg.Go(func() {
			m, err := x.store.AdvanceMaintenance(ctx)
			if err != nil {
				t.Error(err)
			}
			u, err := x.store.ExpirePins(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			moved, unpinned = moved+m, unpinned+u
			mu.Unlock()
		})
	}
	wg.Wait()
	if moved != 1 || unpinned != 1 {
		t.Errorf("the instances say they moved %d windows and took off %d pins, want 1 and 1", moved, unpinned)
	}
	updates, err := e[1].store.IncidentUpdates(ctx, nil, 10, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	started := 0
	for _, u := range updates {
		if u.Status == models.StatusInProgress {
			started++
		}
	}
	if started != 1 {
		t.Errorf("the window due now started %d times", started)
	}
	unpins, err := e[1].store.ListAudit(ctx, models.AuditFilter{Action: "thread.unpin"}, models.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(unpins.Items) != 1 {
		t.Errorf("the ended pin was taken off %d times", len(unpins.Items))
	}
}
