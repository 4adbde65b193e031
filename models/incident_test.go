package models

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestIncidentLifecycleAndDerivedStatus(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	inc := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	if m, d := f.statuses(t); m != PartialOutage || d != Operational {
		t.Fatalf("after declare: mail %s dash %s", m, d)
	}
	// A second, worse incident on mail: the worst wins.
	other := f.declare(t, ServiceChange{f.mail.ID, MajorOutage}, ServiceChange{f.dash.ID, DegradedPerformance})
	if m, d := f.statuses(t); m != MajorOutage || d != DegradedPerformance {
		t.Fatalf("two incidents: mail %s dash %s", m, d)
	}
	advance(f.s, 10*time.Minute)
	next := f.s.now().Add(30 * time.Minute)
	u, err := f.s.PostUpdate(ctx, f.staff, other.ID, NewUpdate{Status: StatusMonitoring, Body: "Fix deployed.",
		Services: []ServiceChange{{f.mail.ID, DegradedPerformance}}, NextUpdateAt: &next})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Transitions) != 1 || u.Transitions[0].OldStatus != MajorOutage || u.Transitions[0].NewStatus != DegradedPerformance {
		t.Fatalf("transitions: %+v", u.Transitions)
	}
	got, _ := f.s.IncidentByID(ctx, other.ID)
	if got.MonitoringAt == nil || got.Status != StatusMonitoring || got.NextUpdateAt == nil || !got.NextUpdateAt.Equal(next) {
		t.Fatalf("after monitoring: %+v", got)
	}
	if m, _ := f.statuses(t); m != PartialOutage {
		t.Fatalf("mail after the worse incident improved: %s", m)
	}
	// Resolving restores operational and records the transitions.
	advance(f.s, 10*time.Minute)
	for _, id := range []int64{inc.ID, other.ID} {
		u, err := f.s.PostUpdate(ctx, f.staff, id, NewUpdate{Status: StatusResolved, Body: "All good."})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range u.Transitions {
			if tr.NewStatus != Operational {
				t.Errorf("resolve transition %+v", tr)
			}
		}
	}
	if m, d := f.statuses(t); m != Operational || d != Operational {
		t.Fatalf("after resolve: mail %s dash %s", m, d)
	}
	got, _ = f.s.IncidentByID(ctx, inc.ID)
	if got.ResolvedAt == nil || got.NextUpdateAt != nil || got.IsOpen() {
		t.Fatalf("resolved incident: %+v", got)
	}
	// Reopening is an update too, and it ends the earlier watch.
	advance(f.s, time.Hour)
	if _, err := f.s.PostUpdate(ctx, f.staff, other.ID, NewUpdate{Status: StatusIdentified, Body: "It is back."}); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.s.IncidentByID(ctx, other.ID); got.ResolvedAt != nil || got.MonitoringAt != nil || !got.IsOpen() {
		t.Fatalf("reopened after monitoring: resolved %v monitoring %v", got.ResolvedAt, got.MonitoringAt)
	}
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusIdentified, Body: "It is back.",
		Services: []ServiceChange{{f.mail.ID, MajorOutage}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.s.IncidentByID(ctx, inc.ID)
	if got.ResolvedAt != nil || !got.IsOpen() {
		t.Fatalf("reopened: %+v", got)
	}
	if m, _ := f.statuses(t); m != MajorOutage {
		t.Fatalf("mail after reopen: %s", m)
	}
	ups, err := f.s.IncidentUpdates(ctx, nil, 0, inc.ID)
	if err != nil || len(ups) != 3 || ups[0].Status != StatusIdentified || ups[2].Status != StatusInvestigating || !ups[0].Post.Official {
		t.Fatalf("updates newest first: %v %+v", err, ups)
	}
	th, _ := f.s.ThreadByID(ctx, inc.ThreadID)
	if th.PostCount != 3 || th.IncidentID == nil || *th.IncidentID != inc.ID {
		t.Fatalf("incident thread: %+v", th)
	}
}

