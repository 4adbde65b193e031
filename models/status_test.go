package models

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

func TestDailyStatuses(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	// Day 0 (10 March) 09:00: partial outage; day 1 08:00 degraded;
	// day 1 20:00 resolved; day 2 clean.
	inc := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	advance(f.s, 23*time.Hour)
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusMonitoring, Body: "Better.",
		Services: []ServiceChange{{f.mail.ID, DegradedPerformance}}}); err != nil {
		t.Fatal(err)
	}
	advance(f.s, 12*time.Hour)
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Done."}); err != nil {
		t.Fatal(err)
	}
	advance(f.s, 24*time.Hour) // 12 March
	bars, err := f.s.DailyStatuses(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 8 and 9 March ended before the services were added: no data.
	want := []ComponentStatus{NoData, NoData, PartialOutage, PartialOutage, Operational}
	if !slices.Equal(bars[f.mail.ID], want) {
		t.Fatalf("mail bars %v, want %v", bars[f.mail.ID], want)
	}
	if want := []ComponentStatus{NoData, NoData, Operational, Operational, Operational}; !slices.Equal(bars[f.dash.ID], want) {
		t.Fatalf("dashboard never changed: bars %v, want %v", bars[f.dash.ID], want)
	}
	// A window that starts after the outage still sees the state it opens
	// with: declare, then look from three days on with a two-day window.
	f.declare(t, ServiceChange{f.dash.ID, MajorOutage})
	advance(f.s, 72*time.Hour)
	bars, _ = f.s.DailyStatuses(ctx, 2)
	if !slices.Equal(bars[f.dash.ID], []ComponentStatus{MajorOutage, MajorOutage}) {
		t.Fatalf("ongoing outage bars %v", bars[f.dash.ID])
	}
}

