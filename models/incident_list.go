package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// IncidentByID returns an incident with its services and thread.
func (s *Store) IncidentByID(ctx context.Context, id int64) (*Incident, error) {
	var inc Incident
	err := s.db.WithContext(ctx).Preload("Thread").Scopes(withServices).First(&inc, id).Error
	if err != nil {
		return nil, translate(err)
	}
	return &inc, nil
}

// withServices loads an incident's services in display order, each with
// its catalogue entry.
func withServices(db *gorm.DB) *gorm.DB {
	return db.Preload("Services", func(db *gorm.DB) *gorm.DB {
		return db.Joins("JOIN services ON services.id = incident_services.service_id").Order("services.position, services.id")
	}).Preload("Services.Service")
}

// IncidentsByIDs reads incidents with their services, in id order.
func (s *Store) IncidentsByIDs(ctx context.Context, ids []int64) ([]Incident, error) {
	var out []Incident
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Scopes(withServices).Where("id IN ?", ids).Order("id").Find(&out).Error
	return out, err
}

// IncidentFilter narrows incident lists.
type IncidentFilter struct {
	Kind   Kind   // "" for both
	Open   *bool  // nil for both
	Active *bool  // maintenance: in progress or verifying
	Month  string // YYYY-MM of started_at, "" for all
	// Since keeps incidents resolved at or after it (with Open false).
	Since *time.Time
}

// ListIncidents lists incidents newest first (maintenance by its window),
// services loaded.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter, p Page) (Paged[Incident], error) {
	p = p.Normalize(IncidentsPerPage)
	db := s.db.WithContext(ctx).Scopes(withServices)
	if f.Kind != "" {
		db = db.Where("kind = ?", f.Kind)
	}
	if f.Open != nil {
		if *f.Open {
			db = db.Where("resolved_at IS NULL")
		} else {
			db = db.Where("resolved_at IS NOT NULL")
		}
	}
	if f.Active != nil {
		if *f.Active {
			db = db.Where(activeSQL("incidents"))
		} else {
			db = db.Where("NOT " + activeSQL("incidents"))
		}
	}
	if f.Month != "" {
		m, err := time.Parse("2006-01", f.Month)
		if err != nil {
			return Paged[Incident]{}, &ValidationError{Fields: map[string]string{"month": "A month is written YYYY-MM."}}
		}
		db = db.Where("started_at >= ? AND started_at < ?", m, m.AddDate(0, 1, 0))
	}
	if f.Since != nil {
		db = db.Where("resolved_at >= ?", *f.Since)
	}
	var out []Incident
	err := db.Order("started_at DESC, id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// IncidentMonths lists the months (YYYY-MM) that have incidents, newest
// first, for the history page's navigation.
func (s *Store) IncidentMonths(ctx context.Context) ([]string, error) {
	month := "strftime('%Y-%m', started_at)"
	if s.pg {
		month = "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM')"
	}
	var out []string
	err := s.db.WithContext(ctx).Model(&Incident{}).Distinct(month+" AS m").
		Order("m DESC").Pluck("m", &out).Error
	return out, err
}

// OverdueIncidents lists open incidents whose promised update is late, most
// overdue first.
func (s *Store) OverdueIncidents(ctx context.Context) ([]Incident, error) {
	var out []Incident
	err := s.db.WithContext(ctx).Where("resolved_at IS NULL AND next_update_at < ?", s.now()).
		Order("next_update_at").Limit(MaxPerPage).Find(&out).Error
	return out, err
}

// AffectedCounts gives each incident's affected count: the distinct people
// marked affected on its thread or on any thread linked to it.
func (s *Store) AffectedCounts(ctx context.Context, incidentIDs ...int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(incidentIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		IncidentID int64
		N          int
	}
	err := s.db.WithContext(ctx).Raw(`SELECT t.incident_id, COUNT(DISTINCT m.user_id) AS n
		FROM threads t JOIN affected_marks m ON m.thread_id = t.id
		WHERE t.incident_id IN ? GROUP BY t.incident_id`, incidentIDs).Scan(&rows).Error
	for _, r := range rows {
		out[r.IncidentID] = r.N
	}
	return out, err
}

// LinkedThreads lists the customer threads linked to an incident, latest
// activity first.
func (s *Store) LinkedThreads(ctx context.Context, inc *Incident) ([]Thread, error) {
	var out []Thread
	err := s.db.WithContext(ctx).Preload("Author").Where("incident_id = ? AND id <> ? AND merged_into_id IS NULL", inc.ID, inc.ThreadID).
		Order("last_activity_at DESC, id DESC").Limit(MaxPerPage).Find(&out).Error
	return out, err
}
