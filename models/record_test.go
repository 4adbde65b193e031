package models

import (
	"context"
	"testing"
	"time"
)

// TestCommunicationRecord reads the record of a fixed data set:
//
//	A (10 March): a customer thread at 08:00, declared 08:30 promising
//	  09:00, updates at 08:55 (promising 09:30), 09:45 (promising 10:15),
//	  resolved 10:10: first word after 30 min, promises 3 = 2 kept + 1
//	  missed, longest silence 50 min (08:55 to 09:45).
//	B (10 March): declared 11:00 before anyone said anything (a mark at
//	  11:20), resolved 12:00, reopened 13:00 promising 13:30, updated
//	  13:20, resolved 14:00: no first report, 1 promise kept, longest
//	  silence 60 min (the hour it was resolved does not count).
//	C (11 March): a thread at 07:00 merged at 07:40 into a thread of 07:30
//	  that is linked after the declaration at 08:00, which promised 08:20
//	  and was never updated: first word after 60 min (the mark carried by
//	  the merge), 1 promise missed, silent for 65 min until now (09:05).
//	D (11 March): declared 08:50 promising 09:30: 1 promise pending,
//	  silent for 15 min.
//
// An incident of 9 March is before the window, and maintenance is not an
// incident.
func TestCommunicationRecord(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	s := f.s
	at := func(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, time.UTC) }
	clock := func(day, hour, min int) { setClock(s, at(day, hour, min)) }
	promise := func(day, hour, min int) *time.Time { p := at(day, hour, min); return &p }
	declare := func(title string, svc *Service, next *time.Time) *Incident {
		t.Helper()
		inc, err := s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: title, Impact: "major", Status: StatusInvestigating,
			Body: "Looking.", NextUpdateAt: next, NoPromise: next == nil, Services: []ServiceChange{{svc.ID, PartialOutage}}})
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	update := func(inc *Incident, status string, next *time.Time) {
		t.Helper()
		if _, err := s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: status, Body: "News: " + status + ".", NextUpdateAt: next, NoPromise: next == nil}); err != nil {
			t.Fatal(err)
		}
	}
	link := func(th *Thread, inc *Incident) {
		t.Helper()
		if _, err := s.LinkThread(ctx, f.staff, th.ID, inc.ID); err != nil {
			t.Fatal(err)
		}
	}
	mod := mustUser(t, s, "mia", RoleModerator)
	customers := map[string]*User{}
	for _, name := range []string{"dave", "erin", "frank", "gina"} {
		customers[name] = oldUser(t, s, name)
	}

	clock(9, 12, 0)
	old := declare("Old trouble", f.mail, nil)
	update(old, StatusResolved, nil)

	// A.
	clock(10, 8, 0)
	complaint := mustThread(t, s, customers["dave"], "Mail bounces", "Everything bounces.")
	clock(10, 8, 10)
	if _, err := s.SetAffected(ctx, customers["erin"], complaint.ID, true); err != nil {
		t.Fatal(err)
	}
	clock(10, 8, 30)
	a := declare("Mail bouncing", f.mail, promise(10, 9, 0))
	clock(10, 8, 35)
	link(complaint, a)
	clock(10, 8, 55)
	update(a, StatusIdentified, promise(10, 9, 30))
	clock(10, 9, 45)
	update(a, StatusMonitoring, promise(10, 10, 15))
	clock(10, 10, 10)
	update(a, StatusResolved, nil)

	// B.
	clock(10, 11, 0)
	b := declare("Dashboard slow", f.dash, nil)
	clock(10, 11, 20)
	if _, err := s.SetAffected(ctx, customers["erin"], b.ThreadID, true); err != nil {
		t.Fatal(err)
	}
	clock(10, 12, 0)
	update(b, StatusResolved, nil)
	clock(10, 13, 0)
	update(b, StatusInvestigating, promise(10, 13, 30))
	clock(10, 13, 20)
	update(b, StatusIdentified, nil)
	clock(10, 14, 0)
	update(b, StatusResolved, nil)
	// Maintenance is no incident.
	from, until := at(10, 15, 0), at(10, 16, 0)
	if _, err := s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Mail upgrade", Body: "Upgrading.",
		ScheduledFor: &from, ScheduledUntil: &until, Services: []ServiceChange{{f.mail.ID, UnderMaintenance}}}); err != nil {
		t.Fatal(err)
	}

	// C.
	clock(11, 7, 0)
	first := mustThread(t, s, customers["frank"], "Dashboard is down", "Nothing loads.")
	clock(11, 7, 30)
	second := mustThread(t, s, customers["gina"], "Dashboard not loading", "Blank page.")
	clock(11, 7, 40)
	if _, err := s.MergeThread(ctx, mod, first.ID, second.ID, "same problem"); err != nil {
		t.Fatal(err)
	}
	clock(11, 8, 0)
	c := declare("Dashboard down", f.dash, promise(11, 8, 20))
	clock(11, 8, 5)
	link(second, c)

	// D.
	clock(11, 8, 50)
	d := declare("Mail slow", f.mail, promise(11, 9, 30))
	clock(11, 9, 5)

	rec, err := s.CommunicationRecord(ctx, at(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Since.Equal(at(10, 0, 0)) || !rec.At.Equal(at(11, 9, 5)) {
		t.Errorf("window %v to %v", rec.Since, rec.At)
	}
	if len(rec.Incidents) != 4 {
		t.Fatalf("%d incidents in the record, want 4", len(rec.Incidents))
	}
	min := time.Minute
	dur := func(d time.Duration) *time.Duration { return &d }
	for i, want := range []struct {
		inc                             *Incident
		report                          *time.Time
		kind                            string
		toFirstWord                     *time.Duration
		promises, kept, missed, pending int
		silence                         time.Duration
		silenceFrom                     time.Time
		ongoing                         bool
	}{
		{d, nil, "", nil, 1, 0, 0, 1, 15 * min, at(11, 8, 50), true},
		{c, promise(11, 7, 0), "affected", dur(60 * min), 1, 0, 1, 0, 65 * min, at(11, 8, 0), true},
		{b, nil, "", nil, 1, 1, 0, 0, 60 * min, at(10, 11, 0), false},
		{a, promise(10, 8, 0), "thread", dur(30 * min), 3, 2, 1, 0, 50 * min, at(10, 8, 55), false},
	} {
		got := rec.Incidents[i]
		if got.Incident.ID != want.inc.ID {
			t.Fatalf("incident %d is %d %q, want %d", i, got.Incident.ID, got.Incident.Title, want.inc.ID)
		}
		name := got.Incident.Title
		switch {
		case (got.FirstReport == nil) != (want.report == nil) || got.FirstReport != nil && !got.FirstReport.Equal(*want.report) || got.FirstReportKind != want.kind:
			t.Errorf("%s: first report %v (%q), want %v (%q)", name, got.FirstReport, got.FirstReportKind, want.report, want.kind)
		case (got.TimeToFirstWord == nil) != (want.toFirstWord == nil) || got.TimeToFirstWord != nil && *got.TimeToFirstWord != *want.toFirstWord:
			t.Errorf("%s: time to first word %v, want %v", name, got.TimeToFirstWord, want.toFirstWord)
		}
		if !got.FirstWord.Equal(want.inc.StartedAt) {
			t.Errorf("%s: first word %v, want the declaration %v", name, got.FirstWord, want.inc.StartedAt)
		}
		if got.Promises != want.promises || got.Kept != want.kept || got.Missed != want.missed || got.Pending != want.pending {
			t.Errorf("%s: promises %d = %d kept + %d missed + %d pending, want %d = %d + %d + %d", name,
				got.Promises, got.Kept, got.Missed, got.Pending, want.promises, want.kept, want.missed, want.pending)
		}
		if got.LongestSilence != want.silence || !got.SilenceFrom.Equal(want.silenceFrom) || got.SilenceOngoing != want.ongoing ||
			!got.SilenceUntil.Equal(want.silenceFrom.Add(want.silence)) {
			t.Errorf("%s: longest silence %v from %v to %v (ongoing %v), want %v from %v (ongoing %v)", name,
				got.LongestSilence, got.SilenceFrom, got.SilenceUntil, got.SilenceOngoing, want.silence, want.silenceFrom, want.ongoing)
		}
	}
	if rec.ReportedFirst != 2 || rec.MedianTimeToFirstWord == nil || *rec.MedianTimeToFirstWord != 45*min ||
		rec.LongestToFirstWord == nil || *rec.LongestToFirstWord != 60*min {
		t.Errorf("first word: %d reported first, median %v, longest %v; want 2, 45 min, 60 min", rec.ReportedFirst, rec.MedianTimeToFirstWord, rec.LongestToFirstWord)
	}
	if rec.Promises != 6 || rec.Kept != 3 || rec.Missed != 2 || rec.Pending != 1 {
		t.Errorf("promises %d = %d kept + %d missed + %d pending, want 6 = 3 + 2 + 1", rec.Promises, rec.Kept, rec.Missed, rec.Pending)
	}
	if rec.LongestSilence != 65*min || rec.LongestSilenceIncident != c.ID {
		t.Errorf("longest silence %v in incident %d, want 65 min in %d", rec.LongestSilence, rec.LongestSilenceIncident, c.ID)
	}

	// The same number of queries with more incidents.
	queries := countQueries(t, s)
	if _, err := s.CommunicationRecord(ctx, at(10, 0, 0)); err != nil {
		t.Fatal(err)
	}
	before := *queries
	for range 3 {
		advance(s, time.Minute)
		inc := declare("Another one", f.mail, nil)
		update(inc, StatusResolved, nil)
	}
	*queries = 0
	if _, err := s.CommunicationRecord(ctx, at(10, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if before != 4 || *queries != before {
		t.Errorf("the record took %d queries with 4 incidents and %d with 7, want 4", before, *queries)
	}

	// An empty window.
	empty, err := s.CommunicationRecord(ctx, at(12, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Incidents) != 0 || empty.MedianTimeToFirstWord != nil || empty.LongestSilenceIncident != 0 {
		t.Errorf("empty record: %+v", empty)
	}
}
