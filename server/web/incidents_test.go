package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// incidentFixture is two services, a staff member and a customer, both
// signed in, with accounts old enough to post freely.
type incidentFixture struct {
	staff, cust     *models.User
	staffCk, custCk *http.Cookie
	mail, dash      *models.Service
}

func newIncidentFixture(e *testEnv) *incidentFixture {
	f := &incidentFixture{staff: e.user("sam", models.RoleStaff), cust: e.user("casey", models.RoleCustomer)}
	f.staffCk, f.custCk = e.session(f.staff), e.session(f.cust)
	f.mail = e.service(models.NewService{Name: "Mail", Group: "Communication", Position: 1})
	f.dash = e.service(models.NewService{Name: "Status dashboard", Position: 2})
	e.clock.Advance(48 * time.Hour)
	return f
}

// TestIncidentThroughPages runs an incident from first word to resolution
// with the staff forms, a customer replying and a linked complaint.
func TestIncidentThroughPages(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	mustContain(t, "quiet dashboard", e.page("/", nil), "All Systems Operational")

	next := e.clock.Now().Add(30 * time.Minute).Format(formTimeLayout)
	w := e.do(req{method: http.MethodPost, path: "/incidents", cookie: f.staffCk, form: url.Values{
		"kind": {"incident"}, "title": {"Mail delivery failing"}, "impact": {"major"}, "status": {"investigating"},
		"body": {"We are **investigating**."}, "next_update_at": {next},
		fmt.Sprintf("service_%d", f.mail.ID): {"major_outage"}, fmt.Sprintf("service_%d", f.dash.ID): {"partial_outage"},
	}})
	wantStatus(t, w, http.StatusSeeOther)
	incPath := w.Header().Get("Location")
	incID := idFrom(t, "/incidents/%d", incPath)
	inc, _ := e.store.IncidentByID(context.Background(), incID)

	dash := e.page("/", nil)
	mustContain(t, "dashboard during the outage", dash, "Major System Outage", "Mail delivery failing",
		"<strong>investigating</strong>", "Next update by", `class="status st-major_outage"`)
	page := e.page(incPath, f.custCk)
	mustContain(t, "incident page", page, "Official updates", `class="official-label">Investigating`,
		`badge badge-staff`, "Mail: <span", "Next update by")
	if strings.Contains(page, "Post an official update") {
		t.Error("a customer sees the staff update form")
	}
	mustContain(t, "incident page for staff", e.page(incPath, f.staffCk), "Post an official update")

	// The customer replies and is affected on the incident.
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/posts", inc.ThreadID), cookie: f.custCk,
		form: url.Values{"body": {"Same for our whole office."}}})
	wantStatus(t, w, http.StatusSeeOther)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/affected", inc.ThreadID), cookie: f.custCk,
		form: url.Values{"affected": {"1"}}})
	wantStatus(t, w, http.StatusSeeOther)

	// Her own complaint thread gets linked: the banner shows the incident.
	e.clock.Advance(time.Minute)
	w = e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: f.custCk, form: url.Values{"title": {"Cannot send mail"}, "body": {"Outbox stuck."}}})
	complaint := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/link", complaint), cookie: f.staffCk,
		form: url.Values{"incident_id": {fmt.Sprint(incID)}}})
	wantStatus(t, w, http.StatusSeeOther)
	mustContain(t, "linked thread", e.page(threadURL(complaint), f.custCk), "Tracked in", "Mail delivery failing", "Investigating")
	mustContain(t, "incident lists the link", e.page(incPath, nil), "Linked customer threads", "Cannot send mail")

	// A refused update comes back with the text kept.
	w = e.do(req{method: http.MethodPost, path: incPath + "/updates", cookie: f.staffCk,
		form: url.Values{"status": {"fixed"}, "body": {"Kept text"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "refused update", w.Body.String(), "Kept text", "Status is one of")

	e.clock.Advance(20 * time.Minute)
	w = e.do(req{method: http.MethodPost, path: incPath + "/updates", cookie: f.staffCk, form: url.Values{
		"status": {"identified"}, "body": {"An expired certificate."}, fmt.Sprintf("service_%d", f.dash.ID): {"operational"}}})
	wantStatus(t, w, http.StatusSeeOther)
	page = e.page(incPath, nil)
	mustContain(t, "after identified", page, "Status dashboard: Partial outage → Operational", "An expired certificate.")
	if strings.Index(page, "An expired certificate.") > strings.Index(page, "We are <strong>investigating") {
		t.Error("the timeline is not newest first")
	}

	e.clock.Advance(time.Hour)
	w = e.do(req{method: http.MethodPost, path: incPath + "/updates", cookie: f.staffCk, form: url.Values{
		"status": {"resolved"}, "body": {"Fixed for everyone."}}})
	wantStatus(t, w, http.StatusSeeOther)
	dash = e.page("/", nil)
	mustContain(t, "dashboard after resolution", dash, "All Systems Operational", "Resolved in the last 7 days", "Mail delivery failing")
	if strings.Contains(dash, "Open incidents") {
		t.Error("a resolved incident is still listed as open")
	}
	w = e.do(req{method: http.MethodPost, path: incPath + "/postmortem", cookie: f.staffCk, form: url.Values{"postmortem": {"## Cause\n\nA certificate."}}})
	wantStatus(t, w, http.StatusSeeOther)
	mustContain(t, "postmortem", e.page(incPath, nil), "<h2>Cause</h2>", "Postmortem")
	mustContain(t, "history", e.page("/incidents?month="+e.clock.Now().Format("2006-01"), nil), "Mail delivery failing")
	w = e.do(req{method: http.MethodGet, path: "/incidents?month=May"})
	wantStatus(t, w, http.StatusBadRequest)
}

// TestOverduePromise shows "overdue by N min" once the promised time has
// passed, on the dashboard, the incident and the staff list.
func TestOverduePromise(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	next := e.clock.Now().Add(30 * time.Minute)
	inc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail is slow",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.", NextUpdateAt: &next,
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.DegradedPerformance}}})
	if body := e.page("/", nil); strings.Contains(body, "overdue") {
		t.Fatal("overdue before the promised time")
	}
	mustContain(t, "staff list, nothing late", e.page("/incidents/overdue", f.staffCk), "no update is overdue")
	e.clock.Advance(42 * time.Minute)
	mustContain(t, "dashboard", e.page("/", nil), "overdue by 12 min")
	mustContain(t, "incident", e.page(incidentURL(inc.ID), nil), "overdue by 12 min")
	mustContain(t, "staff list", e.page("/incidents/overdue", f.staffCk), "Mail is slow", "12 min")
	// A new update with a new promise keeps the word again.
	later := e.clock.Now().Add(time.Hour)
	if _, err := e.store.PostUpdate(context.Background(), f.staff, inc.ID, models.NewUpdate{Status: models.StatusIdentified,
		Body: "Found it.", NextUpdateAt: &later}); err != nil {
		t.Fatal(err)
	}
	if body := e.page("/", nil); strings.Contains(body, "overdue") {
		t.Fatal("still overdue after a new promise")
	}
}

