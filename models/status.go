package models

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"
)

// ComponentStatus is a service's state (Statuspage's component status).
type ComponentStatus string

const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// ComponentStatuses lists the statuses from best to worst; the index is the
// severity used to pick "the worst" of several.
var ComponentStatuses = []ComponentStatus{Operational, UnderMaintenance, DegradedPerformance, PartialOutage, MajorOutage}

// Severity orders statuses: higher is worse; unknown is -1.
func (c ComponentStatus) Severity() int { return slices.Index(ComponentStatuses, c) }

// Label is the status in words.
func (c ComponentStatus) Label() string {
	switch c {
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	case NoData:
		return "No data"
	}
	return "Operational"
}

func worse(a, b ComponentStatus) ComponentStatus {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// ServiceStatusChange records each change of a service's derived status;
// the dashboard's daily bars are computed from these rows.
type ServiceStatusChange struct {
	ID        int64
	ServiceID int64
	Status    ComponentStatus
	ChangedAt time.Time
}

// currentStatuses derives every service's status: the worst status any
// active incident or maintenance gives it, operational otherwise.
func currentStatuses(tx *gorm.DB) (map[int64]ComponentStatus, error) {
	var rows []IncidentService
	err := tx.Table("incident_services AS s").Select("s.service_id, s.status").
		Joins("JOIN incidents i ON i.id = s.incident_id").Where(activeSQL("i")).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[int64]ComponentStatus{}
	for _, r := range rows {
		out[r.ServiceID] = worse(out[r.ServiceID], r.Status)
	}
	return out, nil
}

// recordServiceStatuses appends a status change for every service whose
// derived status differs from its last recorded one. It runs in the same
// transaction as the change that caused it.
func (s *Store) recordServiceStatuses(tx *gorm.DB) error {
	now, err := currentStatuses(tx)
	if err != nil {
		return err
	}
	// Each service's last recorded status, read from the end of its part
	// of the (service_id, changed_at) index: the cost does not grow with
	// the history.
	var last []struct {
		ID     int64
		Status *ComponentStatus
	}
	if err := tx.Raw(lastStatusesSQL).Scan(&last).Error; err != nil {
		return err
	}
	for _, svc := range last {
		want, ok := now[svc.ID]
		if !ok {
			want = Operational
		}
		was := Operational
		if svc.Status != nil {
			was = *svc.Status
		}
		if want != was {
			if err := tx.Create(&ServiceStatusChange{ServiceID: svc.ID, Status: want, ChangedAt: s.now()}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// lastStatusesSQL reads each service's last recorded status (NULL: none).
const lastStatusesSQL = `SELECT s.id, (SELECT c.status FROM service_status_changes c WHERE c.service_id = s.id
		ORDER BY c.changed_at DESC, c.id DESC LIMIT 1) AS status
	FROM services s ORDER BY s.id`

// ServiceStatuses returns every service's current derived status; services
// missing from the map are operational.
func (s *Store) ServiceStatuses(ctx context.Context) (map[int64]ComponentStatus, error) {
	return currentStatuses(s.db.WithContext(ctx))
}

// Indicator is the overall status in Statuspage's terms.
type Indicator string

const (
	IndicatorNone        Indicator = "none"
	IndicatorMinor       Indicator = "minor"
	IndicatorMajor       Indicator = "major"
	IndicatorCritical    Indicator = "critical"
	IndicatorMaintenance Indicator = "maintenance"
)

// Description is Statuspage's sentence for the indicator.
func (i Indicator) Description() string {
	switch i {
	case IndicatorMinor:
		return "Minor Service Outage"
	case IndicatorMajor:
		return "Partial System Outage"
	case IndicatorCritical:
		return "Major System Outage"
	case IndicatorMaintenance:
		return "Service Under Maintenance"
	}
	return "All Systems Operational"
}

// OverallIndicator sums up the site: the worst of the open incidents'
// impacts and of the services' statuses (degraded performance counts as
// minor, a partial outage as major, a major outage as critical). When that
// is none but a service is under maintenance, the answer is maintenance.
func OverallIndicator(open []Incident, statuses map[int64]ComponentStatus) Indicator {
	levels := []Indicator{IndicatorNone, IndicatorMinor, IndicatorMajor, IndicatorCritical}
	worst, maintenance := 0, false
	raise := func(i Indicator) { worst = max(worst, slices.Index(levels, i)) }
	for _, inc := range open {
		if inc.Kind == KindIncident && inc.IsOpen() {
			raise(Indicator(inc.Impact))
		}
	}
	for _, st := range statuses {
		switch st {
		case DegradedPerformance:
			raise(IndicatorMinor)
		case PartialOutage:
			raise(IndicatorMajor)
		case MajorOutage:
			raise(IndicatorCritical)
		case UnderMaintenance:
			maintenance = true
		}
	}
	if worst == 0 && maintenance {
		return IndicatorMaintenance
	}
	return levels[worst]
}

// StatusSnapshot is the public status of the site at one moment. The
// dashboard, /api/v2 and the history feeds are all rendered from it, so they
// always agree. Everything in it is what a visitor may see.
type StatusSnapshot struct {
	At        time.Time                 // when it was read (the Store's clock, UTC)
	Services  []Service                 // the catalogue in display order
	Statuses  map[int64]ComponentStatus // each service's derived status; missing means operational
	Indicator Indicator                 // OverallIndicator of Open and Statuses
	// Open holds the incidents not resolved and the maintenance not
	// completed (at most MaxPerPage), newest first as ListIncidents orders.
	Open []Incident
	// Recent holds the newest StatusRecentSize incidents of kind incident,
	// open or not, and RecentMaintenance the newest StatusRecentSize
	// maintenances, completed or not; both newest first.
	Recent            []Incident
	RecentMaintenance []Incident
	// Updates holds, for every incident in Open, Recent and
	// RecentMaintenance, its official updates that a visitor may read
	// (hidden posts left out), newest first, with Post (and Post.Author)
	// and Transitions (and Transitions[i].Service) loaded.
	Updates  map[int64][]IncidentUpdate
	Affected map[int64]int // AffectedCounts of those incidents; missing means none
	// History holds every service's days and uptime over the last
	// StatusHistoryDays days (ServiceHistories), and Window the incidents
	// and maintenance that set a status in that time (IncidentsSince, at
	// most StatusWindowSize), for the days' details.
	History map[int64]ServiceHistory
	Window  []Incident
}

const (
	StatusRecentSize  = 50 // Statuspage lists 50 incidents and 50 maintenances
	StatusHistoryDays = 90 // the dashboard's daily bars
	StatusWindowSize  = 500
)

// StatusSnapshot reads the public status of the site in one read
// transaction, so its parts agree with each other, and in a fixed number of
// queries whatever the number of incidents. Incidents have their Services
// (with Service) loaded.
func (s *Store) StatusSnapshot(ctx context.Context) (*StatusSnapshot, error) {
	return s.statusSnapshot(ctx, nil)
}

// DashboardSnapshot is the StatusSnapshot of what the dashboard shows: of
// the closed incidents only those resolved since since (Recent), and no
// RecentMaintenance. The /api/v2 documents and the feeds list 50 of each
// with their updates; the dashboard a week's, so its cost follows the
// week, not the length of history.
func (s *Store) DashboardSnapshot(ctx context.Context, since time.Time) (*StatusSnapshot, error) {
	return s.statusSnapshot(ctx, &since)
}

func (s *Store) statusSnapshot(ctx context.Context, resolvedSince *time.Time) (*StatusSnapshot, error) {
	snap := &StatusSnapshot{At: s.now()}
	err := s.readSnapshot(ctx, func(rs *Store) error {
		// The daily bars end on the day of At, whatever the clock says by
		// the time they are read.
		rs.Now = func() time.Time { return snap.At }
		var err error
		if snap.Services, err = rs.ListServices(ctx); err != nil {
			return err
		}
		if snap.Statuses, err = rs.ServiceStatuses(ctx); err != nil {
			return err
		}
		if snap.History, err = rs.ServiceHistories(ctx, snap.Services, StatusHistoryDays); err != nil {
			return err
		}
		if snap.Window, err = rs.IncidentsSince(ctx, HistoryStart(snap.At, StatusHistoryDays), StatusWindowSize); err != nil {
			return err
		}
		open, closed := true, false
		lists := []struct {
			f    IncidentFilter
			size int
			out  *[]Incident
		}{
			{IncidentFilter{Open: &open}, MaxPerPage, &snap.Open},
			{IncidentFilter{Kind: KindIncident}, StatusRecentSize, &snap.Recent},
			{IncidentFilter{Kind: KindMaintenance}, StatusRecentSize, &snap.RecentMaintenance},
		}
		if resolvedSince != nil {
			lists[1].f = IncidentFilter{Kind: KindIncident, Open: &closed, Since: resolvedSince}
			lists = lists[:2]
		}
		for _, l := range lists {
			got, err := rs.ListIncidents(ctx, l.f, Page{PerPage: l.size})
			if err != nil {
				return err
			}
			*l.out = got.Items
		}
		// An incident is often in two lists (open and recent); it is read
		// once.
		var ids []int64
		seen := map[int64]bool{}
		for _, list := range [][]Incident{snap.Open, snap.Recent, snap.RecentMaintenance} {
			for _, inc := range list {
				if !seen[inc.ID] {
					seen[inc.ID] = true
					ids = append(ids, inc.ID)
				}
			}
		}
		updates, err := rs.IncidentUpdates(ctx, nil, 0, ids...)
		if err != nil {
			return err
		}
		snap.Updates = make(map[int64][]IncidentUpdate, len(ids))
		for _, u := range updates { // newest first, so each incident's are too
			snap.Updates[u.IncidentID] = append(snap.Updates[u.IncidentID], u)
		}
		snap.Affected, err = rs.AffectedCounts(ctx, ids...)
		return err
	})
	if err != nil {
		return nil, err
	}
	snap.Indicator = OverallIndicator(snap.Open, snap.Statuses)
	return snap, nil
}