func TestOverallIndicator(t *testing.T) {
	open := func(impact string) Incident { return Incident{Kind: KindIncident, Impact: impact} }
	for _, tt := range []struct {
		name     string
		open     []Incident
		statuses map[int64]ComponentStatus
		want     Indicator
	}{
		{"quiet", nil, nil, IndicatorNone},
		{"impact none, degraded", []Incident{open("none")}, map[int64]ComponentStatus{1: DegradedPerformance}, IndicatorMinor},
		{"impact major", []Incident{open("major")}, map[int64]ComponentStatus{1: DegradedPerformance}, IndicatorMajor},
		{"partial outage", []Incident{open("minor")}, map[int64]ComponentStatus{1: PartialOutage}, IndicatorMajor},
		{"major outage", []Incident{open("minor")}, map[int64]ComponentStatus{1: MajorOutage, 2: UnderMaintenance}, IndicatorCritical},
		{"maintenance only", []Incident{{Kind: KindMaintenance, Impact: "maintenance"}}, map[int64]ComponentStatus{2: UnderMaintenance}, IndicatorMaintenance},
	} {
		if got := OverallIndicator(tt.open, tt.statuses); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if IndicatorNone.Description() != "All Systems Operational" || IndicatorCritical.Description() != "Major System Outage" {
		t.Error("descriptions differ from Statuspage's")
	}
}

// TestStatusSnapshot reads a resolved incident (one of its two updates
// hidden by a moderator), an open one with two updates and an upcoming
// maintenance as a visitor sees them, and checks that more incidents cost no
// more queries.
func TestStatusSnapshot(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	mod := mustUser(t, f.s, "morgan", RoleModerator)
	alice, bob := mustUser(t, f.s, "alice", RoleCustomer), mustUser(t, f.s, "bob", RoleCustomer)

	// 09:00 mail in partial outage, resolved at 09:10; the first update's
	// post is hidden.
	resolved := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	advance(f.s, 10*time.Minute)
	fixed, err := f.s.PostUpdate(ctx, f.staff, resolved.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := f.s.IncidentUpdates(ctx, nil, 0, resolved.ID)
	if err != nil || len(ups) != 2 {
		t.Fatalf("updates of the resolved incident: %v %+v", err, ups)
	}
	hidden := ups[1]
	if _, err := f.s.HidePost(ctx, mod, hidden.PostID, "posted on the wrong incident"); err != nil {
		t.Fatal(err)
	}
	// 10:10 the dashboard is slow, identified at 10:20; two people are
	// affected.
	advance(f.s, time.Hour)
	open, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: "Dashboard is slow", Impact: "minor",
		Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{f.dash.ID, DegradedPerformance}}})
	if err != nil {
		t.Fatal(err)
	}
	advance(f.s, 10*time.Minute)
	identified, err := f.s.PostUpdate(ctx, f.staff, open.ID, NewUpdate{Status: StatusIdentified, Body: "Found the cause."})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*User{alice, bob} {
		if _, err := f.s.SetAffected(ctx, u, open.ThreadID, true); err != nil {
			t.Fatal(err)
		}
	}
	// Mail maintenance tomorrow, 02:20 to 04:20.
	from, until := f.s.now().Add(16*time.Hour), f.s.now().Add(18*time.Hour)
	maint, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Mail server upgrade", Body: "Planned.",
		Services: []ServiceChange{{f.mail.ID, UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		t.Fatal(err)
	}

	queries := countQueries(t, f.s)
	snap, err := f.s.StatusSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	firstQueries := *queries

	if !snap.At.Equal(f.s.now()) || snap.At.Location() != time.UTC {
		t.Errorf("At %v, want %v in UTC", snap.At, f.s.now())
	}
	ids := func(list []Incident) []int64 {
		var out []int64
		for _, inc := range list {
			out = append(out, inc.ID)
		}
		return out
	}
	if len(snap.Services) != 2 || snap.Services[0].ID != f.mail.ID || snap.Services[1].ID != f.dash.ID {
		t.Errorf("services %+v, want mail then dashboard", snap.Services)
	}
	if !maps.Equal(snap.Statuses, map[int64]ComponentStatus{f.dash.ID: DegradedPerformance}) {
		t.Errorf("statuses %v, want the dashboard degraded and mail (missing) operational", snap.Statuses)
	}
	if snap.Indicator != IndicatorMinor {
		t.Errorf("indicator %s, want minor", snap.Indicator)
	}
	// The maintenance starts tomorrow, so it is the newest.
	if got := ids(snap.Open); !slices.Equal(got, []int64{maint.ID, open.ID}) {
		t.Errorf("open %v, want [%d %d]", got, maint.ID, open.ID)
	}
	if got := ids(snap.Recent); !slices.Equal(got, []int64{open.ID, resolved.ID}) {
		t.Errorf("recent incidents %v, want [%d %d]", got, open.ID, resolved.ID)
	}
	if got := ids(snap.RecentMaintenance); !slices.Equal(got, []int64{maint.ID}) {
		t.Errorf("recent maintenance %v, want [%d]", got, maint.ID)
	}
	if s := snap.Open[1].Services; len(s) != 1 || s[0].Service == nil || s[0].Service.Name != "Dashboard" || s[0].Status != DegradedPerformance {
		t.Errorf("services of the open incident: %+v", s)
	}

	if len(snap.Updates) != 3 {
		t.Errorf("updates of %d incidents, want 3", len(snap.Updates))
	}
	statuses := func(list []IncidentUpdate) []string {
		var out []string
		for _, u := range list {
			out = append(out, u.Status)
		}
		return out
	}
	for id, want := range map[int64][]string{
		open.ID:     {StatusIdentified, StatusInvestigating},
		resolved.ID: {StatusResolved},
		maint.ID:    {StatusScheduled},
	} {
		if got := statuses(snap.Updates[id]); !slices.Equal(got, want) {
			t.Errorf("updates of incident %d: %v, want %v", id, got, want)
		}
	}
	if u := snap.Updates[open.ID]; u[0].ID != identified.ID {
		t.Errorf("newest update of the open incident is %d, want %d", u[0].ID, identified.ID)
	}
	if u := snap.Updates[resolved.ID]; u[0].ID != fixed.ID {
		t.Errorf("the resolved incident's visible update is %d, want %d", u[0].ID, fixed.ID)
	}
	for id, list := range snap.Updates {
		for _, u := range list {
			switch {
			case u.PostID == hidden.PostID:
				t.Errorf("incident %d: the hidden update %d is in the snapshot", id, u.ID)
			case u.Post == nil || u.Post.Author == nil || u.Post.Author.Name != "carol" || u.Post.HTML == "":
				t.Errorf("incident %d: update %d without its post and author: %+v", id, u.ID, u.Post)
			}
			for _, tr := range u.Transitions {
				if tr.Service == nil || tr.Service.ID != tr.ServiceID {
					t.Errorf("incident %d: transition without its service: %+v", id, tr)
				}
			}
		}
	}
	transition := func(u IncidentUpdate) string {
		if len(u.Transitions) != 1 || u.Transitions[0].Service == nil {
			return fmt.Sprintf("%+v", u.Transitions)
		}
		tr := u.Transitions[0]
		return fmt.Sprintf("%s %s -> %s", tr.Service.Name, tr.OldStatus, tr.NewStatus)
	}
	if got := transition(snap.Updates[open.ID][1]); got != "Dashboard operational -> degraded_performance" {
		t.Errorf("transition of the open incident's first update: %s", got)
	}
	if got := transition(snap.Updates[resolved.ID][0]); got != "Mail partial_outage -> operational" {
		t.Errorf("transition of the resolving update: %s", got)
	}

	if !maps.Equal(snap.Affected, map[int64]int{open.ID: 2}) {
		t.Errorf("affected %v, want 2 on incident %d and none elsewhere", snap.Affected, open.ID)
	}

	if len(snap.History) != 2 {
		t.Errorf("history of %d services, want mail and the dashboard", len(snap.History))
	}
	for id, today := range map[int64]ComponentStatus{f.mail.ID: PartialOutage, f.dash.ID: DegradedPerformance} {
		bars := snap.History[id].Days
		if len(bars) != StatusHistoryDays || bars[0] != NoData || bars[len(bars)-1] != today {
			t.Errorf("history of service %d: %d days, first %v, today %v; want %d days, no data, %s",
				id, len(bars), bars[:min(1, len(bars))], bars[max(0, len(bars)-1):], StatusHistoryDays, today)
		}
	}

	// Four more incidents with updates, transitions and affected marks:
	// the same number of queries.
	for i := range 4 {
		advance(f.s, time.Hour)
		inc := f.declare(t, ServiceChange{f.dash.ID, MajorOutage})
		if _, err := f.s.SetAffected(ctx, alice, inc.ThreadID, true); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
				t.Fatal(err)
			}
		}
	}
	*queries = 0
	more, err := f.s.StatusSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(more.Recent) != 6 || len(more.Updates) != 7 {
		t.Fatalf("second snapshot: %d recent incidents, updates of %d", len(more.Recent), len(more.Updates))
	}
	if *queries != firstQueries {
		t.Errorf("the snapshot took %d queries with 3 incidents and %d with 7; want the same", firstQueries, *queries)
	}

	// The dashboard's snapshot: the open ones, of the closed incidents
	// those resolved since the time given, and no maintenance history (a
	// list and its two preloads fewer).
	*queries = 0
	dash, err := f.s.DashboardSnapshot(ctx, f.s.now().Add(-90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var recent []int64
	for _, inc := range dash.Recent {
		if inc.ResolvedAt == nil || inc.ResolvedAt.Before(f.s.now().Add(-90*time.Minute)) {
			t.Errorf("dashboard: incident %d resolved at %v", inc.ID, inc.ResolvedAt)
		}
		recent = append(recent, inc.ID)
	}
	if len(recent) != 1 || len(dash.RecentMaintenance) != 0 || len(dash.Open) != len(more.Open) || len(dash.Window) != len(more.Window) {
		t.Errorf("dashboard: recent %v, %d maintenance, %d open, %d in the window; want 1, 0, %d, %d",
			recent, len(dash.RecentMaintenance), len(dash.Open), len(dash.Window), len(more.Open), len(more.Window))
	}
	if *queries != firstQueries-3 {
		t.Errorf("the dashboard's snapshot took %d queries, want %d", *queries, firstQueries-3)
	}
}
