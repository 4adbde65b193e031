package web

// The Statuspage client's view of /api/v2: Go mirrors of the documented
// objects, decoded strictly, and the checks every answer must pass.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

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
