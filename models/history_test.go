package models

import (
	"context"
	"strings"
	"testing"
	"time"
)

// uptimeFixture is a fixed history on a 90-day window from 1 January 2026
// 00:00 UTC to 31 March 2026 12:00 UTC: Mail, in the catalogue since
// December, with known outages; Chat, added ten days before the end.
type uptimeFixture struct {
	s          *Store
	mail, chat *Service
}

func newUptimeFixture(t *testing.T) *uptimeFixture {
	t.Helper()
	ctx := context.Background()
	s := newTestStore(t)
	at := func(month time.Month, day, hour int) {
		setClock(s, time.Date(2026, month, day, hour, 0, 0, 0, time.UTC))
	}
	setClock(s, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))
	staff := mustUser(t, s, "carol", RoleStaff)
	mail, err := s.CreateService(ctx, nil, NewService{Name: "Mail", Position: 1})
	if err != nil {
		t.Fatal(err)
	}
	declare := func(svc *Service, st ComponentStatus) *Incident {
		t.Helper()
		inc, err := s.DeclareIncident(ctx, staff, NewIncident{Kind: KindIncident, Title: "Trouble with " + svc.Name, Impact: "major",
			Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{svc.ID, st}}})
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	resolve := func(inc *Incident) {
		t.Helper()
		if _, err := s.PostUpdate(ctx, staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
			t.Fatal(err)
		}
	}
	// A major outage across the window's start: 2 h of it inside.
	setClock(s, time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC))
	inc := declare(mail, MajorOutage)
	at(1, 1, 2)
	resolve(inc)
	// 10 February, 10:00 to 20:00: a partial outage (3 h down).
	at(2, 10, 10)
	inc = declare(mail, PartialOutage)
	at(2, 10, 20)
	resolve(inc)
	// 20 February: degraded for 5 h (not down).
	at(2, 20, 1)
	inc = declare(mail, DegradedPerformance)
	at(2, 20, 6)
	resolve(inc)
	// 1 March: maintenance from 02:00 to 05:00 (not down).
	at(3, 1, 0)
	from, until := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC)
	if _, err := s.DeclareIncident(ctx, staff, NewIncident{Kind: KindMaintenance, Title: "Mail upgrade", Body: "Upgrading.",
		ScheduledFor: &from, ScheduledUntil: &until, Services: []ServiceChange{{mail.ID, UnderMaintenance}}}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []int{2, 5} {
		at(3, 1, h)
		if _, err := s.AdvanceMaintenance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 5 March: partial 08:00-09:00, major 09:00-10:00 (a second incident),
	// partial again 10:00-12:00 (1.9 h down).
	at(3, 5, 8)
	partial := declare(mail, PartialOutage)
	at(3, 5, 9)
	major := declare(mail, MajorOutage)
	at(3, 5, 10)
	resolve(major)
	at(3, 5, 12)
	resolve(partial)
	// Chat is added on 21 March at 12:00, ten days before the end, and
	// has a partial outage on 25 March from 00:00 to 06:00 (1.8 h down).
	at(3, 21, 12)
	chat, err := s.CreateService(ctx, nil, NewService{Name: "Chat", Position: 2})
	if err != nil {
		t.Fatal(err)
	}
	at(3, 25, 0)
	inc = declare(chat, PartialOutage)
	at(3, 25, 6)
	resolve(inc)
	// 31 March: a major outage on mail since 11:00, open at 12:00 (1 h).
	at(3, 31, 11)
	declare(mail, MajorOutage)
	at(3, 31, 12)
	return &uptimeFixture{s: s, mail: mail, chat: chat}
}

// TestUptime: the weighted time down over the observed time, by time, not
// by whole days; a new service is observed from when it was added.
func TestUptime(t *testing.T) {
	f := newUptimeFixture(t)
	services, err := f.s.ListServices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hs, err := f.s.ServiceHistories(context.Background(), services, StatusHistoryDays)
	if err != nil {
		t.Fatal(err)
	}
	windowStart := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := HistoryStart(f.s.now(), StatusHistoryDays); !got.Equal(windowStart) {
		t.Fatalf("window starts %v, want %v", got, windowStart)
	}
	mail := hs[f.mail.ID].Uptime
	// Observed: 89 days and 12 hours. Down: 2 h + 3 h + 1.9 h + 1 h.
	if mail.Observed != (89*24+12)*time.Hour || mail.Down != 7*time.Hour+54*time.Minute || !mail.Since.Equal(windowStart) {
		t.Errorf("mail: observed %v, down %v, since %v", mail.Observed, mail.Down, mail.Since)
	}
	// 1 - 7.9 / 2148 = 99.6322...%, rounded down.
	if got := mail.Percent(); got != 99.63 {
		t.Errorf("mail uptime %v, want 99.63", got)
	}
	chat := hs[f.chat.ID].Uptime
	if chat.Observed != 240*time.Hour || chat.Down != 108*time.Minute || !chat.Since.Equal(time.Date(2026, 3, 21, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("chat: observed %v, down %v, since %v", chat.Observed, chat.Down, chat.Since)
	}
	if got := chat.Percent(); got != 99.25 {
		t.Errorf("chat uptime %v, want 99.25", got)
	}

	day := func(month time.Month, d int) int {
		return int(time.Date(2026, month, d, 0, 0, 0, 0, time.UTC).Sub(windowStart) / (24 * time.Hour))
	}
	mailDays := hs[f.mail.ID].Days
	for d, want := range map[int]ComponentStatus{
		day(1, 1): MajorOutage, day(1, 2): Operational, day(2, 10): PartialOutage, day(2, 20): DegradedPerformance,
		day(3, 1): UnderMaintenance, day(3, 5): MajorOutage, day(3, 6): Operational, day(3, 31): MajorOutage,
	} {
		if mailDays[d] != want {
			t.Errorf("mail, day %d: %s, want %s", d, mailDays[d], want)
		}
	}
	chatDays := hs[f.chat.ID].Days
	for d, st := range chatDays {
		want := Operational
		switch {
		case d < day(3, 21):
			want = NoData
		case d == day(3, 25):
			want = PartialOutage
		}
		if st != want {
			t.Errorf("chat, day %d: %s, want %s", d, st, want)
		}
	}

	// Nothing observed yet: no uptime to speak of.
	if (Uptime{}).Known() || (Uptime{}).Percent() != 0 {
		t.Error("an empty uptime is known")
	}
	// Any downtime at all shows below 100.
	if got := (Uptime{Observed: 90 * 24 * time.Hour, Down: time.Second}).Percent(); got != 99.99 {
		t.Errorf("a second down in 90 days: %v, want 99.99", got)
	}
}

// TestIncidentsSince: what the days' details name.
func TestIncidentsSince(t *testing.T) {
	f := newUptimeFixture(t)
	ctx := context.Background()
	// Scheduled maintenance that has not begun is not named.
	from, until := f.s.now().Add(time.Hour), f.s.now().Add(2*time.Hour)
	staff, err := f.s.UserByName(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeclareIncident(ctx, staff, NewIncident{Kind: KindMaintenance, Title: "Later", Body: "Soon.",
		ScheduledFor: &from, ScheduledUntil: &until, Services: []ServiceChange{{f.chat.ID, UnderMaintenance}}}); err != nil {
		t.Fatal(err)
	}
	// Nor is maintenance cancelled before it began, once its time has come.
	from, until = f.s.now().Add(30*time.Minute), f.s.now().Add(50*time.Minute)
	cancelled, err := f.s.DeclareIncident(ctx, staff, NewIncident{Kind: KindMaintenance, Title: "Cancelled", Body: "Soon.",
		ScheduledFor: &from, ScheduledUntil: &until, Services: []ServiceChange{{f.chat.ID, UnderMaintenance}}})
	if err != nil {
		t.Fatal(err)
	}
	advance(f.s, 10*time.Minute)
	if _, err := f.s.PostUpdate(ctx, staff, cancelled.ID, NewUpdate{Status: StatusCompleted, Body: "Not needed."}); err != nil {
		t.Fatal(err)
	}
	advance(f.s, 30*time.Minute)
	list, err := f.s.IncidentsSince(ctx, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, inc := range list {
		if len(inc.Services) != 1 {
			t.Errorf("incident %d without its services", inc.ID)
		}
		titles = append(titles, inc.Title)
	}
	want := []string{"Trouble with Mail", "Trouble with Chat", "Trouble with Mail", "Trouble with Mail", "Mail upgrade"}
	if len(titles) != len(want) {
		t.Fatalf("incidents since 1 March: %q, want %q", titles, want)
	}
	for i := range want {
		if titles[i] != want[i] {
			t.Fatalf("incidents since 1 March: %q, want %q", titles, want)
		}
	}
}

// TestStatusChangesPlan: the dashboard's bars read the status changes of
// the window and the last one before it from the (service_id, changed_at)
// index, never by scanning the history, however long it is.
func TestStatusChangesPlan(t *testing.T) {
	s := newSQLiteStore(t) // SQLite's plans
	var plan []struct{ Detail string }
	at := time.Now()
	if err := s.db.Raw("EXPLAIN QUERY PLAN "+statusChangesSQL, []int64{1, 2}, at, at, []int64{1, 2}).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.HasPrefix(step.Detail, "SCAN") && !strings.Contains(step.Detail, "INDEX") && !strings.Contains(step.Detail, "CONSTANT ROW") {
			t.Errorf("a scan: %+v", plan)
		}
	}
}

// TestLastStatusesPlan: a change that records the services' statuses
// reads each one's last status from the end of its part of the
// (service_id, changed_at) index, so an official update costs the same
// after years of history (it read every change, each with a search, when
// this was a MAX(id) per row).
func TestLastStatusesPlan(t *testing.T) {
	s := newSQLiteStore(t) // SQLite's plans
	var plan []struct{ Detail string }
	if err := s.db.Raw("EXPLAIN QUERY PLAN " + lastStatusesSQL).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.Contains(step.Detail, "TEMP B-TREE") || strings.HasPrefix(step.Detail, "SCAN") && step.Detail != "SCAN s" {
			t.Errorf("a scan or a sort of the history: %+v", plan)
		}
	}
}

// TestIncidentsSincePlan: the dashboard's window of incidents is found
// from the resolved_at index, never by reading every incident.
func TestIncidentsSincePlan(t *testing.T) {
	s := newSQLiteStore(t) // SQLite's plans
	var plan []struct{ Detail string }
	at := time.Now()
	if err := s.db.Raw("EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE "+incidentsSinceSQL+" ORDER BY started_at DESC, id DESC LIMIT 500",
		at, at, StatusScheduled).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.HasPrefix(step.Detail, "SCAN") && !strings.Contains(step.Detail, "CONSTANT ROW") {
			t.Errorf("a scan: %+v", plan)
		}
	}
}