// TestMaintenanceByTime: a window enters and leaves progress at its times,
// and the dashboard follows.
func TestMaintenanceByTime(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	from := e.clock.Now().Add(time.Hour)
	w := e.do(req{method: http.MethodPost, path: "/incidents", cookie: f.staffCk, form: url.Values{
		"kind": {"maintenance"}, "title": {"Database upgrade"}, "body": {"Read-only for an hour."},
		"scheduled_for": {from.Format(formTimeLayout)}, "scheduled_until": {from.Add(time.Hour).Format(formTimeLayout)},
		fmt.Sprintf("service_%d", f.dash.ID): {"under_maintenance"},
	}})
	wantStatus(t, w, http.StatusSeeOther)
	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{0, []string{"Upcoming maintenance", "Database upgrade", "All Systems Operational"}},
		{61 * time.Minute, []string{"Maintenance in progress", "Service Under Maintenance", `class="status st-under_maintenance"`}},
		{time.Hour, []string{"All Systems Operational"}},
	}
	for _, s := range steps {
		e.clock.Advance(s.advance)
		if _, err := e.store.AdvanceMaintenance(context.Background()); err != nil {
			t.Fatal(err)
		}
		mustContain(t, fmt.Sprintf("dashboard at +%v", s.advance), e.page("/", nil), s.want...)
	}
	if body := e.page("/", nil); strings.Contains(body, "Upcoming maintenance") || strings.Contains(body, "Maintenance in progress") {
		t.Error("completed maintenance still shown as upcoming or active")
	}
}

