package models

import (
	"context"
	"math"
	"time"
)

// NoData is the daily status of a day that ended before the service was
// added to the catalogue: nothing was recorded, so nothing is claimed.
const NoData ComponentStatus = "no_data"

// Uptime weights: how much of a minute in each status counts as down.
// They are Statuspage's: a major outage counts fully, a partial outage as
// 30 %, degraded performance and maintenance not at all.
var uptimeWeights = map[ComponentStatus]float64{MajorOutage: 1, PartialOutage: 0.3}

// Uptime is a service's availability over the observed part of a window:
// from the window's start, or from when the service was added if that was
// later, until the moment the history was read.
type Uptime struct {
	Since    time.Time     // start of the observed time
	Observed time.Duration // how long the service was observed
	// Down is the weighted time down: the time in major outage plus 30 %
	// of the time in partial outage.
	Down time.Duration
}

// Known tells whether any time was observed at all.
func (u Uptime) Known() bool { return u.Observed > 0 }

// Percent is 100 × (1 − Down / Observed), rounded down to hundredths so that
// any downtime at all shows below 100. It is 0 when nothing was observed
// (see Known).
func (u Uptime) Percent() float64 {
	if !u.Known() {
		return 0
	}
	p := 100 * (1 - float64(u.Down)/float64(u.Observed))
	return math.Floor(p*100+1e-9) / 100
}

// ServiceHistory is one service over the dashboard's window.
type ServiceHistory struct {
	// Days holds each UTC day's status, oldest first, today last: the
	// worst of the status in effect when the day began (or when the
	// service was added, that day) and every status recorded during it;
	// NoData for days that ended before the service was added.
	Days   []ComponentStatus
	Uptime Uptime
}

// HistoryStart is the first moment of a window of days UTC days ending
// with the day of at: 00:00 UTC, days-1 days before at's day.
func HistoryStart(at time.Time, days int) time.Time {
	return at.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
}

// ServiceHistories reads the recorded status changes of the last days UTC
// days (today included) and gives every service in services its daily
// statuses and its uptime over that window, up to now. One query.
func (s *Store) ServiceHistories(ctx context.Context, services []Service, days int) (map[int64]ServiceHistory, error) {
	at := s.now().UTC()
	start := HistoryStart(at, days)
	changes, err := s.statusChanges(ctx, services, start)
	if err != nil {
		return nil, err
	}
	byService := map[int64][]ServiceStatusChange{}
	for _, c := range changes {
		byService[c.ServiceID] = append(byService[c.ServiceID], c)
	}
	out := make(map[int64]ServiceHistory, len(services))
	for _, svc := range services {
		out[svc.ID] = serviceHistory(byService[svc.ID], svc.CreatedAt.UTC(), start, at, days)
	}
	return out, nil
}

// statusChangesSQL reads, for the services named, the last status change
// before the window (the state it opens with) and every change inside it,
// each from the (service_id, changed_at) index: its cost follows the
// window, never the length of history (TestStatusChangesPlan).
const statusChangesSQL = `SELECT id, service_id, status, changed_at FROM service_status_changes
	WHERE service_id IN ? AND changed_at >= ?
	UNION ALL
	SELECT c.id, c.service_id, c.status, c.changed_at FROM services s
	JOIN service_status_changes c ON c.id = (SELECT l.id FROM service_status_changes l
		WHERE l.service_id = s.id AND l.changed_at < ? ORDER BY l.changed_at DESC, l.id DESC LIMIT 1)
	WHERE s.id IN ?
	ORDER BY 2, 4, 1`

// statusChanges runs statusChangesSQL, scanned by hand.
func (s *Store) statusChanges(ctx context.Context, services []Service, start time.Time) ([]ServiceStatusChange, error) {
	if len(services) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(services))
	for i, svc := range services {
		ids[i] = svc.ID
	}
	rows, err := s.db.WithContext(ctx).Raw(statusChangesSQL, ids, start, start, ids).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var changes []ServiceStatusChange
	for rows.Next() {
		var c ServiceStatusChange
		if err := rows.Scan(&c.ID, &c.ServiceID, &c.Status, &c.ChangedAt); err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	return changes, rows.Err()
}

