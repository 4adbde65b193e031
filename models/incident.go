package models

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Kind tells an unplanned incident from scheduled maintenance.
type Kind string

const (
	KindIncident    Kind = "incident"
	KindMaintenance Kind = "maintenance"
)

// Incident and maintenance statuses (Statuspage's value sets).
const (
	StatusInvestigating = "investigating"
	StatusIdentified    = "identified"
	StatusMonitoring    = "monitoring"
	StatusResolved      = "resolved"
	StatusScheduled     = "scheduled"
	StatusInProgress    = "in_progress"
	StatusVerifying     = "verifying"
	StatusCompleted     = "completed"
)

// Statuses lists the statuses an incident of kind k may take, in lifecycle
// order.
func (k Kind) Statuses() []string {
	if k == KindMaintenance {
		return []string{StatusScheduled, StatusInProgress, StatusVerifying, StatusCompleted}
	}
	return []string{StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved}
}

// Impacts an incident may declare; maintenance always has impact
// "maintenance".
var Impacts = []string{"none", "minor", "major", "critical"}

// Incident is an outage or a maintenance window, told in its own thread.
type Incident struct {
	ID             int64
	ThreadID       int64
	Thread         *Thread `gorm:"foreignKey:ThreadID"`
	Kind           Kind
	Title          string
	Status         string
	Impact         string
	NextUpdateAt   *time.Time
	StartedAt      time.Time
	MonitoringAt   *time.Time
	ResolvedAt     *time.Time // also "completed" for maintenance
	CancelledAt    *time.Time // maintenance completed before it started
	ScheduledFor   *time.Time
	ScheduledUntil *time.Time
	Postmortem     string
	PostmortemHTML template.HTML `gorm:"column:postmortem_html"`
	PostmortemAt   *time.Time
	CreatedByID    int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Services       []IncidentService `gorm:"foreignKey:IncidentID"`
}

// IncidentService is a service an incident affects and the status the
// incident gives it.
type IncidentService struct {
	IncidentID int64    `gorm:"primaryKey;autoIncrement:false"`
	ServiceID  int64    `gorm:"primaryKey;autoIncrement:false"`
	Service    *Service `gorm:"foreignKey:ServiceID"`
	Status     ComponentStatus
}

// IsOpen tells whether the incident still needs attention: an incident not
// yet resolved, or maintenance not yet completed.
func (i *Incident) IsOpen() bool { return i.ResolvedAt == nil }

// State is the incident's status in words, "Cancelled" for maintenance
// called off before it started.
func (i *Incident) State() string {
	if i.CancelledAt != nil {
		return "Cancelled"
	}
	return StatusLabel(i.Status)
}

// Active tells whether the incident currently sets its services' statuses:
// an open incident, or maintenance in progress or being verified.
func (i *Incident) Active() bool {
	if i.Kind == KindMaintenance {
		return i.Status == StatusInProgress || i.Status == StatusVerifying
	}
	return i.IsOpen()
}

// Overdue tells how long ago the promised next update was due; zero when
// nothing is promised or the promise still holds.
func (i *Incident) Overdue(now time.Time) time.Duration {
	if i.NextUpdateAt == nil || !i.IsOpen() || !now.After(*i.NextUpdateAt) {
		return 0
	}
	return now.Sub(*i.NextUpdateAt)
}

// activeSQL is Active as a WHERE clause on incidents aliased as alias.
func activeSQL(alias string) string {
	return fmt.Sprintf("(%[1]s.resolved_at IS NULL AND (%[1]s.kind = 'incident' OR %[1]s.status IN ('in_progress','verifying')))", alias)
}

// ServiceChange sets one service's status in an incident or an update.
type ServiceChange struct {
	ServiceID int64
	Status    ComponentStatus
}

// NewIncident is the input for declaring an incident or scheduling
// maintenance.
type NewIncident struct {
	Kind     Kind
	Title    string
	Impact   string // incidents only
	Status   string // incidents only; maintenance starts "scheduled"
	Body     string
	Services []ServiceChange
	// NextUpdateAt and NoPromise work as in NewUpdate.
	NextUpdateAt *time.Time
	NoPromise    bool
	// The maintenance window.
	ScheduledFor   *time.Time
	ScheduledUntil *time.Time
}