// TestIncidentAPI drives an incident through /api/v1 with a token.
func TestIncidentAPI(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	tok, custTok := e.token(f.staff), e.token(f.cust)
	body := fmt.Sprintf(`{"title":"Mail delivery failing","impact":"major","status":"investigating","body":"Looking **now**.",
		"services":[{"id":%d,"status":"major_outage"}],"next_update_at":%q}`, f.mail.ID, e.clock.Now().Add(time.Hour).Format(time.RFC3339))
	w := e.do(req{method: http.MethodPost, path: "/api/v1/incidents", bearer: tok, json: body})
	wantStatus(t, w, http.StatusCreated)
	inc := decodeAs[apiIncidentDetail](t, w)
	if inc.Status != "investigating" || len(inc.Updates) != 1 || inc.Updates[0].Author != "sam" || inc.NextUpdateAt == nil ||
		len(inc.Services) != 1 || inc.Services[0].Status != models.MajorOutage || !strings.Contains(string(inc.Updates[0].BodyHTML), "<strong>now</strong>") {
		t.Fatalf("created incident: %s", w.Body)
	}
	if !strings.Contains(w.Body.String(), `"linked_threads":[]`) {
		t.Errorf("linked_threads missing while empty: %s", w.Body)
	}
	e.clock.Advance(10 * time.Minute)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: tok,
		json: fmt.Sprintf(`{"status":"monitoring","body":"Fix deployed.","services":[{"id":%d,"status":"degraded_performance"}]}`, f.mail.ID)})
	wantStatus(t, w, http.StatusCreated)
	if up := decodeAs[apiUpdate](t, w); up.Status != "monitoring" || len(up.Transitions) != 1 ||
		up.Transitions[0].OldStatus != models.MajorOutage || up.Transitions[0].Name != "Mail" {
		t.Fatalf("update: %s", w.Body)
	}
	w = e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: f.custCk, form: url.Values{"title": {"Cannot send mail"}, "body": {"Outbox stuck."}}})
	th := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/link", th), bearer: tok, json: fmt.Sprintf(`{"incident_id":%d}`, inc.ID)})
	wantStatus(t, w, http.StatusOK)

	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/incidents/%d", inc.ID)})
	wantStatus(t, w, http.StatusOK)
	got := decodeAs[apiIncidentDetail](t, w)
	if got.MonitoringAt == nil || len(got.Updates) != 2 || got.Updates[0].Status != "monitoring" || got.AffectedCount != 1 ||
		len(got.LinkedThreads) != 1 || got.LinkedThreads[0].ID != th || got.ThreadID == 0 {
		t.Fatalf("incident: %s", w.Body)
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/search?q=delivery"})
	if body := w.Body.String(); !strings.Contains(body, fmt.Sprintf(`"type":"incident","id":%d`, inc.ID)) || !strings.Contains(body, incidentURL(inc.ID)) {
		t.Fatalf("search for an incident: %s", body)
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/threads/" + fmt.Sprint(th)})
	if !strings.Contains(w.Body.String(), fmt.Sprintf(`"incident_id":%d`, inc.ID)) {
		t.Fatalf("thread JSON lacks the link: %s", w.Body)
	}
	w = e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: f.custCk,
		form: url.Values{"title": {"How do I export contacts?"}, "body": {"Where is the button?"}}})
	other := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	w = e.do(req{method: http.MethodGet, path: "/api/v1/threads?linked=true"})
	if body := w.Body.String(); !strings.Contains(body, `"title":"Cannot send mail"`) || strings.Contains(body, fmt.Sprintf(`"id":%d,`, other)) {
		t.Fatalf("linked filter: %s", body)
	}
	for _, q := range []struct {
		query string
		n     int
	}{{"?status=open", 1}, {"?status=resolved", 0}, {"", 1}, {"?kind=maintenance", 0}} {
		w = e.do(req{method: http.MethodGet, path: "/api/v1/incidents" + q.query})
		var list struct{ Incidents []apiIncident }
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Incidents) != q.n {
			t.Errorf("list %s: %d incidents, want %d (%v)", q.query, len(list.Incidents), q.n, err)
		}
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/services"})
	if !strings.Contains(w.Body.String(), `"status":"degraded_performance"`) || !strings.Contains(w.Body.String(), `"group":"Communication"`) {
		t.Fatalf("services: %s", w.Body)
	}

	// Bad input: clear errors, never a 500.
	for _, bad := range []struct {
		method, path, body string
		bearer             string
		status             int
		code               string
	}{
		{http.MethodPost, "/api/v1/incidents", `{"title":"x","impact":"huge","status":"investigating","body":"b"}`, tok, 422, "invalid"},
		{http.MethodPost, "/api/v1/incidents", `{"title":`, tok, 400, ""},
		{http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), `{"status":"identified","body":"b","next_update_at":1767225600}`, tok, 422, "invalid"},
		{http.MethodPost, "/api/v1/incidents", body, custTok, 403, ""},
		{http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), `{"status":"completed","body":"b"}`, tok, 422, "invalid"},
		{http.MethodPost, "/api/v1/incidents/999/updates", `{"status":"resolved","body":"b"}`, tok, 404, ""},
		{http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/postmortem", inc.ID), `{"postmortem":"early"}`, tok, 422, "invalid"},
		{http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/link", th), `{"incident_id":999}`, tok, 422, "invalid"},
		{http.MethodGet, "/api/v1/incidents?status=sideways", "", "", 400, ""},
		{http.MethodGet, "/api/v1/incidents/999", "", "", 404, ""},
	} {
		w := e.do(req{method: bad.method, path: bad.path, json: bad.body, bearer: bad.bearer})
		var env struct {
			Error struct{ Code, Message string }
		}
		if w.Code != bad.status || json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Message == "" ||
			(bad.code != "" && env.Error.Code != bad.code) {
			t.Errorf("%s %s %s: %d %s, want %d", bad.method, bad.path, bad.body, w.Code, w.Body, bad.status)
		}
	}
}

