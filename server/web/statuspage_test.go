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

// Go mirrors of Statuspage's documented /api/v2 objects. Decoding with
// DisallowUnknownFields catches extra fields; checkKeys catches missing
// ones; the Go types catch numbers where strings belong.
type (
	sPage struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		URL       string `json:"url"`
		TimeZone  string `json:"time_zone"`
		UpdatedAt string `json:"updated_at"`
	}
	sStatus struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	}
	sComponent struct {
		ID                 string   `json:"id"`
		Name               string   `json:"name"`
		Status             string   `json:"status"`
		CreatedAt          string   `json:"created_at"`
		UpdatedAt          string   `json:"updated_at"`
		Position           int      `json:"position"`
		Description        *string  `json:"description"`
		Showcase           bool     `json:"showcase"`
		StartDate          *string  `json:"start_date"`
		GroupID            *string  `json:"group_id"`
		PageID             string   `json:"page_id"`
		Group              bool     `json:"group"`
		OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
		Components         []string `json:"components"`
	}
	sAffected struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		OldStatus string `json:"old_status"`
		NewStatus string `json:"new_status"`
	}
	sUpdate struct {
		ID                   string      `json:"id"`
		Status               string      `json:"status"`
		Body                 string      `json:"body"`
		IncidentID           string      `json:"incident_id"`
		CreatedAt            string      `json:"created_at"`
		UpdatedAt            string      `json:"updated_at"`
		DisplayAt            string      `json:"display_at"`
		AffectedComponents   []sAffected `json:"affected_components"`
		DeliverNotifications bool        `json:"deliver_notifications"`
		CustomTweet          *string     `json:"custom_tweet"`
		TweetID              *string     `json:"tweet_id"`
	}
	sIncident struct {
		ID              string       `json:"id"`
		Name            string       `json:"name"`
		Status          string       `json:"status"`
		CreatedAt       string       `json:"created_at"`
		UpdatedAt       string       `json:"updated_at"`
		MonitoringAt    *string      `json:"monitoring_at"`
		ResolvedAt      *string      `json:"resolved_at"`
		Impact          string       `json:"impact"`
		Shortlink       string       `json:"shortlink"`
		StartedAt       string       `json:"started_at"`
		PageID          string       `json:"page_id"`
		IncidentUpdates []sUpdate    `json:"incident_updates"`
		Components      []sComponent `json:"components"`
	}
	sMaintenance struct {
		sIncident
		ScheduledFor   *string `json:"scheduled_for"`
		ScheduledUntil *string `json:"scheduled_until"`
	}
	sSummary struct {
		Page                  sPage          `json:"page"`
		Components            []sComponent   `json:"components"`
		Incidents             []sIncident    `json:"incidents"`
		ScheduledMaintenances []sMaintenance `json:"scheduled_maintenances"`
		Status                sStatus        `json:"status"`
	}
	sStatusBody struct {
		Page   sPage   `json:"page"`
		Status sStatus `json:"status"`
	}
	sComponentsBody struct {
		Page       sPage        `json:"page"`
		Components []sComponent `json:"components"`
	}
	sIncidentsBody struct {
		Page      sPage       `json:"page"`
		Incidents []sIncident `json:"incidents"`
	}
	sMaintenancesBody struct {
		Page                  sPage          `json:"page"`
		ScheduledMaintenances []sMaintenance `json:"scheduled_maintenances"`
	}
)