func TestIncidentValidationAndRoles(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	cust := mustUser(t, f.s, "dave", RoleCustomer)
	ok := NewIncident{Kind: KindIncident, Title: "Mail is slow", Impact: "minor", Status: StatusInvestigating, Body: "Looking.",
		Services: []ServiceChange{{f.mail.ID, DegradedPerformance}}}
	if _, err := f.s.DeclareIncident(ctx, cust, ok); !errors.Is(err, ErrForbidden) {
		t.Fatalf("customer declares: %v", err)
	}
	past := f.s.now().Add(-time.Minute)
	for name, bad := range map[string]func(*NewIncident){
		"impact":       func(n *NewIncident) { n.Impact = "apocalyptic" },
		"status":       func(n *NewIncident) { n.Status = "on_fire" },
		"resolved":     func(n *NewIncident) { n.Status = StatusResolved },
		"no services":  func(n *NewIncident) { n.Services = nil },
		"bad service":  func(n *NewIncident) { n.Services = []ServiceChange{{999, MajorOutage}} },
		"bad status":   func(n *NewIncident) { n.Services = []ServiceChange{{f.mail.ID, "melted"}} },
		"twice":        func(n *NewIncident) { n.Services = append(n.Services, n.Services[0]) },
		"past promise": func(n *NewIncident) { n.NextUpdateAt = &past },
		"kind":         func(n *NewIncident) { n.Kind = "party" },
		"empty body":   func(n *NewIncident) { n.Body = "" },
		"window":       func(n *NewIncident) { n.Kind = KindMaintenance },
		"window in past": func(n *NewIncident) {
			n.Kind, n.ScheduledFor, n.ScheduledUntil = KindMaintenance, &past, &past
		},
	} {
		in := ok
		in.Services = slices.Clone(ok.Services)
		bad(&in)
		var ve *ValidationError
		if _, err := f.s.DeclareIncident(ctx, f.staff, in); !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a validation error", name, err)
		}
	}
	inc, err := f.s.DeclareIncident(ctx, f.staff, ok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PostUpdate(ctx, cust, inc.ID, NewUpdate{Status: StatusResolved, Body: "x"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("customer update: %v", err)
	}
	var ve *ValidationError
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusCompleted, Body: "x"}); !errors.As(err, &ve) {
		t.Fatalf("maintenance status on an incident: %v", err)
	}
	if _, err := f.s.PostUpdate(ctx, f.staff, 999, NewUpdate{Status: StatusResolved, Body: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
	if _, err := f.s.SetPostmortem(ctx, f.staff, inc.ID, "What happened"); !errors.As(err, &ve) {
		t.Fatalf("postmortem on an open incident: %v", err)
	}
	advance(f.s, time.Minute)
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.SetPostmortem(ctx, f.staff, inc.ID, "## What happened\n\nA disk filled up.")
	if err != nil || got.PostmortemAt == nil || got.PostmortemHTML == "" {
		t.Fatalf("postmortem: %v %+v", err, got)
	}
}

func TestOverdue(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	next := f.s.now().Add(30 * time.Minute)
	inc, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: "Mail is slow", Impact: "minor",
		Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{f.mail.ID, DegradedPerformance}}, NextUpdateAt: &next})
	if err != nil {
		t.Fatal(err)
	}
	if d := inc.Overdue(f.s.now()); d != 0 {
		t.Fatalf("overdue before the promise: %v", d)
	}
	if list, _ := f.s.OverdueIncidents(ctx); len(list) != 0 {
		t.Fatalf("overdue list early: %+v", list)
	}
	advance(f.s, 42*time.Minute)
	if d := inc.Overdue(f.s.now()); d != 12*time.Minute {
		t.Fatalf("overdue by %v, want 12m", d)
	}
	if list, _ := f.s.OverdueIncidents(ctx); len(list) != 1 || list[0].ID != inc.ID {
		t.Fatalf("overdue list: %+v", list)
	}
}

