package models

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
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
	}
	return "Operational"
}

func worse(a, b ComponentStatus) ComponentStatus {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

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

// IncidentUpdate is an official update: the status at that moment, the
// service transitions and the promise of the next word. Its message is an
// official post in the incident's thread, so it is edited (with revisions),
// searched and shown in the thread's flow like any post.
type IncidentUpdate struct {
	ID           int64
	IncidentID   int64
	PostID       int64
	Post         *Post `gorm:"foreignKey:PostID"`
	Status       string
	NextUpdateAt *time.Time
	CreatedAt    time.Time
	Transitions  []UpdateTransition `gorm:"foreignKey:UpdateID"`
}

// UpdateTransition is one service's change of status in an update.
type UpdateTransition struct {
	UpdateID  int64    `gorm:"primaryKey;autoIncrement:false"`
	ServiceID int64    `gorm:"primaryKey;autoIncrement:false"`
	Service   *Service `gorm:"foreignKey:ServiceID"`
	OldStatus ComponentStatus
	NewStatus ComponentStatus
}

// ServiceStatusChange records each change of a service's derived status;
// the dashboard's daily bars are computed from these rows.
type ServiceStatusChange struct {
	ID        int64
	ServiceID int64
	Status    ComponentStatus
	ChangedAt time.Time
}

// IsOpen tells whether the incident still needs attention: an incident not
// yet resolved, or maintenance not yet completed.
func (i *Incident) IsOpen() bool { return i.ResolvedAt == nil }

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
	Kind         Kind
	Title        string
	Impact       string // incidents only
	Status       string // incidents only; maintenance starts "scheduled"
	Body         string
	Services     []ServiceChange
	NextUpdateAt *time.Time
	// The maintenance window.
	ScheduledFor   *time.Time
	ScheduledUntil *time.Time
}

// NewUpdate is the input for an official update.
type NewUpdate struct {
	Status       string
	Body         string
	Services     []ServiceChange // services to add or change; others keep theirs
	NextUpdateAt *time.Time
	Impact       string // optional change of impact
}

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
	v := validation{}
	title := cleanTitle(v, in.Title)
	html := renderBody(v, &in.Body)
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
		inc.NextUpdateAt = s.checkNextUpdate(v, in.NextUpdateAt)
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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

// addUpdate writes an official update: the post in the incident's thread
// (with the title for search when it is the first), the update row and its
// transitions, and bumps the thread.
func (s *Store) addUpdate(tx *gorm.DB, inc *Incident, authorID int64, body string, html template.HTML, trans []UpdateTransition, first bool) (*IncidentUpdate, error) {
	p := &Post{ThreadID: inc.ThreadID, AuthorID: authorID, Source: body, HTML: html, Official: true}
	if err := tx.Create(p).Error; err != nil {
		return nil, err
	}
	title := ""
	if first {
		title = inc.Title
	}
	if err := indexPost(tx, p.ID, title, html); err != nil {
		return nil, err
	}
	if err := tx.Model(&Thread{}).Where("id = ?", inc.ThreadID).Updates(map[string]any{
		"post_count": gorm.Expr("post_count + 1"), "last_activity_at": p.CreatedAt, "updated_at": p.CreatedAt,
	}).Error; err != nil {
		return nil, err
	}
	u := &IncidentUpdate{IncidentID: inc.ID, PostID: p.ID, Status: inc.Status, NextUpdateAt: inc.NextUpdateAt, CreatedAt: p.CreatedAt}
	if err := tx.Create(u).Error; err != nil {
		return nil, err
	}
	for i := range trans {
		trans[i].UpdateID = u.ID
		if err := tx.Create(&trans[i]).Error; err != nil {
			return nil, err
		}
	}
	u.Transitions = trans
	u.Post = p
	return u, nil
}

