package models

import (
	"context"
	"time"
)

// Temporary stand-in, replaced by status.go from the models split.
type StatusSnapshot struct {
	At                time.Time
	Services          []Service
	Statuses          map[int64]ComponentStatus
	Indicator         Indicator
	Open              []Incident
	Recent            []Incident
	RecentMaintenance []Incident
	Updates           map[int64][]IncidentUpdate
	Affected          map[int64]int
	History           map[int64][]ComponentStatus
}

const (
	StatusRecentSize  = 50
	StatusHistoryDays = 90
)

func (s *Store) StatusSnapshot(ctx context.Context) (*StatusSnapshot, error) {
	snap := &StatusSnapshot{At: s.now()}
	var err error
	if snap.Services, err = s.ListServices(ctx); err != nil {
		return nil, err
	}
	if snap.Statuses, err = s.ServiceStatuses(ctx); err != nil {
		return nil, err
	}
	yes := true
	all := Page{PerPage: MaxPerPage}
	open, err := s.ListIncidents(ctx, IncidentFilter{Open: &yes}, all)
	if err != nil {
		return nil, err
	}
	snap.Open = open.Items
	rec, err := s.ListIncidents(ctx, IncidentFilter{Kind: KindIncident}, Page{PerPage: StatusRecentSize})
	if err != nil {
		return nil, err
	}
	snap.Recent = rec.Items
	rm, err := s.ListIncidents(ctx, IncidentFilter{Kind: KindMaintenance}, Page{PerPage: StatusRecentSize})
	if err != nil {
		return nil, err
	}
	snap.RecentMaintenance = rm.Items
	seen := map[int64]bool{}
	var ids []int64
	for _, l := range [][]Incident{snap.Open, snap.Recent, snap.RecentMaintenance} {
		for _, i := range l {
			if !seen[i.ID] {
				seen[i.ID] = true
				ids = append(ids, i.ID)
			}
		}
	}
	ups, err := s.IncidentUpdates(ctx, nil, 0, ids...)
	if err != nil {
		return nil, err
	}
	snap.Updates = map[int64][]IncidentUpdate{}
	for _, u := range ups {
		snap.Updates[u.IncidentID] = append(snap.Updates[u.IncidentID], u)
	}
	if snap.Affected, err = s.AffectedCounts(ctx, ids...); err != nil {
		return nil, err
	}
	if snap.History, err = s.DailyStatuses(ctx, StatusHistoryDays); err != nil {
		return nil, err
	}
	snap.Indicator = OverallIndicator(snap.Open, snap.Statuses)
	return snap, nil
}

const (
	FlagsPerPage     = 25
	AuditPerPage     = 50
	UsersPerPage     = 50
	UserPostsPerPage = 25
	SearchPerPage    = 20
)
