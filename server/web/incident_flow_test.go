package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// The promise of the next update, through the form and the API: the
// cadence when left out, a preset or a time, or explicitly none.
func TestPromiseThroughFormAndAPI(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	inc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}}})
	path := incidentURL(inc.ID)
	page := e.page(path, f.staffCk)
	mustContain(t, "the update form", page, `name="next_in" value="30" data-minutes="30" checked`, `value="15"`, `value="60"`, `value="240"`,
		`name="next_in" value="none"`, "No further update planned", "Now: <time", " UTC</time>")
	token := e.token(f.staff)
	now := func(d time.Duration) *time.Time { t := e.clock.Now().Add(d).UTC(); return &t }
	for _, tc := range []struct {
		name string
		form url.Values // through the page, else JSON through the API
		json string
		code int
		want *time.Time
	}{
		{"form: preset", url.Values{"next_in": {"15"}}, "", http.StatusSeeOther, now(15 * time.Minute)},
		{"form: a time", url.Values{"next_in": {"at"}, "next_update_at": {now(3 * time.Hour).Format(formTimeLayout)}}, "", http.StatusSeeOther, now(3 * time.Hour)},
		{"form: none", url.Values{"next_in": {"none"}}, "", http.StatusSeeOther, nil},
		{"form: the choice left out", url.Values{}, "", http.StatusSeeOther, now(30 * time.Minute)},
		{"form: a time that is not given", url.Values{"next_in": {"at"}}, "", http.StatusUnprocessableEntity, nil},
		{"form: nonsense", url.Values{"next_in": {"soon"}}, "", http.StatusUnprocessableEntity, nil},
		{"api: left out", nil, `{"status":"identified","body":"Found it."}`, http.StatusCreated, now(30 * time.Minute)},
		{"api: given", nil, fmt.Sprintf(`{"status":"identified","body":"Found it.","next_update_at":%q}`, now(time.Hour).Format(time.RFC3339)), http.StatusCreated, now(time.Hour)},
		{"api: null", nil, `{"status":"identified","body":"Found it.","next_update_at":null}`, http.StatusCreated, nil},
		{"api: not a time", nil, `{"status":"identified","body":"Found it.","next_update_at":"soon"}`, http.StatusUnprocessableEntity, nil},
	} {
		before, _ := e.store.IncidentByID(context.Background(), inc.ID)
		var w = e.do(req{method: http.MethodPost, path: "/api/v1/incidents/" + fmt.Sprint(inc.ID) + "/updates", bearer: token, json: tc.json})
		if tc.form != nil {
			tc.form.Set("status", "identified")
			tc.form.Set("body", "Found it: "+tc.name)
			w = e.do(req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk, form: tc.form})
		}
		if w.Code != tc.code {
			t.Fatalf("%s: status %d, want %d: %.300s", tc.name, w.Code, tc.code, w.Body.String())
		}
		got, _ := e.store.IncidentByID(context.Background(), inc.ID)
		if tc.code >= 400 {
			tc.want = before.NextUpdateAt // unchanged
		}
		if (got.NextUpdateAt == nil) != (tc.want == nil) || got.NextUpdateAt != nil && !got.NextUpdateAt.Equal(*tc.want) {
			t.Errorf("%s: next update %v, want %v", tc.name, got.NextUpdateAt, tc.want)
		}
	}
	// No promise, said in public: on the incident and on the dashboard.
	e.do(req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk,
		form: url.Values{"status": {"monitoring"}, "body": {"Watching."}, "next_in": {"none"}}})
	mustContain(t, "the incident without a promise", e.page(path, nil), "No further update is planned.")
	mustContain(t, "the dashboard", e.page("/", nil), "No further update is planned.")
	var api struct {
		NextUpdateAt *string `json:"next_update_at"`
	}
	if api = decodeAs[struct {
		NextUpdateAt *string `json:"next_update_at"`
	}](t, e.do(req{method: http.MethodGet, path: "/api/v1/incidents/" + fmt.Sprint(inc.ID)})); api.NextUpdateAt != nil {
		t.Errorf("the API's next_update_at: %v, want null", *api.NextUpdateAt)
	}
}