// PostUpdate adds an official update to an incident: its status (the only
// way a status changes), service transitions, an optional impact change and
// the next promise. Resolving (or completing maintenance) sets every service
// back to operational; an update on a resolved incident with an open status
// reopens it.
func (s *Store) PostUpdate(ctx context.Context, author *User, incidentID int64, in NewUpdate) (*IncidentUpdate, error) {
	if !author.Role.IsStaff() {
		return nil, ErrForbidden
	}
	v := validation{}
	html := renderBody(v, &in.Body)
	in.NextUpdateAt = s.checkNextUpdate(v, in.NextUpdateAt)
	var u *IncidentUpdate
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var inc Incident
		if err := tx.Preload("Services").First(&inc, incidentID).Error; err != nil {
			return err
		}
		if !slices.Contains(inc.Kind.Statuses(), in.Status) {
			v.add("status", "Status is one of "+strings.Join(inc.Kind.Statuses(), ", ")+".")
		}
		if in.Impact != "" && (inc.Kind == KindMaintenance || !slices.Contains(Impacts, in.Impact)) {
			v.add("impact", "Impact is one of none, minor, major, critical.")
		}
		if err := s.checkServices(tx, v, in.Services, inc.Kind); err != nil {
			return err
		}
		if err := v.err(); err != nil {
			return err
		}
		var err error
		u, err = s.applyUpdate(tx, &inc, author, author.ID, in, html)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	var out IncidentUpdate
	err = s.db.WithContext(ctx).Preload("Post.Author").Preload("Transitions.Service").First(&out, u.ID).Error
	return &out, translate(err)
}

// applyUpdate moves inc to the update's status and services and writes the
// update; in is valid. The transitions it records are changes of what the
// incident makes each service show: an incident shows its services' statuses
// while open, maintenance while in progress or verifying; otherwise they
// show operational.
func (s *Store) applyUpdate(tx *gorm.DB, inc *Incident, actor *User, authorID int64, in NewUpdate, html template.HTML) (*IncidentUpdate, error) {
	now := s.now()
	beforeStatus := inc.Status
	before := map[int64]ComponentStatus{}
	for _, is := range inc.Services {
		before[is.ServiceID] = is.Status
	}
	wasActive := inc.Active()
	after := maps.Clone(before)
	for _, c := range in.Services {
		after[c.ServiceID] = c.Status
	}
	closing := in.Status == StatusResolved || in.Status == StatusCompleted
	if closing && inc.Kind == KindIncident {
		for id := range after {
			after[id] = Operational
		}
	}
	inc.Status = in.Status
	if in.Impact != "" {
		inc.Impact = in.Impact
	}
	inc.NextUpdateAt, inc.ResolvedAt = in.NextUpdateAt, nil // an open status reopens
	if closing {
		inc.ResolvedAt, inc.NextUpdateAt = &now, nil
	}
	// monitoring_at is when the current watch began (Statuspage sets it for
	// a maintenance's verifying too); going back to work on it ends the watch.
	switch {
	case in.Status == StatusMonitoring || in.Status == StatusVerifying:
		if inc.MonitoringAt == nil {
			inc.MonitoringAt = &now
		}
	case !closing:
		inc.MonitoringAt = nil
	}
	isActive := inc.Active()
	shown := func(active bool, st ComponentStatus, ok bool) ComponentStatus {
		if !active || !ok {
			return Operational
		}
		return st
	}
	var trans []UpdateTransition
	for _, id := range slices.Sorted(maps.Keys(after)) {
		old, had := before[id]
		if !had || old != after[id] {
			if err := tx.Save(&IncidentService{IncidentID: inc.ID, ServiceID: id, Status: after[id]}).Error; err != nil {
				return nil, err
			}
		}
		from, to := shown(wasActive, old, had), shown(isActive, after[id], true)
		if from != to {
			trans = append(trans, UpdateTransition{ServiceID: id, OldStatus: from, NewStatus: to})
		}
	}
	if err := tx.Model(&Incident{}).Where("id = ?", inc.ID).Updates(map[string]any{
		"status": inc.Status, "impact": inc.Impact, "next_update_at": inc.NextUpdateAt,
		"monitoring_at": inc.MonitoringAt, "resolved_at": inc.ResolvedAt, "updated_at": now,
	}).Error; err != nil {
		return nil, err
	}
	u, err := s.addUpdate(tx, inc, authorID, in.Body, html, trans, false)
	if err != nil {
		return nil, err
	}
	if err := s.audit(tx, actor, "incident.update", "incident", inc.ID, "", beforeStatus, inc.Status); err != nil {
		return nil, err
	}
	return u, s.recordServiceStatuses(tx)
}

