package models

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// An open incident keeps a promise of the next word: left out, it is the
// cadence; said explicitly, no further update is planned; resolved, none.
func TestPromiseDefaults(t *testing.T) {
	at := func(d time.Duration) *time.Time {
		v := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC).Add(d)
		return &v
	}
	for _, tc := range []struct {
		name    string
		cadence time.Duration
		next    *time.Time
		none    bool
		status  string
		want    *time.Time
	}{
		{"left out: the cadence", DefaultUpdateCadence, nil, false, StatusIdentified, at(30 * time.Minute)},
		{"left out, another cadence", time.Hour, nil, false, StatusMonitoring, at(time.Hour)},
		{"given", DefaultUpdateCadence, at(2 * time.Hour), false, StatusIdentified, at(2 * time.Hour)},
		{"no further update planned", DefaultUpdateCadence, nil, true, StatusIdentified, nil},
		{"no further update wins over a time", DefaultUpdateCadence, at(time.Hour), true, StatusIdentified, nil},
		{"resolved promises nothing", DefaultUpdateCadence, at(time.Hour), false, StatusResolved, nil},
		{"no cadence", 0, nil, false, StatusIdentified, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIncidentFixture(t)
			f.s.UpdateCadence = tc.cadence
			ctx := context.Background()
			inc, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: "Mail is slow", Impact: "minor",
				Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{f.mail.ID, DegradedPerformance}},
				NextUpdateAt: tc.next, NoPromise: tc.none})
			if err != nil {
				t.Fatal(err)
			}
			if tc.status != StatusResolved && !sameTime(inc.NextUpdateAt, tc.want) {
				t.Errorf("declared: next update %v, want %v", inc.NextUpdateAt, tc.want)
			}
			u, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: tc.status, Body: "More.", NextUpdateAt: tc.next, NoPromise: tc.none})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := f.s.IncidentByID(ctx, inc.ID)
			if !sameTime(got.NextUpdateAt, tc.want) || !sameTime(u.NextUpdateAt, tc.want) {
				t.Errorf("updated: incident %v, update %v; want %v", got.NextUpdateAt, u.NextUpdateAt, tc.want)
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// Moving the promise alone is an update whose one line says so; an update
// that changes nothing and says nothing is refused.
func TestPromiseMovedAlone(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	inc := f.declare(t, ServiceChange{f.mail.ID, MajorOutage})
	advance(f.s, 40*time.Minute) // overdue by ten minutes
	next := f.s.now().Add(20 * time.Minute)
	u, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusInvestigating, NextUpdateAt: &next})
	if err != nil {
		t.Fatal(err)
	}
	if want := "No news yet; the next update is now expected by 10:00 UTC."; u.Post.Source != want {
		t.Errorf("the update says %q, want %q", u.Post.Source, want)
	}
	if list, _ := f.s.OverdueIncidents(ctx); len(list) != 0 {
		t.Errorf("still overdue: %+v", list)
	}
	var ve *ValidationError
	_, err = f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusInvestigating, NextUpdateAt: &next})
	if !errors.As(err, &ve) || ve.Fields["body"] == "" {
		t.Errorf("the same promise again, without a word: %v", err)
	}
}

func TestMaintenanceRescheduledAndCancelled(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	from, until := f.s.now().Add(time.Hour), f.s.now().Add(3*time.Hour)
	m, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Database upgrade", Body: "Planned.",
		Services: []ServiceChange{{f.dash.ID, UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		t.Fatal(err)
	}
	later, end := from.Add(24*time.Hour), until.Add(24*time.Hour)
	var ve *ValidationError
	for _, tc := range []struct {
		name        string
		from, until *time.Time
		field       string
	}{
		{"end before start", &end, &later, "scheduled_until"},
		{"in the past", ptr(f.s.now().Add(-time.Hour)), &end, "scheduled_for"},
		{"half a window", &later, nil, "scheduled_for"},
	} {
		_, err := f.s.PostUpdate(ctx, f.staff, m.ID, NewUpdate{Status: StatusScheduled, ScheduledFor: tc.from, ScheduledUntil: tc.until})
		if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.field)
		}
	}
	u, err := f.s.PostUpdate(ctx, f.staff, m.ID, NewUpdate{Status: StatusScheduled, ScheduledFor: &later, ScheduledUntil: &end})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Post.Source, "The maintenance is rescheduled: now from Wed 11 Mar 10:00 UTC") {
		t.Errorf("the reschedule says %q", u.Post.Source)
	}
	got, _ := f.s.IncidentByID(ctx, m.ID)
	if !got.ScheduledFor.Equal(later) || !got.ScheduledUntil.Equal(end) || !got.StartedAt.Equal(later) {
		t.Fatalf("window after the move: %v to %v (started %v)", got.ScheduledFor, got.ScheduledUntil, got.StartedAt)
	}
	// The old start passes: nothing happens.
	advance(f.s, 2*time.Hour)
	if n, _ := f.s.AdvanceMaintenance(ctx); n != 0 {
		t.Fatalf("the old window moved %d", n)
	}
	// Cancelled: completed without having started, services untouched.
	u, err = f.s.PostUpdate(ctx, f.staff, m.ID, NewUpdate{Status: StatusCompleted})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = f.s.IncidentByID(ctx, m.ID)
	if u.Post.Source != "The maintenance is cancelled." || got.CancelledAt == nil || got.State() != "Cancelled" || got.IsOpen() {
		t.Errorf("cancelled: says %q, %+v", u.Post.Source, got)
	}
	if len(u.Transitions) != 0 {
		t.Errorf("a cancelled window changed services: %+v", u.Transitions)
	}
	advance(f.s, 24*time.Hour)
	if n, _ := f.s.AdvanceMaintenance(ctx); n != 0 {
		t.Fatalf("the cancelled window moved %d", n)
	}
	// A window that has started moves no more.
	from2, until2 := f.s.now().Add(time.Minute), f.s.now().Add(time.Hour)
	m2, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Cache upgrade", Body: "Planned.",
		Services: []ServiceChange{{f.dash.ID, UnderMaintenance}}, ScheduledFor: &from2, ScheduledUntil: &until2})
	if err != nil {
		t.Fatal(err)
	}
	advance(f.s, 2*time.Minute)
	if _, err := f.s.AdvanceMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.PostUpdate(ctx, f.staff, m2.ID, NewUpdate{Status: StatusInProgress, ScheduledFor: &later, ScheduledUntil: &end})
	if !errors.As(err, &ve) || ve.Fields["scheduled_for"] == "" {
		t.Errorf("moving a started window: %v", err)
	}
	if got, _ := f.s.IncidentByID(ctx, m2.ID); got.State() != "In progress" {
		t.Errorf("started window: %s", got.State())
	}
}