// TestIncidentXSS puts hostile titles and bodies on every page that shows
// incidents.
func TestIncidentXSS(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	payloads := xssPayloads(t)
	for i, p := range payloads[:min(len(payloads), 40)] {
		title := fmt.Sprintf("Incident %d %s", i, p)
		if len([]rune(title)) > models.TitleMaxLen {
			title = string([]rune(title)[:models.TitleMaxLen])
		}
		e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: title,
			Impact: "minor", Status: models.StatusInvestigating, Body: p,
			Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.DegradedPerformance}}})
	}
	for _, path := range []string{"/", "/incidents", "/incidents/1", "/incidents/7", "/report?title=incident"} {
		checkPage(t, e.page(path, f.staffCk))
	}
}

// TestReportAProblem: the two-step form offers the open incident and a new
// thread prefilled with what was typed.
func TestReportAProblem(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	inc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing",
		Impact: "major", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}}})
	// The incident's row counts the people on its linked threads too: casey
	// on a linked thread and riley on the incident's own, two in all.
	ctx := context.Background()
	th := e.thread(f.cust, "Outbox stuck", "Nothing leaves.")
	if _, err := e.store.LinkThread(ctx, f.staff, th.ID, inc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetAffected(ctx, e.user("riley", models.RoleCustomer), inc.ThreadID, true); err != nil {
		t.Fatal(err)
	}
	body := e.page(fmt.Sprintf("/report?service=%d&title=cannot+send+mail", f.mail.ID), f.custCk)
	mustContain(t, "report step 2", body, "Is it one of these?", "Mail delivery failing",
		`<span class="official-label">Incident</span> Mail · 2 affected`,
		fmt.Sprintf(`action="/threads/%d/affected"`, inc.ThreadID), fmt.Sprintf("/threads/new?service=%d&amp;title=cannot&#43;send&#43;mail", f.mail.ID))
	mustContain(t, "no match", e.page("/report?title=printer", nil), "Nobody reported this yet", "Start a new thread")
	w := e.do(req{method: http.MethodGet, path: "/report?service=abc"})
	wantStatus(t, w, http.StatusBadRequest)
	mustContain(t, "new thread prefilled", e.page(fmt.Sprintf("/threads/new?service=%d&title=cannot+send+mail", f.mail.ID), f.custCk),
		`value="cannot send mail"`)
}

