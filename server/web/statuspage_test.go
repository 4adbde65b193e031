package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/statuspage"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestV2SummaryGolden pins summary.json on the fixed data set; run with
// -update to rewrite testdata/summary.golden.json, then review the diff.
func TestV2SummaryGolden(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.BaseURL = "https://status.example.com" })
	newSPFixture(e)
	w := e.do(req{method: http.MethodGet, path: "/api/v2/summary.json"})
	wantStatus(t, w, http.StatusOK)
	var got bytes.Buffer
	if err := json.Indent(&got, w.Body.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	path := filepath.Join("testdata", "summary.golden.json")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestV2SummaryGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s differs (run go test -run TestV2SummaryGolden -update and review the diff)\n--- got\n%s", path, got.String())
	}
}

// TestV2StatuspageShapes decodes every /api/v2 route into mirrors of
// Statuspage's documented objects, strictly, and checks the value sets,
// which incidents each list holds, and their order.
func TestV2StatuspageShapes(t *testing.T) {
	e := newTestEnv(t)
	newSPFixture(e)
	ck := spChecker{t: t, pageID: "sitrep"}
	get := func(path string, top []string, v any) {
		t.Helper()
		w := e.do(req{method: http.MethodGet, path: path})
		wantStatus(t, w, http.StatusOK)
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: content type %q", path, ct)
		}
		checkKeys(t, w.Body.Bytes(), top)
		decodeStrict(t, w.Body.Bytes(), v)
	}

	t.Run("summary.json", func(t *testing.T) {
		var s sSummary
		get("/api/v2/summary.json", []string{"page", "components", "incidents", "scheduled_maintenances", "status"}, &s)
		ck := spChecker{t: t, pageID: ck.pageID}
		ck.page(s.Page)
		ck.status(s.Status)
		ck.components("components", s.Components)
		for i, inc := range s.Incidents {
			ck.incident(fmt.Sprintf("incidents[%d]", i), inc, false)
		}
		for i, m := range s.ScheduledMaintenances {
			ck.maintenance(fmt.Sprintf("scheduled_maintenances[%d]", i), m)
		}
		if got := names(s.Incidents, incidentName); !slices.Equal(got, []string{"Mail delivery delayed"}) {
			t.Errorf("summary incidents %v: only unresolved ones belong there", got)
		}
		if got := names(s.ScheduledMaintenances, maintenanceName); !slices.Equal(got, []string{"API upgrade", "Webmail migration"}) {
			t.Errorf("summary maintenances %v", got)
		}
		if s.Status.Indicator != "major" {
			t.Errorf("indicator %q, want major", s.Status.Indicator)
		}
		inc := s.Incidents[0]
		if len(inc.IncidentUpdates) != 2 || inc.IncidentUpdates[0].Status != "identified" || inc.IncidentUpdates[1].Status != "investigating" {
			t.Fatalf("updates of the open incident: %+v", inc.IncidentUpdates)
		}
		if body := inc.IncidentUpdates[0].Body; !strings.Contains(body, "We found the cause: a queue backlog.") ||
			!strings.Contains(body, "- mail is queued, not lost") || strings.Contains(body, "*") {
			t.Errorf("body is not the plain text of the Markdown: %q", body)
		}
		if got := inc.IncidentUpdates[0].AffectedComponents; len(got) != 1 || got[0].Name != "Webmail" ||
			got[0].OldStatus != "operational" || got[0].NewStatus != "degraded_performance" {
			t.Errorf("affected components of the second update: %+v", got)
		}
		if got := inc.IncidentUpdates[1].AffectedComponents; len(got) != 1 || got[0].Name != "Mail delivery" || got[0].NewStatus != "partial_outage" {
			t.Errorf("affected components of the first update: %+v", got)
		}
	})

	t.Run("status.json", func(t *testing.T) {
		var s sStatusBody
		get("/api/v2/status.json", []string{"page", "status"}, &s)
		ck := spChecker{t: t, pageID: ck.pageID}
		ck.page(s.Page)
		ck.status(s.Status)
	})

	t.Run("components.json", func(t *testing.T) {
		var s sComponentsBody
		get("/api/v2/components.json", []string{"page", "components"}, &s)
		ck := spChecker{t: t, pageID: ck.pageID}
		ck.page(s.Page)
		ck.components("components", s.Components)
		got := names(s.Components, func(c sComponent) string { return fmt.Sprintf("%s %d %s", c.Name, c.Position, c.Status) })
		want := []string{"Website 1 operational", "Mail 2 partial_outage", "Mail delivery 1 partial_outage",
			"Webmail 2 degraded_performance", "API 3 operational"}
		if !slices.Equal(got, want) {
			t.Errorf("components %v, want %v", got, want)
		}
	})

	t.Run("incidents.json", func(t *testing.T) {
		var s sIncidentsBody
		get("/api/v2/incidents.json", []string{"page", "incidents"}, &s)
		ck := spChecker{t: t, pageID: ck.pageID}
		ck.page(s.Page)
		for i, inc := range s.Incidents {
			ck.incident(fmt.Sprintf("incidents[%d]", i), inc, false)
		}
		if got := names(s.Incidents, func(i sIncident) string { return i.Name + " " + i.Status }); !slices.Equal(got,
			[]string{"Mail delivery delayed identified", "Website slow postmortem"}) {
			t.Errorf("incidents %v", got)
		}
	})

	t.Run("incidents/unresolved.json", func(t *testing.T) {
		var s sIncidentsBody
		get("/api/v2/incidents/unresolved.json", []string{"page", "incidents"}, &s)
		ck := spChecker{t: t, pageID: ck.pageID}
		ck.page(s.Page)
		for i, inc := range s.Incidents {
			ck.incident(fmt.Sprintf("incidents[%d]", i), inc, false)
		}
		if got := names(s.Incidents, incidentName); !slices.Equal(got, []string{"Mail delivery delayed"}) {
			t.Errorf("unresolved %v", got)
		}
	})

	for _, m := range []struct {
		path string
		want []string
	}{
		{"/api/v2/scheduled-maintenances.json", []string{"API upgrade", "Webmail migration"}},
		{"/api/v2/scheduled-maintenances/upcoming.json", []string{"API upgrade"}},
		{"/api/v2/scheduled-maintenances/active.json", []string{"Webmail migration"}},
	} {
		t.Run(strings.TrimPrefix(m.path, "/api/v2/"), func(t *testing.T) {
			var s sMaintenancesBody
			get(m.path, []string{"page", "scheduled_maintenances"}, &s)
			ck := spChecker{t: t, pageID: ck.pageID}
			ck.page(s.Page)
			for i, x := range s.ScheduledMaintenances {
				ck.maintenance(fmt.Sprintf("scheduled_maintenances[%d]", i), x)
			}
			if got := names(s.ScheduledMaintenances, maintenanceName); !slices.Equal(got, m.want) {
				t.Errorf("maintenances %v, want %v", got, m.want)
			}
		})
	}
}