// The documented key sets.
var (
	pageKeys      = []string{"id", "name", "url", "time_zone", "updated_at"}
	statusKeys    = []string{"indicator", "description"}
	componentKeys = []string{"id", "name", "status", "created_at", "updated_at", "position", "description",
		"showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
	groupKeys    = append(slices.Clone(componentKeys), "components")
	affectedKeys = []string{"code", "name", "old_status", "new_status"}
	updateKeys   = []string{"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
		"affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
	incidentKeys = []string{"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
		"impact", "shortlink", "started_at", "page_id", "incident_updates", "components"}
	maintenanceKeys = append(slices.Clone(incidentKeys), "scheduled_for", "scheduled_until")
)

// The documented value sets.
var (
	indicators          = []string{"none", "minor", "major", "critical", "maintenance"}
	componentStatuses   = []string{"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
	incidentStatuses    = []string{"investigating", "identified", "monitoring", "resolved", "postmortem"}
	maintenanceStatuses = []string{"scheduled", "in_progress", "verifying", "completed"}
	incidentImpacts     = []string{"none", "minor", "major", "critical"}
)

// decodeStrict decodes body into v, refusing fields v does not have.
func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode: %v\n%.600s", err, body)
	}
	if d.More() {
		t.Fatal("trailing data after the JSON object")
	}
}

// checkKeys walks the generic decoding of a response and checks that every
// object has exactly its documented keys.
func checkKeys(t *testing.T, body []byte, top []string) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	same := func(where string, obj any, want []string) {
		m, ok := obj.(map[string]any)
		if !ok {
			t.Errorf("%s is %T, want an object", where, obj)
			return
		}
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(got, w) {
			t.Errorf("%s has keys %v, want %v", where, got, w)
		}
	}
	list := func(where string, v any) []any {
		l, ok := v.([]any)
		if !ok {
			t.Errorf("%s is %T, want an array", where, v)
		}
		return l
	}
	component := func(where string, c any) {
		if m, ok := c.(map[string]any); ok && m["group"] == true {
			same(where, c, groupKeys)
		} else {
			same(where, c, componentKeys)
		}
	}
	incident := func(where string, inc any, keys []string) {
		same(where, inc, keys)
		m, _ := inc.(map[string]any)
		for i, u := range list(where+".incident_updates", m["incident_updates"]) {
			w := fmt.Sprintf("%s.incident_updates[%d]", where, i)
			same(w, u, updateKeys)
			if ac := u.(map[string]any)["affected_components"]; ac != nil {
				for j, a := range list(w+".affected_components", ac) {
					same(fmt.Sprintf("%s.affected_components[%d]", w, j), a, affectedKeys)
				}
			}
		}
		for i, c := range list(where+".components", m["components"]) {
			component(fmt.Sprintf("%s.components[%d]", where, i), c)
		}
	}
	same("response", doc, top)
	same("page", doc["page"], pageKeys)
	if s, ok := doc["status"]; ok {
		same("status", s, statusKeys)
	}
	if cs, ok := doc["components"]; ok {
		for i, c := range list("components", cs) {
			component(fmt.Sprintf("components[%d]", i), c)
		}
	}
	if is, ok := doc["incidents"]; ok {
		for i, inc := range list("incidents", is) {
			incident(fmt.Sprintf("incidents[%d]", i), inc, incidentKeys)
		}
	}
	if ms, ok := doc["scheduled_maintenances"]; ok {
		for i, m := range list("scheduled_maintenances", ms) {
			incident(fmt.Sprintf("scheduled_maintenances[%d]", i), m, maintenanceKeys)
		}
	}
}

// spChecker checks values against Statuspage's types and value sets.
type spChecker struct {
	t      *testing.T
	pageID string
}

var htmlTag = regexp.MustCompile(`<[a-zA-Z/!]`)

func (c spChecker) time(where, v string) time.Time {
	c.t.Helper()
	tm, err := time.Parse(time.RFC3339, v)
	if err != nil || !strings.HasSuffix(v, "Z") {
		c.t.Errorf("%s = %q is not an RFC 3339 UTC time", where, v)
	}
	return tm
}

func (c spChecker) optTime(where string, v *string) {
	c.t.Helper()
	if v != nil {
		c.time(where, *v)
	}
}

func (c spChecker) oneOf(where, v string, set []string) {
	c.t.Helper()
	if !slices.Contains(set, v) {
		c.t.Errorf("%s = %q, want one of %v", where, v, set)
	}
}

func (c spChecker) page(p sPage) {
	c.t.Helper()
	if p.ID == "" || p.ID != c.pageID || p.Name == "" || p.URL == "" || p.TimeZone == "" {
		c.t.Errorf("page %+v", p)
	}
	c.time("page.updated_at", p.UpdatedAt)
}

func (c spChecker) status(s sStatus) {
	c.t.Helper()
	c.oneOf("status.indicator", s.Indicator, indicators)
	if s.Description != models.Indicator(s.Indicator).Description() {
		c.t.Errorf("status.description %q for indicator %q", s.Description, s.Indicator)
	}
}