// TestServiceCatalogue: admins add and change services through the page and
// the API; each change is audited; bad input is refused with the input kept.
func TestServiceCatalogue(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	root := e.user("root", models.RoleAdmin)
	rootCk, tok := e.session(root), e.token(root)
	w := e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/services/%d", f.mail.ID), bearer: tok, json: `{"description":"Email, IMAP, SMTP","position":7}`})
	wantStatus(t, w, http.StatusOK)
	if got := decodeAs[apiService](t, w); got.Name != "Mail" || got.Group != "Communication" ||
		got.Description != "Email, IMAP, SMTP" || got.Position != 7 || got.Status != models.Operational {
		t.Fatalf("patched service: %s", w.Body)
	}
	for _, bad := range []struct {
		path, body string
		status     int
	}{
		{fmt.Sprintf("/api/v1/services/%d", f.mail.ID), `{"name":""}`, http.StatusUnprocessableEntity},
		{fmt.Sprintf("/api/v1/services/%d", f.mail.ID), `{"name":"Status dashboard"}`, http.StatusUnprocessableEntity},
		{fmt.Sprintf("/api/v1/services/%d", f.mail.ID), `{"position":"first"}`, http.StatusUnprocessableEntity},
		{"/api/v1/services/999", `{"name":"Ghost"}`, http.StatusNotFound},
	} {
		if w := e.do(req{method: http.MethodPatch, path: bad.path, bearer: tok, json: bad.body}); w.Code != bad.status {
			t.Errorf("PATCH %s %s: %d, want %d", bad.path, bad.body, w.Code, bad.status)
		}
	}
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/services/%d", f.dash.ID), cookie: rootCk,
		form: url.Values{"name": {"Status page"}, "position": {"2"}}})
	wantStatus(t, w, http.StatusSeeOther)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/services/%d", f.dash.ID), cookie: rootCk,
		form: url.Values{"name": {"Mail"}, "description": {"kept text"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "refused edit", w.Body.String(), "A service with this name exists.", `value="kept text"`, fmt.Sprintf("Correct service %d", f.dash.ID))
	mustContain(t, "dashboard", e.page("/", nil), "Status page")
	entries, _ := e.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "service"}, models.Page{})
	if len(entries.Items) != 4 || entries.Items[0].Action != "service.update" || entries.Items[0].Actor == nil || entries.Items[0].Actor.Name != "root" {
		t.Fatalf("service audit entries: %+v", entries.Items)
	}
}

// TestSilencedStaffSpeakNoOfficialWord is the reproduction of silenced
// staff still speaking officially: once an admin silences a staff member,
// declaring an incident, an official update and a postmortem are refused
// with 403, on the pages and in the API; one lift by the admin lets them
// speak again.
func TestSilencedStaffSpeakNoOfficialWord(t *testing.T) {
	e := newTestEnv(t)
	f := newFixture(e)
	sam, boss := f.users[staff], f.users[admin]
	e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/silence", sam.ID), cookie: e.session(boss),
		json: `{"reason":"posted in anger","until":"2030-01-01T00:00:00Z"}`})
	cookie, tok := e.session(sam), e.token(sam)
	svc := fmt.Sprintf("service_%d", f.serviceID)
	pages := []req{
		{method: http.MethodPost, path: "/incidents", form: url.Values{"kind": {"incident"}, "title": {"Calendar is down"}, "impact": {"major"},
			"status": {"investigating"}, "body": {"Looking."}, svc: {"major_outage"}}},
		{method: http.MethodPost, path: fmt.Sprintf("/incidents/%d/updates", f.incidentID), form: url.Values{"status": {"identified"}, "body": {"Found it."}}},
		{method: http.MethodPost, path: fmt.Sprintf("/incidents/%d/postmortem", f.resolvedID), form: url.Values{"postmortem": {"A disk filled up."}}},
	}
	for _, r := range pages {
		r.cookie = cookie
		w := e.do(r)
		wantStatus(t, w, http.StatusForbidden)
		mustContain(t, r.path, w.Body.String(), "silenced", "posted in anger")
	}
	apis := []req{
		{method: http.MethodPost, path: "/api/v1/incidents", json: fmt.Sprintf(`{"title":"Calendar is down","impact":"major","status":"investigating","body":"Looking.","services":[{"id":%d,"status":"major_outage"}]}`, f.serviceID)},
		{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", f.incidentID), json: `{"status":"identified","body":"Found it."}`},
		{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/postmortem", f.resolvedID), json: `{"postmortem":"A disk filled up."}`},
	}
	for _, r := range apis {
		r.bearer = tok
		w := e.do(r)
		wantStatus(t, w, http.StatusForbidden)
		wantJSONError(t, w, "silenced", "posted in anger")
	}
	e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/lift", sam.ID), cookie: e.session(boss), json: `{"reason":"a mistake"}`})
	e.must(http.StatusSeeOther, func() req { r := pages[1]; r.cookie = cookie; return r }())
	e.must(http.StatusCreated, func() req { r := apis[1]; r.bearer = tok; return r }())
}