// TestV2StatuspageGroups checks the synthesized group components: a stable
// string id that is not a service's, members pointing at it, and no group
// for ungrouped services.
func TestV2StatuspageGroups(t *testing.T) {
	e := newTestEnv(t)
	f := newSPFixture(e)
	var s sComponentsBody
	decodeStrict(t, e.do(req{method: http.MethodGet, path: "/api/v2/components.json"}).Body.Bytes(), &s)
	var group *sComponent
	for i := range s.Components {
		if s.Components[i].Group {
			if group != nil {
				t.Fatalf("two groups: %q and %q", group.Name, s.Components[i].Name)
			}
			group = &s.Components[i]
		}
	}
	if group == nil || group.Name != "Mail" {
		t.Fatalf("no Mail group in %+v", s.Components)
	}
	if group.ID != statuspage.GroupID("Mail") || strings.Trim(group.ID, "0123456789") == "" || len(group.ID) != 12 {
		t.Errorf("group id %q", group.ID)
	}
	members := []string{fmt.Sprint(f.mail.ID), fmt.Sprint(f.webmail.ID)}
	if !slices.Equal(group.Components, members) {
		t.Errorf("group components %v, want %v", group.Components, members)
	}
	for _, c := range s.Components {
		inGroup := slices.Contains(members, c.ID)
		switch {
		case c.Group:
		case inGroup && (c.GroupID == nil || *c.GroupID != group.ID):
			t.Errorf("%s: group_id %v, want %q", c.Name, c.GroupID, group.ID)
		case !inGroup && c.GroupID != nil:
			t.Errorf("%s: group_id %v, want null", c.Name, *c.GroupID)
		}
	}
	// The id does not change with the data around it.
	e.clock.Advance(time.Hour)
	e.service(models.NewService{Name: "IMAP", Group: "Mail", Position: 0})
	var again sComponentsBody
	decodeStrict(t, e.do(req{method: http.MethodGet, path: "/api/v2/components.json"}).Body.Bytes(), &again)
	for _, c := range again.Components {
		if c.Group && c.ID != group.ID {
			t.Errorf("group id moved from %q to %q", group.ID, c.ID)
		}
	}
}