// checkServices checks the services an incident or update names: each once,
// with a known status (maintenance only puts services under maintenance),
// all from the catalogue.
func (s *Store) checkServices(tx *gorm.DB, v validation, changes []ServiceChange, kind Kind) error {
	seen := map[int64]bool{}
	ids := make([]int64, 0, len(changes))
	for _, c := range changes {
		if seen[c.ServiceID] {
			v.add("services", "Each service is listed once.")
		}
		seen[c.ServiceID] = true
		ids = append(ids, c.ServiceID)
		switch {
		case kind == KindMaintenance && c.Status != UnderMaintenance:
			v.add("services", "Maintenance puts its services under maintenance.")
		case c.Status.Severity() < 0:
			v.add("services", "A service status is one of operational, degraded_performance, partial_outage, major_outage, under_maintenance.")
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var n int64
	if err := tx.Model(&Service{}).Where("id IN ?", ids).Count(&n).Error; err != nil {
		return err
	}
	if int(n) != len(ids) {
		v.add("services", "Choose services from the catalogue.")
	}
	return nil
}

// MaxPromise is how far ahead a next update may be promised.
const MaxPromise = 7 * 24 * time.Hour

// DefaultUpdateCadence is the promise an open incident gets by default.
const DefaultUpdateCadence = 30 * time.Minute

// checkNextUpdate validates a promised update time and returns it in UTC.
func (s *Store) checkNextUpdate(v validation, t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	switch {
	case !t.After(s.now()):
		v.add("next_update_at", "The next update time must be in the future.")
	case t.After(s.now().Add(MaxPromise)):
		v.add("next_update_at", "Promise the next update within 7 days.")
	}
	u := t.UTC()
	return &u
}

// DeclareIncident opens an incident (or schedules maintenance) with its
// thread and first official update, in one transaction. Only staff may.
func (s *Store) DeclareIncident(ctx context.Context, author *User, in NewIncident) (*Incident, error) {
	if !author.Role.IsStaff() {
		return nil, ErrForbidden
	}
	// A silence stops official statements too.
	if err := author.Silenced(s.now()); err != nil {
		return nil, err
	}
	v := validation{}
	title := cleanTitle(v, in.Title)
	checkBody(v, &in.Body)
	now := s.now()
	inc := &Incident{Kind: in.Kind, Title: title, Status: in.Status, Impact: in.Impact, StartedAt: now, CreatedByID: author.ID}
	switch in.Kind {
	case KindIncident:
		if !slices.Contains(Impacts, in.Impact) {
			v.add("impact", "Impact is one of none, minor, major, critical.")
		}
		if !slices.Contains(KindIncident.Statuses(), in.Status) {
			v.add("status", "Status is one of investigating, identified, monitoring, resolved.")
		}
		if in.Status == StatusResolved {
			v.add("status", "A new incident cannot start resolved.")
		}
		if len(in.Services) == 0 {
			v.add("services", "Choose at least one affected service.")
		}
		inc.NextUpdateAt = s.promise(v, in.Kind, in.Status, in.NextUpdateAt, in.NoPromise)
		if in.Status == StatusMonitoring {
			inc.MonitoringAt = &now
		}
	case KindMaintenance:
		inc.Status, inc.Impact = StatusScheduled, "maintenance"
		switch {
		case in.ScheduledFor == nil || in.ScheduledUntil == nil:
			v.add("scheduled_for", "Give the start and end of the window.")
		case !in.ScheduledUntil.After(*in.ScheduledFor):
			v.add("scheduled_until", "The window ends after it starts.")
		case !in.ScheduledUntil.After(now):
			v.add("scheduled_until", "The window must end in the future.")
		default:
			f, u := in.ScheduledFor.UTC(), in.ScheduledUntil.UTC()
			inc.ScheduledFor, inc.ScheduledUntil, inc.StartedAt = &f, &u, f
		}
		if len(in.Services) == 0 {
			v.add("services", "Choose at least one service.")
		}
	default:
		v.add("kind", "Kind is incident or maintenance.")
	}
	var html template.HTML
	if len(v) == 0 { // rendered only once the rest is valid
		html = s.renderBody(ctx, v, &in.Body)
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := s.checkServices(tx, v, in.Services, in.Kind); err != nil {
			return err
		}
		if err := v.err(); err != nil {
			return err
		}
		th := &Thread{Title: title, AuthorID: author.ID, LastActivityAt: now}
		if len(in.Services) == 1 {
			th.ServiceID = &in.Services[0].ServiceID
		}
		if err := startThread(tx, th); err != nil {
			return err
		}
		inc.ThreadID = th.ID
		if err := tx.Create(inc).Error; err != nil {
			return err
		}
		if err := tx.Model(th).Update("incident_id", inc.ID).Error; err != nil {
			return err
		}
		var trans []UpdateTransition
		for _, c := range in.Services {
			if err := tx.Create(&IncidentService{IncidentID: inc.ID, ServiceID: c.ServiceID, Status: c.Status}).Error; err != nil {
				return err
			}
			if in.Kind == KindIncident && c.Status != Operational {
				trans = append(trans, UpdateTransition{ServiceID: c.ServiceID, OldStatus: Operational, NewStatus: c.Status})
			}
		}
		if _, err := s.addUpdate(tx, inc, author.ID, in.Body, html, trans, true); err != nil {
			return err
		}
		if err := s.audit(tx, author, "incident.declare", "incident", inc.ID, "", "", inc.Status); err != nil {
			return err
		}
		return s.recordServiceStatuses(tx)
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.IncidentByID(ctx, inc.ID)
}

// SetPostmortem writes (or rewrites) the postmortem of a resolved incident;
// the audit entry has the text before (empty the first time) and after.
func (s *Store) SetPostmortem(ctx context.Context, author *User, incidentID int64, body string) (*Incident, error) {
	if !author.Role.IsStaff() {
		return nil, ErrForbidden
	}
	if err := author.Silenced(s.now()); err != nil {
		return nil, err
	}
	v := validation{}
	html := s.renderBody(ctx, v, &body)
	if msg, ok := v["body"]; ok {
		return nil, &ValidationError{Fields: map[string]string{"postmortem": msg}}
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var inc Incident
		if err := tx.First(&inc, incidentID).Error; err != nil {
			return err
		}
		if inc.IsOpen() {
			return &ValidationError{Fields: map[string]string{"postmortem": "A postmortem is written once the incident is resolved."}}
		}
		now, before := s.now(), inc.Postmortem
		if body == before {
			return nil // published as it is: nothing changes, nothing to record
		}
		if err := tx.Model(&inc).Updates(map[string]any{"postmortem": body, "postmortem_html": html, "postmortem_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := s.emitIncident(tx, &inc); err != nil {
			return err
		}
		if before == "" { // published now; a correction is not announced again
			if err := s.announce(tx, AnnounceIncidentPostmortem, inc.ID, 0); err != nil {
				return err
			}
		}
		return s.audit(tx, author, "incident.postmortem", "incident", inc.ID, "", before, body)
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.IncidentByID(ctx, incidentID)
}

// LinkThread ties a customer thread to an incident (staff only). An
// incident's own thread cannot be moved.
func (s *Store) LinkThread(ctx context.Context, actor *User, threadID, incidentID int64) (*Thread, error) {
	if !actor.Role.IsStaff() {
		return nil, ErrForbidden
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		var inc Incident
		if err := tx.Select("id", "thread_id").First(&inc, incidentID).Error; err != nil {
			if err == gorm.ErrRecordNotFound {
				return &ValidationError{Fields: map[string]string{"incident_id": "No incident has this number."}}
			}
			return err
		}
		var own int64
		if err := tx.Model(&Incident{}).Where("thread_id = ?", threadID).Count(&own).Error; err != nil {
			return err
		}
		if own > 0 {
			return &ValidationError{Fields: map[string]string{"incident_id": "This is an incident's own thread."}}
		}
		before := "none"
		if th.IncidentID != nil { // moved: the old incident loses a link
			before = fmt.Sprintf("incident %d", *th.IncidentID)
			var old Incident
			if err := tx.Select("id", "thread_id").First(&old, *th.IncidentID).Error; err != nil {
				return err
			}
			if err := s.emitIncident(tx, &old); err != nil {
				return err
			}
		}
		if err := tx.Model(&th).Update("incident_id", incidentID).Error; err != nil {
			return err
		}
		if err := s.emitIncident(tx, &inc); err != nil {
			return err
		}
		if err := s.notify(tx, NotifyJob{Kind: NotifyLinked, ThreadID: th.ID, IncidentID: inc.ID, ActorID: actor.ID}); err != nil {
			return err
		}
		return s.audit(tx, actor, "thread.link", "thread", th.ID, "", before, fmt.Sprintf("incident %d", incidentID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, threadID)
}

// UnlinkThread takes a customer thread off the incident it was linked to
// (staff only); it can be linked again. Unlinking a thread that is not
// linked is a validation error, so a second click says why.
func (s *Store) UnlinkThread(ctx context.Context, actor *User, threadID int64) (*Thread, error) {
	if !actor.Role.IsStaff() {
		return nil, ErrForbidden
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		if th.IncidentID == nil {
			return &ValidationError{Fields: map[string]string{"incident_id": "This thread is not linked to an incident."}}
		}
		var inc Incident
		if err := tx.Select("id", "thread_id").First(&inc, *th.IncidentID).Error; err != nil {
			return err
		}
		if inc.ThreadID == th.ID {
			return &ValidationError{Fields: map[string]string{"incident_id": "This is an incident's own thread."}}
		}
		if err := tx.Model(&th).Update("incident_id", nil).Error; err != nil {
			return err
		}
		if err := s.emitIncident(tx, &inc); err != nil {
			return err
		}
		return s.audit(tx, actor, "thread.unlink", "thread", th.ID, "", fmt.Sprintf("incident %d", inc.ID), "none")
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, threadID)
}
