package models

import (
	"context"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

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

// NewUpdate is the input for an official update.
type NewUpdate struct {
	Status   string
	Body     string
	Services []ServiceChange // services to add or change; others keep theirs
	// NextUpdateAt is the promise of the next word. Left out on an open
	// incident, it is now plus the Store's UpdateCadence, unless NoPromise
	// says that no further update is planned.
	NextUpdateAt *time.Time
	NoPromise    bool
	Impact       string // optional change of impact
	// A scheduled maintenance window may move (both set).
	ScheduledFor, ScheduledUntil *time.Time
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
	// A silence stops official statements too.
	if err := author.Silenced(s.now()); err != nil {
		return nil, err
	}
	cur, err := s.IncidentByID(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	v := validation{}
	in.NextUpdateAt = s.promise(v, cur.Kind, in.Status, in.NextUpdateAt, in.NoPromise)
	s.reschedule(v, cur, &in)
	if strings.TrimSpace(in.Body) == "" {
		in.Body = saidAlone(cur, in) // moving the promise or the window alone says so
	}
	checkBody(v, &in.Body)
	var html template.HTML
	if len(v) == 0 { // rendered only once the rest is valid
		html = s.renderBody(ctx, v, &in.Body)
	}
	var u *IncidentUpdate
	err = s.write(ctx, func(tx *gorm.DB) error {
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
		s.reschedule(v, &inc, &in) // again: the window may have started since
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

// promise settles the promise of the next word that an update (or a new
// incident) of kind in status makes: next checked when given; on an
// incident that stays open, now plus the cadence when left out, unless
// none says that no further update is planned; none on maintenance or
// once resolved.
func (s *Store) promise(v validation, kind Kind, status string, next *time.Time, none bool) *time.Time {
	switch {
	case kind == KindMaintenance || status == StatusResolved || none:
		return nil
	case next != nil:
		return s.checkNextUpdate(v, next)
	case s.UpdateCadence > 0:
		t := s.now().Add(s.UpdateCadence)
		return &t
	}
	return nil
}

// reschedule checks a move of a maintenance window: only maintenance still
// scheduled moves, to a window that ends after it starts, in the future.
func (s *Store) reschedule(v validation, inc *Incident, in *NewUpdate) {
	same := func(a, b *time.Time) bool { return a == nil || b != nil && a.Equal(*b) }
	if same(in.ScheduledFor, inc.ScheduledFor) && same(in.ScheduledUntil, inc.ScheduledUntil) {
		in.ScheduledFor, in.ScheduledUntil = nil, nil // the window as it is
		return
	}
	switch {
	case inc.Kind != KindMaintenance:
		v.add("scheduled_for", "Only maintenance has a window to move.")
	case inc.Status != StatusScheduled || in.Status != StatusScheduled:
		v.add("scheduled_for", "A window moves only while it is scheduled, not once it has started.")
	case in.ScheduledFor == nil || in.ScheduledUntil == nil:
		v.add("scheduled_for", "Give the new start and end of the window.")
	case !in.ScheduledUntil.After(*in.ScheduledFor):
		v.add("scheduled_until", "The window ends after it starts.")
	case !in.ScheduledFor.After(s.now()):
		v.add("scheduled_for", "The new window must start in the future.")
	default:
		f, u := in.ScheduledFor.UTC(), in.ScheduledUntil.UTC()
		in.ScheduledFor, in.ScheduledUntil = &f, &u
	}
}

// saidAlone is the message of an update that only moves the promise or the
// window (the one-line note that becomes the update), or "" when the update
// changes more and must say why.
func saidAlone(inc *Incident, in NewUpdate) string {
	if in.Impact != "" || len(in.Services) > 0 {
		return ""
	}
	const at = "Mon 2 Jan 15:04 UTC"
	switch {
	case inc.Status == StatusScheduled && in.Status == StatusCompleted:
		return "The maintenance is cancelled."
	case in.Status != inc.Status:
		return ""
	case in.ScheduledFor != nil && in.ScheduledUntil != nil:
		return "The maintenance is rescheduled: now from " + in.ScheduledFor.Format(at) + " to " + in.ScheduledUntil.Format(at) + "."
	case in.NextUpdateAt != nil && (inc.NextUpdateAt == nil || !in.NextUpdateAt.Equal(*inc.NextUpdateAt)):
		return "No news yet; the next update is now expected by " + in.NextUpdateAt.Format("15:04 UTC") + "."
	}
	return ""
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
	// Maintenance that a person completes before it started is cancelled
	// (the clock completing a window it missed is not); reopened, it is not.
	inc.CancelledAt = nil
	if closing && beforeStatus == StatusScheduled && actor != nil {
		inc.CancelledAt = &now
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
	if in.ScheduledFor != nil { // a moved window (checked by reschedule)
		inc.ScheduledFor, inc.ScheduledUntil, inc.StartedAt = in.ScheduledFor, in.ScheduledUntil, *in.ScheduledFor
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
		"monitoring_at": inc.MonitoringAt, "resolved_at": inc.ResolvedAt, "cancelled_at": inc.CancelledAt, "updated_at": now,
		"scheduled_for": inc.ScheduledFor, "scheduled_until": inc.ScheduledUntil, "started_at": inc.StartedAt,
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

// addUpdate writes an official update: the post in the incident's thread
// (with the title for search when it is the first), the update row and its
// transitions, and bumps the thread.
func (s *Store) addUpdate(tx *gorm.DB, inc *Incident, authorID int64, body string, html template.HTML, trans []UpdateTransition, first bool) (*IncidentUpdate, error) {
	p := &Post{ThreadID: inc.ThreadID, AuthorID: authorID, Source: body, HTML: html, Official: true}
	if err := tx.Raw("SELECT role FROM users WHERE id = ?", authorID).Scan(&p.AuthorRole).Error; err != nil {
		return nil, err
	}
	if err := tx.Create(p).Error; err != nil {
		return nil, err
	}
	title := ""
	if first {
		title = inc.Title
	}
	if err := s.indexPost(tx, p.ID, title, html); err != nil {
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
	kind := NotifyOfficial
	if !inc.IsOpen() {
		kind = NotifyResolved
	}
	if err := s.published(tx, p, true, NotifyJob{Kind: kind, ThreadID: inc.ThreadID, PostID: p.ID, IncidentID: inc.ID,
		ActorID: authorID, Detail: StatusLabel(inc.Status)}); err != nil {
		return nil, err
	}
	if err := s.announce(tx, updateEvent(inc, first), inc.ID, u.ID); err != nil {
		return nil, err
	}
	return u, s.emitIncident(tx, inc)
}

// StatusLabel is an incident status in words: "in_progress" is "In
// progress".
func StatusLabel(status string) string {
	s := strings.ReplaceAll(status, "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
		html := s.renderBody(ctx, validation{}, &in.Body)
		applied := false
		err := s.write(ctx, func(tx *gorm.DB) error {
			// Read again under the write lock: a person, or another
			// instance, may have moved it.
			applied = false
			var fresh Incident
			if err := tx.Preload("Services").First(&fresh, inc.ID).Error; err != nil {
				return err
			}
			if fresh.Status != inc.Status || !fresh.IsOpen() {
				return nil
			}
			_, err := s.applyUpdate(tx, &fresh, nil, fresh.CreatedByID, in, html)
			applied = err == nil
			return err
		})
		if err != nil {
			return moved, translate(err)
		}
		if applied {
			moved++
		}
	}
	return moved, nil
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