// TestV2StatuspageHeaders checks CORS, the public cache and conditional
// requests.
func TestV2StatuspageHeaders(t *testing.T) {
	e := newTestEnv(t)
	f := newSPFixture(e)
	paths := []string{"/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json", "/api/v2/incidents.json",
		"/api/v2/incidents/unresolved.json", "/api/v2/scheduled-maintenances.json",
		"/api/v2/scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/active.json"}
	customer := e.user("casey", models.RoleCustomer)
	cookie := e.session(customer)
	for _, path := range paths {
		w := e.do(req{method: http.MethodGet, path: path})
		wantStatus(t, w, http.StatusOK)
		h := w.Header()
		if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Cache-Control") != "public, max-age=30" {
			t.Errorf("%s: CORS %q, Cache-Control %q", path, h.Get("Access-Control-Allow-Origin"), h.Get("Cache-Control"))
		}
		etag := h.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Fatalf("%s: ETag %q is not a strong ETag", path, etag)
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			w2 := e.do(req{method: http.MethodGet, path: path, header: map[string]string{"If-None-Match": inm}})
			wantStatus(t, w2, http.StatusNotModified)
			if w2.Body.Len() != 0 || w2.Header().Get("ETag") != etag || w2.Header().Get("Cache-Control") != "public, max-age=30" {
				t.Errorf("%s: 304 for %q with body %q, ETag %q, Cache-Control %q", path, inm, w2.Body.String(),
					w2.Header().Get("ETag"), w2.Header().Get("Cache-Control"))
			}
		}
		if w2 := e.do(req{method: http.MethodGet, path: path, header: map[string]string{"If-None-Match": `"stale"`}}); w2.Code != http.StatusOK {
			t.Errorf("%s: a stale ETag got %d", path, w2.Code)
		}
		// A signed-in reader gets the same public answer.
		w3 := e.do(req{method: http.MethodGet, path: path, cookie: cookie})
		if w3.Header().Get("ETag") != etag || w3.Header().Get("Cache-Control") != "public, max-age=30" || strings.Contains(w3.Header().Get("Vary"), "Cookie") {
			t.Errorf("%s: signed in: ETag %q, Cache-Control %q, Vary %q", path, w3.Header().Get("ETag"),
				w3.Header().Get("Cache-Control"), w3.Header().Get("Vary"))
		}
	}
	// A change gives a new ETag: the old one no longer matches.
	old := e.do(req{method: http.MethodGet, path: "/api/v2/summary.json"}).Header().Get("ETag")
	e.clock.Advance(time.Minute)
	if _, err := e.store.PostUpdate(context.Background(), f.staff, f.open.ID, models.NewUpdate{Status: models.StatusMonitoring, Body: "A fix is live."}); err != nil {
		t.Fatal(err)
	}
	w := e.do(req{method: http.MethodGet, path: "/api/v2/summary.json", header: map[string]string{"If-None-Match": old}})
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("ETag") == old {
		t.Error("the ETag did not change with the data")
	}
}