func (c spChecker) components(where string, cs []sComponent) {
	c.t.Helper()
	ids := map[string]bool{}
	for _, x := range cs {
		ids[x.ID] = true
	}
	for i, x := range cs {
		w := fmt.Sprintf("%s[%d]", where, i)
		if x.ID == "" || x.Name == "" || x.PageID != c.pageID || x.Position < 1 {
			c.t.Errorf("%s: %+v", w, x)
		}
		c.oneOf(w+".status", x.Status, componentStatuses)
		c.time(w+".created_at", x.CreatedAt)
		c.time(w+".updated_at", x.UpdatedAt)
		if x.StartDate != nil {
			if _, err := time.Parse(time.DateOnly, *x.StartDate); err != nil {
				c.t.Errorf("%s.start_date %q", w, *x.StartDate)
			}
		}
		if x.Group != (x.Components != nil) || x.Group && x.GroupID != nil {
			c.t.Errorf("%s: group %v with components %v and group_id %v", w, x.Group, x.Components, x.GroupID)
		}
		if where == "components" {
			// In a full list, members and groups refer to each other.
			if x.GroupID != nil && !ids[*x.GroupID] {
				c.t.Errorf("%s.group_id %q is not in the list", w, *x.GroupID)
			}
			for _, m := range x.Components {
				if !ids[m] {
					c.t.Errorf("%s.components names %q, not in the list", w, m)
				}
			}
		}
	}
}

func (c spChecker) incident(where string, inc sIncident, maintenance bool) {
	c.t.Helper()
	if inc.ID == "" || inc.Name == "" || inc.PageID != c.pageID || !strings.HasPrefix(inc.Shortlink, "http") {
		c.t.Errorf("%s: %+v", where, inc)
	}
	statuses, impacts := incidentStatuses, incidentImpacts
	if maintenance {
		statuses, impacts = maintenanceStatuses, []string{"maintenance"}
	}
	c.oneOf(where+".status", inc.Status, statuses)
	c.oneOf(where+".impact", inc.Impact, impacts)
	for name, v := range map[string]string{"created_at": inc.CreatedAt, "updated_at": inc.UpdatedAt, "started_at": inc.StartedAt} {
		c.time(where+"."+name, v)
	}
	c.optTime(where+".monitoring_at", inc.MonitoringAt)
	c.optTime(where+".resolved_at", inc.ResolvedAt)
	if resolved := inc.Status == "resolved" || inc.Status == "postmortem" || inc.Status == "completed"; resolved != (inc.ResolvedAt != nil) {
		c.t.Errorf("%s: status %s with resolved_at %v", where, inc.Status, inc.ResolvedAt)
	}
	if len(inc.IncidentUpdates) == 0 {
		c.t.Errorf("%s has no incident_updates", where)
	}
	var prev time.Time
	for i, u := range inc.IncidentUpdates {
		w := fmt.Sprintf("%s.incident_updates[%d]", where, i)
		if u.ID == "" || u.IncidentID != inc.ID || u.Body == "" || !u.DeliverNotifications || u.CustomTweet != nil || u.TweetID != nil {
			c.t.Errorf("%s: %+v", w, u)
		}
		c.oneOf(w+".status", u.Status, statuses)
		if htmlTag.MatchString(u.Body) {
			c.t.Errorf("%s.body is not plain text: %q", w, u.Body)
		}
		created := c.time(w+".created_at", u.CreatedAt)
		c.time(w+".updated_at", u.UpdatedAt)
		c.time(w+".display_at", u.DisplayAt)
		if i > 0 && created.After(prev) {
			c.t.Errorf("%s is newer than the update before it: not newest first", w)
		}
		prev = created
		if u.AffectedComponents != nil && len(u.AffectedComponents) == 0 {
			c.t.Errorf("%s.affected_components is an empty list; Statuspage sends null", w)
		}
		for j, a := range u.AffectedComponents {
			aw := fmt.Sprintf("%s.affected_components[%d]", w, j)
			if a.Code == "" || a.Name == "" {
				c.t.Errorf("%s: %+v", aw, a)
			}
			c.oneOf(aw+".old_status", a.OldStatus, componentStatuses)
			c.oneOf(aw+".new_status", a.NewStatus, componentStatuses)
		}
	}
	if inc.Status != "postmortem" && inc.IncidentUpdates[0].Status != inc.Status {
		c.t.Errorf("%s: status %s but the newest update says %s", where, inc.Status, inc.IncidentUpdates[0].Status)
	}
	c.components(where+".components", inc.Components)
}

func (c spChecker) maintenance(where string, m sMaintenance) {
	c.t.Helper()
	c.incident(where, m.sIncident, true)
	if m.ScheduledFor == nil || m.ScheduledUntil == nil {
		c.t.Errorf("%s has no window", where)
		return
	}
	if !c.time(where+".scheduled_until", *m.ScheduledUntil).After(c.time(where+".scheduled_for", *m.ScheduledFor)) {
		c.t.Errorf("%s: the window ends before it starts", where)
	}
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, x := range items {
		out = append(out, name(x))
	}
	return out
}

func incidentName(i sIncident) string       { return i.Name }
func maintenanceName(m sMaintenance) string { return m.Name }

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