// "Post an update or move the promise": moving it alone is an update of one
// line; a preview posts nothing.
func TestPromiseMovedAloneAndPreview(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	inc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}}})
	path := incidentURL(inc.ID)
	e.clock.Advance(45 * time.Minute)
	mustContain(t, "overdue", e.page("/incidents/overdue", f.staffCk), "Mail delivery failing")

	w := e.do(req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk,
		form: url.Values{"status": {"investigating"}, "body": {"**Still** on it."}, "next_in": {"15"}, "preview": {"1"}}})
	wantStatus(t, w, http.StatusOK)
	mustContain(t, "the preview", w.Body.String(), `<section class="preview"`, "<strong>Still</strong> on it.", `value="15" data-minutes="15" checked`)
	if ups, _ := e.store.IncidentUpdates(context.Background(), nil, 0, inc.ID); len(ups) != 1 {
		t.Fatalf("a preview posted: %d updates", len(ups))
	}

	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk,
		form: url.Values{"status": {"investigating"}, "body": {""}, "next_in": {"15"}}})
	ups, _ := e.store.IncidentUpdates(context.Background(), nil, 0, inc.ID)
	if len(ups) != 2 || !strings.HasPrefix(ups[0].Post.Source, "No news yet; the next update is now expected by") {
		t.Fatalf("the promise moved alone: %d updates, the newest says %q", len(ups), ups[0].Post.Source)
	}
	if strings.Contains(e.page("/incidents/overdue", f.staffCk), "Mail delivery failing") {
		t.Error("still overdue after moving the promise")
	}
	// Nothing new, nothing said: refused with the message beside the form.
	w = e.do(req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk,
		form: url.Values{"status": {"investigating"}, "body": {""}, "next_in": {"none"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "an empty update", w.Body.String(), `id="update-body"`, `aria-invalid="true"`)
}

func TestMaintenanceRescheduleAndCancel(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	at := func(d time.Duration) *time.Time { t := e.clock.Now().Add(d).UTC(); return &t }
	m := e.incident(f.staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Mail servers move", Body: "Planned.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.UnderMaintenance}}, ScheduledFor: at(time.Hour), ScheduledUntil: at(2 * time.Hour)})
	path := incidentURL(m.ID)
	page := e.page(path, f.staffCk)
	mustContain(t, "the scheduled window's form", page, `name="scheduled_for"`, "Cancel this maintenance")
	if strings.Contains(page, `name="next_in"`) {
		t.Error("maintenance is offered a promise of the next update")
	}
	// The window as shown is no move; a new one is.
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk, form: url.Values{"status": {"scheduled"},
		"body": {"Reminder: tonight."}, "scheduled_for": {formTime(m.ScheduledFor)}, "scheduled_until": {formTime(m.ScheduledUntil)}}})
	if got, _ := e.store.IncidentByID(context.Background(), m.ID); !got.ScheduledFor.Equal(*m.ScheduledFor) {
		t.Fatalf("an unchanged window moved to %v", got.ScheduledFor)
	}
	w := e.do(req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk, form: url.Values{"status": {"scheduled"},
		"scheduled_for": {formTime(at(3 * time.Hour))}, "scheduled_until": {formTime(at(time.Hour))}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "a window backwards", w.Body.String(), "The window ends after it starts.")
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk, form: url.Values{"status": {"scheduled"},
		"scheduled_for": {formTime(at(24 * time.Hour))}, "scheduled_until": {formTime(at(26 * time.Hour))}}})
	mustContain(t, "the rescheduled window", e.page(path, nil), "The maintenance is rescheduled: now from")
	// Through the API too.
	e.must(http.StatusCreated, req{method: http.MethodPost, path: "/api/v1/incidents/" + fmt.Sprint(m.ID) + "/updates", bearer: e.token(f.staff),
		json: fmt.Sprintf(`{"status":"scheduled","scheduled_for":%q,"scheduled_until":%q}`, at(48*time.Hour).Format(time.RFC3339), at(50*time.Hour).Format(time.RFC3339))})
	if got, _ := e.store.IncidentByID(context.Background(), m.ID); !got.ScheduledFor.Equal(*at(48 * time.Hour)) {
		t.Fatalf("the API's reschedule: %v", got.ScheduledFor)
	}
	// Cancelled: one click, an official update, "Cancelled" everywhere.
	w = e.must(http.StatusSeeOther, req{method: http.MethodPost, path: path + "/updates", cookie: f.staffCk, form: url.Values{"status": {"completed"}}})
	mustContain(t, "the flash", e.landing(w, f.staffCk), "The maintenance is cancelled.")
	mustContain(t, "the cancelled window", e.page(path, nil), `class="official-label">Cancelled`, "cancelled <time")
	mustContain(t, "the history", e.page("/incidents", nil), `<span class="status-word">Cancelled</span>`)
	api := decodeAs[struct {
		Status      string  `json:"status"`
		CancelledAt *string `json:"cancelled_at"`
	}](t, e.do(req{method: http.MethodGet, path: "/api/v1/incidents/" + fmt.Sprint(m.ID)}))
	if api.Status != "completed" || api.CancelledAt == nil {
		t.Errorf("the API says %+v", api)
	}
}