func ptr[T any](v T) *T { return &v }

func TestLinkUnlinkRelink(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	alice := mustUser(t, f.s, "alice", RoleCustomer)
	first, second := f.declare(t, ServiceChange{f.mail.ID, MajorOutage}), f.declare(t, ServiceChange{f.dash.ID, PartialOutage})
	th, _, err := f.s.CreateThread(ctx, alice, NewThread{Title: "No mail since nine", Body: "Nothing arrives."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UnlinkThread(ctx, alice, th.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a customer unlinks: %v", err)
	}
	var ve *ValidationError
	if _, err := f.s.UnlinkThread(ctx, f.staff, th.ID); !errors.As(err, &ve) {
		t.Errorf("unlinking a thread that is not linked: %v", err)
	}
	if _, err := f.s.UnlinkThread(ctx, f.staff, first.ThreadID); !errors.As(err, &ve) {
		t.Errorf("unlinking an incident's own thread: %v", err)
	}
	steps := []struct {
		do   func() (*Thread, error)
		want *int64
	}{
		{func() (*Thread, error) { return f.s.LinkThread(ctx, f.staff, th.ID, first.ID) }, &first.ID},
		{func() (*Thread, error) { return f.s.UnlinkThread(ctx, f.staff, th.ID) }, nil},
		{func() (*Thread, error) { return f.s.LinkThread(ctx, f.staff, th.ID, first.ID) }, &first.ID},
		{func() (*Thread, error) { return f.s.LinkThread(ctx, f.staff, th.ID, second.ID) }, &second.ID},
	}
	for i, st := range steps {
		got, err := st.do()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if (got.IncidentID == nil) != (st.want == nil) || got.IncidentID != nil && *got.IncidentID != *st.want {
			t.Fatalf("step %d: linked to %v, want %v", i, got.IncidentID, st.want)
		}
	}
	log, err := f.s.ListAudit(ctx, AuditFilter{TargetType: "thread", TargetID: th.ID}, Page{PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log.Items {
		got = append(got, e.Action+": "+e.Before+" -> "+e.After)
	}
	want := []string{
		"thread.link: incident 1 -> incident 2", "thread.link: none -> incident 1",
		"thread.unlink: incident 1 -> none", "thread.link: none -> incident 1",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
}

// A post shows the role its author had when it was written.
func TestPostKeepsTheRoleAtWriting(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	admin, dana := mustUser(t, f.s, "root", RoleAdmin), mustUser(t, f.s, "dana", RoleCustomer)
	th, _, err := f.s.CreateThread(ctx, dana, NewThread{Title: "Invoices are wrong", Body: "Again."})
	if err != nil {
		t.Fatal(err)
	}
	if dana, err = f.s.ChangeRole(ctx, admin, dana.ID, RoleStaff); err != nil {
		t.Fatal(err)
	}
	p, _, err := f.s.CreateReply(ctx, dana, th.ID, NewPost{Body: "Looking into it, now from the inside."})
	if err != nil {
		t.Fatal(err)
	}
	inc := f.declare(t, ServiceChange{f.mail.ID, MajorOutage})
	ups, err := f.s.IncidentUpdates(ctx, nil, 0, inc.ID)
	if err != nil || len(ups) != 1 {
		t.Fatal(ups, err)
	}
	posts, err := f.s.ListPosts(ctx, PostQuery{ThreadID: th.ID, Viewer: dana}, Page{PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := []Role{posts.Items[0].AuthorRole, p.AuthorRole, ups[0].Post.AuthorRole}; got[0] != RoleCustomer || got[1] != RoleStaff || got[2] != RoleStaff {
		t.Errorf("roles at writing: %v, want customer, staff, staff", got)
	}
}