// SetPostmortem writes (or rewrites) the postmortem of a resolved incident.
func (s *Store) SetPostmortem(ctx context.Context, author *User, incidentID int64, body string) (*Incident, error) {
	if !author.Role.IsStaff() {
		return nil, ErrForbidden
	}
	v := validation{}
	html := renderBody(v, &body)
	if msg, ok := v["body"]; ok {
		return nil, &ValidationError{Fields: map[string]string{"postmortem": msg}}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var inc Incident
		if err := tx.First(&inc, incidentID).Error; err != nil {
			return err
		}
		if inc.IsOpen() {
			return &ValidationError{Fields: map[string]string{"postmortem": "A postmortem is written once the incident is resolved."}}
		}
		now := s.now()
		if err := tx.Model(&inc).Updates(map[string]any{"postmortem": body, "postmortem_html": html, "postmortem_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, author, "incident.postmortem", "incident", inc.ID, "", inc.Postmortem, body)
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.IncidentByID(ctx, incidentID)
}

// AdvanceMaintenance moves maintenance windows whose start or end has come:
// scheduled -> in_progress at scheduled_for, in_progress or verifying ->
// completed at scheduled_until. Each move is an official update by the
// window's author. It returns how many windows moved; the server calls it
// every few seconds.
func (s *Store) AdvanceMaintenance(ctx context.Context) (int, error) {
	now := s.now()
	var due []Incident
	err := s.db.WithContext(ctx).Preload("Services").
		Where("kind = 'maintenance' AND resolved_at IS NULL AND ((status = ? AND scheduled_for <= ?) OR scheduled_until <= ?)",
			StatusScheduled, now, now).Order("id").Find(&due).Error
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, inc := range due {
		in := NewUpdate{Status: StatusCompleted, Body: "The scheduled maintenance is complete."}
		if inc.ScheduledUntil.After(now) {
			in = NewUpdate{Status: StatusInProgress, Body: "The scheduled maintenance is in progress."}
		}
		html := renderBody(validation{}, &in.Body)
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// Read again under the write lock: a person may have moved it.
			var fresh Incident
			if err := tx.Preload("Services").First(&fresh, inc.ID).Error; err != nil {
				return err
			}
			if fresh.Status != inc.Status || !fresh.IsOpen() {
				return nil
			}
			_, err := s.applyUpdate(tx, &fresh, nil, fresh.CreatedByID, in, html)
			return err
		})
		if err != nil {
			return moved, translate(err)
		}
		moved++
	}
	return moved, nil
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
	var last []ServiceStatusChange
	if err := tx.Raw(`SELECT c.service_id, c.status FROM service_status_changes c
		WHERE c.id = (SELECT MAX(id) FROM service_status_changes WHERE service_id = c.service_id)`).Scan(&last).Error; err != nil {
		return err
	}
	recorded := map[int64]ComponentStatus{}
	for _, c := range last {
		recorded[c.ServiceID] = c.Status
	}
	var ids []int64
	if err := tx.Model(&Service{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		want, ok := now[id]
		if !ok {
			want = Operational
		}
		was, ok := recorded[id]
		if !ok {
			was = Operational
		}
		if want != was {
			if err := tx.Create(&ServiceStatusChange{ServiceID: id, Status: want, ChangedAt: s.now()}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// ServiceStatuses returns every service's current derived status; services
// missing from the map are operational.
func (s *Store) ServiceStatuses(ctx context.Context) (map[int64]ComponentStatus, error) {
	return currentStatuses(s.db.WithContext(ctx))
}

// DailyStatuses gives, for each service, the worst status in effect during
// each of the last days UTC days, oldest first, today last. The rule: a day's
// status is the worst of the status in effect when the day began and every
// status recorded during it. Days before a service existed are operational.
func (s *Store) DailyStatuses(ctx context.Context, days int) (map[int64][]ComponentStatus, error) {
	today := s.now().Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -(days - 1))
	var changes []ServiceStatusChange
	// The last change before the window (the state it opens with) and every
	// change inside it.
	err := s.db.WithContext(ctx).Raw(`SELECT * FROM service_status_changes c WHERE changed_at >= ?
		OR c.id = (SELECT MAX(id) FROM service_status_changes WHERE service_id = c.service_id AND changed_at < ?)
		ORDER BY service_id, changed_at, id`, start, start).Scan(&changes).Error
	if err != nil {
		return nil, err
	}
	out := map[int64][]ComponentStatus{}
	for i := 0; i < len(changes); {
		id := changes[i].ServiceID
		bars := make([]ComponentStatus, days)
		state := Operational
		j := i
		for d := range days {
			dayEnd := start.AddDate(0, 0, d+1)
			worst := state
			for ; j < len(changes) && changes[j].ServiceID == id && changes[j].ChangedAt.Before(dayEnd); j++ {
				state = changes[j].Status
				if !changes[j].ChangedAt.Before(start) {
					worst = worse(worst, state)
				} else {
					worst = state
				}
			}
			bars[d] = worst
		}
		for j < len(changes) && changes[j].ServiceID == id {
			j++
		}
		out[id] = bars
		i = j
	}
	return out, nil
}

// IncidentByID returns an incident with its services and thread.
func (s *Store) IncidentByID(ctx context.Context, id int64) (*Incident, error) {
	var inc Incident
	err := s.db.WithContext(ctx).Preload("Thread").Preload("Services", func(db *gorm.DB) *gorm.DB {
		return db.Joins("JOIN services ON services.id = incident_services.service_id").Order("services.position, services.id")
	}).Preload("Services.Service").First(&inc, id).Error
	if err != nil {
		return nil, translate(err)
	}
	return &inc, nil
}

// IncidentByThread returns the incident a thread belongs to, if the thread is
// an incident's own thread.
func (s *Store) IncidentByThread(ctx context.Context, threadID int64) (*Incident, error) {
	var id int64
	if err := s.db.WithContext(ctx).Model(&Incident{}).Where("thread_id = ?", threadID).Pluck("id", &id).Error; err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, ErrNotFound
	}
	return s.IncidentByID(ctx, id)
}

// IncidentUpdates lists updates of the given incidents, newest first, with
// their posts (authors loaded) and transitions; updates whose post the
// viewer may not read are left out. limit bounds the updates per incident
// (0: all).
func (s *Store) IncidentUpdates(ctx context.Context, viewer *User, limit int, incidentIDs ...int64) ([]IncidentUpdate, error) {
	if len(incidentIDs) == 0 {
		return nil, nil
	}
	cond, args := visibleSQL("p", viewer)
	db := s.db.WithContext(ctx).Model(&IncidentUpdate{}).
		Joins("JOIN posts p ON p.id = incident_updates.post_id").Where(cond, args...).
		Where("incident_updates.incident_id IN ?", incidentIDs)
	if limit > 0 {
		db = db.Where(`(SELECT COUNT(*) FROM incident_updates n WHERE n.incident_id = incident_updates.incident_id
			AND n.id > incident_updates.id) < ?`, limit)
	}
	var out []IncidentUpdate
	err := db.Preload("Post.Author").Preload("Transitions.Service").
		Order("incident_updates.id DESC").Find(&out).Error
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

// IncidentsPerPage is the history page's size.
const IncidentsPerPage = 20

// ListIncidents lists incidents newest first (maintenance by its window),
// services loaded.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter, p Page) (Paged[Incident], error) {
	p = p.Normalize(IncidentsPerPage)
	db := s.db.WithContext(ctx).Preload("Services", func(db *gorm.DB) *gorm.DB {
		return db.Joins("JOIN services ON services.id = incident_services.service_id").Order("services.position, services.id")
	}).Preload("Services.Service")
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
	var out []string
	err := s.db.WithContext(ctx).Model(&Incident{}).Distinct("strftime('%Y-%m', started_at) AS m").
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

// LinkThread ties a customer thread to an incident (staff only). An
// incident's own thread cannot be moved.
func (s *Store) LinkThread(ctx context.Context, actor *User, threadID, incidentID int64) (*Thread, error) {
	if !actor.Role.IsStaff() {
		return nil, ErrForbidden
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		var inc Incident
		if err := tx.Select("id").First(&inc, incidentID).Error; err != nil {
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
		if th.IncidentID != nil {
			before = fmt.Sprintf("incident %d", *th.IncidentID)
		}
		if err := tx.Model(&th).Update("incident_id", incidentID).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "thread.link", "thread", th.ID, "", before, fmt.Sprintf("incident %d", incidentID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, threadID)
}

// SuggestThreads finds threads a customer about to report a problem may
// want to join: open threads and open incidents' threads whose title or
// posts share a word with what they typed, open incidents first.
func (s *Store) SuggestThreads(ctx context.Context, text string, limit int) ([]Thread, error) {
	match := ftsQuery(text, anyWord)
	if match == "" {
		return nil, nil
	}
	var out []Thread
	err := s.db.WithContext(ctx).Preload("Service").
		Where(`locked = 0 AND merged_into_id IS NULL AND id IN (SELECT p.thread_id FROM post_search JOIN posts p ON p.id = post_search.docid
			WHERE post_search MATCH ? AND p.hidden_at IS NULL)`, match).
		Where("incident_id IS NULL OR incident_id IN (SELECT id FROM incidents WHERE resolved_at IS NULL)").
		Order("id IN (SELECT thread_id FROM incidents) DESC, last_activity_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
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