// TestV2StatuspageIndicatorLifecycle follows status.json's indicator
// through an incident's life and a maintenance window.
func TestV2StatuspageIndicatorLifecycle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	staff := e.user("sam.support", models.RoleStaff)
	mail := e.service(models.NewService{Name: "Mail"})
	status := func(want models.Indicator) {
		t.Helper()
		var s sStatusBody
		w := e.do(req{method: http.MethodGet, path: "/api/v2/status.json"})
		wantStatus(t, w, http.StatusOK)
		decodeStrict(t, w.Body.Bytes(), &s)
		if s.Status.Indicator != string(want) || s.Status.Description != want.Description() {
			t.Fatalf("status %+v, want %s", s.Status, want)
		}
	}
	status(models.IndicatorNone)

	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed",
		Impact: "major", Status: models.StatusInvestigating, Body: "Looking into it.",
		Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.DegradedPerformance}}})
	status(models.IndicatorMajor) // the impact, though the service is only degraded

	e.clock.Advance(20 * time.Minute)
	if _, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusMonitoring, Body: "Fixed; watching."}); err != nil {
		t.Fatal(err)
	}
	status(models.IndicatorMajor) // monitoring is still unresolved

	e.clock.Advance(20 * time.Minute)
	if _, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "All clear."}); err != nil {
		t.Fatal(err)
	}
	status(models.IndicatorNone)

	from, until := e.clock.Now().Add(time.Hour), e.clock.Now().Add(3*time.Hour)
	e.incident(staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Mail server upgrade",
		Body: "Planned.", ScheduledFor: &from, ScheduledUntil: &until,
		Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.UnderMaintenance}}})
	status(models.IndicatorNone) // scheduled, not started

	e.clock.Advance(time.Hour)
	if _, err := e.store.AdvanceMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	status(models.IndicatorMaintenance)

	e.clock.Advance(2 * time.Hour)
	if _, err := e.store.AdvanceMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	status(models.IndicatorNone)
}

// TestV2StatuspageIncidentsLimit: incidents.json holds the 50 most recent
// incidents, newest first.
func TestV2StatuspageIncidentsLimit(t *testing.T) {
	e := newTestEnv(t)
	staff := e.user("sam.support", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	for i := range 53 {
		e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: fmt.Sprintf("Incident number %d", i),
			Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
			Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
		e.clock.Advance(time.Minute)
	}
	var s sIncidentsBody
	decodeStrict(t, e.do(req{method: http.MethodGet, path: "/api/v2/incidents.json"}).Body.Bytes(), &s)
	if len(s.Incidents) != 50 || s.Incidents[0].Name != "Incident number 52" || s.Incidents[49].Name != "Incident number 3" {
		t.Fatalf("%d incidents, first %q", len(s.Incidents), s.Incidents[0].Name)
	}
}

// TestV2StatuspageEmpty: a new site answers empty lists, never null.
func TestV2StatuspageEmpty(t *testing.T) {
	e := newTestEnv(t)
	w := e.do(req{method: http.MethodGet, path: "/api/v2/summary.json"})
	wantStatus(t, w, http.StatusOK)
	checkKeys(t, w.Body.Bytes(), []string{"page", "components", "incidents", "scheduled_maintenances", "status"})
	for _, want := range []string{`"components":[]`, `"incidents":[]`, `"scheduled_maintenances":[]`, `"indicator":"none"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("summary lacks %s: %s", want, w.Body.String())
		}
	}
	for _, path := range []string{"/api/v2/incidents.json", "/api/v2/scheduled-maintenances/active.json"} {
		if body := e.do(req{method: http.MethodGet, path: path}).Body.String(); strings.Contains(body, "null") {
			t.Errorf("%s: %s", path, body)
		}
	}
}