// statusSpan is a status and when it took effect.
type statusSpan struct {
	from   time.Time
	status ComponentStatus
}

// serviceHistory computes one service's days and uptime from its changes
// (oldest first: at most one before start, then those inside the window),
// for a service added at created, over the window of days days from start
// until at.
func serviceHistory(changes []ServiceStatusChange, created, start, at time.Time, days int) ServiceHistory {
	// The service's timeline from the window's start: operational until
	// the first change, unless a change before the window says otherwise.
	spans := []statusSpan{{start, Operational}}
	for _, c := range changes {
		if c.ChangedAt.Before(start) {
			spans[0].status = c.Status
			continue
		}
		spans = append(spans, statusSpan{c.ChangedAt.UTC(), c.Status})
	}
	// statusAt is the status in effect at t (the last span begun by then).
	statusAt := func(t time.Time) ComponentStatus {
		st := spans[0].status
		for _, sp := range spans {
			if sp.from.After(t) {
				break
			}
			st = sp.status
		}
		return st
	}
	h := ServiceHistory{Days: make([]ComponentStatus, days)}
	for d := range days {
		dayStart, dayEnd := start.AddDate(0, 0, d), start.AddDate(0, 0, d+1)
		if !dayEnd.After(created) {
			h.Days[d] = NoData
			continue
		}
		from := dayStart
		if created.After(from) {
			from = created
		}
		worst := statusAt(from)
		for _, sp := range spans {
			if sp.from.After(from) && sp.from.Before(dayEnd) {
				worst = worse(worst, sp.status)
			}
		}
		h.Days[d] = worst
	}
	// Uptime: every span clipped to the observed time, weighted.
	since := start
	if created.After(since) {
		since = created
	}
	h.Uptime.Since = since
	if !at.After(since) {
		return h
	}
	h.Uptime.Observed = at.Sub(since)
	var down float64
	for i, sp := range spans {
		from, until := sp.from, at
		if i+1 < len(spans) {
			until = spans[i+1].from
		}
		if from.Before(since) {
			from = since
		}
		if until.After(at) {
			until = at
		}
		if until.After(from) {
			down += uptimeWeights[sp.status] * float64(until.Sub(from))
		}
	}
	h.Uptime.Down = time.Duration(math.Round(down))
	return h
}

// DailyStatuses gives every service's daily statuses over the last days UTC
// days, oldest first, today last (see ServiceHistory.Days).
func (s *Store) DailyStatuses(ctx context.Context, days int) (map[int64][]ComponentStatus, error) {
	services, err := s.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := s.ServiceHistories(ctx, services, days)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]ComponentStatus, len(hs))
	for id, h := range hs {
		out[id] = h.Days
	}
	return out, nil
}

// IncidentsSince lists the incidents and maintenance windows that set a
// status at some time since from: incidents declared by now and not
// resolved before from, maintenance that has begun (neither only scheduled
// nor cancelled) and was not completed before from; newest first, at most
// limit, with their services (without the catalogue entries).
//
// The open ones and those resolved since from are found apart, each from
// the (resolved_at, kind) index, so the cost follows the window and not
// the length of history (TestIncidentsSincePlan); walking the started_at
// index in order instead read every incident ever resolved.
func (s *Store) IncidentsSince(ctx context.Context, from time.Time, limit int) ([]Incident, error) {
	var out []Incident
	err := s.db.WithContext(ctx).Preload("Services").Where(incidentsSinceSQL, from, s.now(), StatusScheduled).
		Order("started_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// incidentsSinceSQL is IncidentsSince's condition.
const incidentsSinceSQL = `id IN (SELECT id FROM incidents WHERE resolved_at IS NULL
	UNION ALL SELECT id FROM incidents WHERE resolved_at >= ?)
	AND started_at <= ? AND NOT (kind = 'maintenance' AND status = ?) AND cancelled_at IS NULL`
