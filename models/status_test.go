package models

import (
	"context"
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
	want := []ComponentStatus{Operational, Operational, PartialOutage, PartialOutage, Operational}
	if !slices.Equal(bars[f.mail.ID], want) {
		t.Fatalf("mail bars %v, want %v", bars[f.mail.ID], want)
	}
	if _, ok := bars[f.dash.ID]; ok {
		t.Fatalf("dashboard never changed but has bars %v", bars[f.dash.ID])
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