func TestUnlinkAndLinkPicker(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	at := func(d time.Duration) *time.Time { t := e.clock.Now().Add(d).UTC(); return &t }
	e.incident(f.staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Mail servers move", Body: "Planned.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.UnderMaintenance}}, ScheduledFor: at(time.Hour), ScheduledUntil: at(2 * time.Hour)})
	inc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}}})
	th := e.thread(f.cust, "No mail since nine", "Nothing arrives.")
	page := e.page(threadURL(th.ID), f.staffCk)
	picker := page[strings.Index(page, `<select id="incident_id"`):]
	picker = picker[:strings.Index(picker, "</select>")]
	first, open, maint := strings.Index(picker, `<option value="" selected>Choose an incident…`), strings.Index(picker, "Mail delivery failing"), strings.Index(picker, "Mail servers move")
	if first < 0 || open < first || maint < open || !strings.Contains(picker, `<optgroup label="Maintenance">`) {
		t.Errorf("the picker: %s", picker)
	}
	token := e.token(f.staff)
	api := "/api/v1/threads/" + fmt.Sprint(th.ID) + "/link"
	wantJSONError(t, e.do(req{method: http.MethodDelete, path: api, bearer: token}), "invalid", "not linked")
	e.must(http.StatusOK, req{method: http.MethodPost, path: api, bearer: token, json: fmt.Sprintf(`{"incident_id":%d}`, inc.ID)})
	mustContain(t, "the linked thread for staff", e.page(threadURL(th.ID), f.staffCk), "Unlink from incident", "Move this thread to another incident")
	got := decodeAs[struct {
		IncidentID *int64 `json:"incident_id"`
	}](t, e.must(http.StatusOK, req{method: http.MethodDelete, path: api, bearer: token}))
	if got.IncidentID != nil {
		t.Errorf("unlinked, the API says incident %d", *got.IncidentID)
	}
	if strings.Contains(e.page(incidentURL(inc.ID), nil), "No mail since nine") {
		t.Error("the incident still lists the unlinked thread")
	}
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: threadURL(th.ID) + "/link", cookie: f.staffCk, form: url.Values{"incident_id": {fmt.Sprint(inc.ID)}}})
	w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: threadURL(th.ID) + "/unlink", cookie: f.staffCk})
	mustContain(t, "after unlinking", e.landing(w, f.staffCk), "The thread is no longer linked to an incident.")
	audit := e.page("/mod/audit?target_type=thread", e.session(e.user("root", models.RoleAdmin)))
	if n := strings.Count(audit, "thread.unlink"); n < 2 {
		t.Errorf("the audit log has %d unlinks", n)
	}
}

// A customer's complaint keeps its customer badge after a promotion; the
// counts say "1 post".
func TestRoleBadgeAtWritingAndCounts(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	th := e.thread(f.cust, "Invoices are wrong", "Again.")
	admin := e.user("root", models.RoleAdmin)
	if _, err := e.store.ChangeRole(context.Background(), admin, f.cust.ID, models.RoleStaff); err != nil {
		t.Fatal(err)
	}
	page := e.page(threadURL(th.ID), nil)
	if strings.Contains(page, "badge-staff") {
		t.Error("the old complaint shows its author as staff")
	}
	mustContain(t, "the profile", e.page("/users/casey", nil), "badge-staff")
	mustContain(t, "the thread list", e.page("/threads", nil), "· 1 post\n")
	posts := decodeAs[struct {
		Posts []struct {
			Role string `json:"role"`
		} `json:"posts"`
	}](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/threads/" + fmt.Sprint(th.ID)}))
	if len(posts.Posts) != 1 || posts.Posts[0].Role != "customer" {
		t.Errorf("the API's post roles: %+v", posts.Posts)
	}
}