func TestMaintenanceMovesByTime(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	from, until := f.s.now().Add(time.Hour), f.s.now().Add(3*time.Hour)
	m, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Database upgrade", Body: "Planned.",
		Services: []ServiceChange{{f.dash.ID, UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, wantMoved int, wantStatus string, wantDash ComponentStatus) {
		t.Helper()
		advance(f.s, d)
		n, err := f.s.AdvanceMaintenance(ctx)
		if err != nil || n != wantMoved {
			t.Fatalf("advance: moved %d, %v; want %d", n, err, wantMoved)
		}
		got, _ := f.s.IncidentByID(ctx, m.ID)
		if _, dash := f.statuses(t); got.Status != wantStatus || dash != wantDash {
			t.Fatalf("at +%v: status %s dash %s; want %s %s", d, got.Status, dash, wantStatus, wantDash)
		}
	}
	step(0, 0, StatusScheduled, Operational)
	step(59*time.Minute, 0, StatusScheduled, Operational)
	step(time.Minute, 1, StatusInProgress, UnderMaintenance)
	step(time.Hour, 0, StatusInProgress, UnderMaintenance)
	// Staff verify by hand; the end of the window still completes it.
	if _, err := f.s.PostUpdate(ctx, f.staff, m.ID, NewUpdate{Status: StatusVerifying, Body: "Checking."}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.IncidentByID(ctx, m.ID); got.MonitoringAt == nil || !got.MonitoringAt.Equal(f.s.now()) {
		t.Fatalf("verifying sets monitoring_at as Statuspage does: %v", got.MonitoringAt)
	}
	step(2*time.Hour, 1, StatusCompleted, Operational)
	ups, _ := f.s.IncidentUpdates(ctx, nil, 0, m.ID)
	if len(ups) != 4 || ups[3].Status != StatusScheduled || len(ups[2].Transitions) != 1 || ups[2].Transitions[0].NewStatus != UnderMaintenance ||
		len(ups[0].Transitions) != 1 || ups[0].Transitions[0].NewStatus != Operational {
		t.Fatalf("maintenance updates: %+v", ups)
	}
}

func TestLinkingAndAffectedRollUp(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	alice, bob := oldUser(t, f.s, "alice"), oldUser(t, f.s, "bob")
	inc := f.declare(t, ServiceChange{f.mail.ID, MajorOutage})
	th := mustThread(t, f.s, alice, "My mail bounces", "Since this morning.") // alice affected there
	if _, err := f.s.SetAffected(ctx, bob, th.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetAffected(ctx, bob, inc.ThreadID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.LinkThread(ctx, alice, th.ID, inc.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("customer links: %v", err)
	}
	var ve *ValidationError
	if _, err := f.s.LinkThread(ctx, f.staff, th.ID, 999); !errors.As(err, &ve) {
		t.Fatalf("link to unknown incident: %v", err)
	}
	other := f.declare(t, ServiceChange{f.dash.ID, MajorOutage})
	if _, err := f.s.LinkThread(ctx, f.staff, other.ThreadID, inc.ID); !errors.As(err, &ve) {
		t.Fatalf("link an incident's own thread: %v", err)
	}
	counts, _ := f.s.AffectedCounts(ctx, inc.ID)
	if counts[inc.ID] != 1 {
		t.Fatalf("before link: %v", counts)
	}
	linked, err := f.s.LinkThread(ctx, f.staff, th.ID, inc.ID)
	if err != nil || linked.IncidentID == nil || *linked.IncidentID != inc.ID {
		t.Fatalf("link: %v %+v", err, linked)
	}
	counts, _ = f.s.AffectedCounts(ctx, inc.ID, other.ID)
	if counts[inc.ID] != 2 || counts[other.ID] != 0 {
		t.Fatalf("after link (bob on both counts once): %v", counts)
	}
	list, _ := f.s.LinkedThreads(ctx, inc)
	if len(list) != 1 || list[0].ID != th.ID {
		t.Fatalf("linked threads: %+v", list)
	}
	found, _ := f.s.SuggestThreads(ctx, Suggest{Text: "delivery bounces", Limit: 5})
	if len(found) != 3 || found[2].ID != th.ID || found[0].IncidentID == nil {
		t.Fatalf("suggestions for 'delivery bounces' (incidents first): %+v", found)
	}
	if _, err := f.s.PostUpdate(ctx, f.staff, other.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	// A resolved incident is suggested for a day after, last, to ask who
	// is still affected; then no more.
	found, _ = f.s.SuggestThreads(ctx, Suggest{Text: "delivery", Limit: 5})
	if len(found) != 2 || found[0].ID != inc.ThreadID || found[1].ID != other.ThreadID || found[1].Incident.ResolvedAt == nil {
		t.Fatalf("suggestions after resolving one: %+v", found)
	}
	advance(f.s, RecentlyResolved)
	if found, _ := f.s.SuggestThreads(ctx, Suggest{Text: "delivery", Limit: 5}); len(found) != 1 || found[0].ID != inc.ThreadID {
		t.Fatalf("an incident resolved a day ago is still suggested: %+v", found)
	}
}
