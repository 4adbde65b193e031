package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// AuditEntry is one staff, moderator, admin or system action. Rows are only
// ever inserted: triggers refuse UPDATE and DELETE.
type AuditEntry struct {
	ID         int64
	ActorID    *int64 // nil for the system (auto-hide, expiry, maintenance)
	Actor      *User  `gorm:"foreignKey:ActorID"`
	Action     string
	TargetType string
	TargetID   int64
	Reason     string
	Before     string
	After      string
	RequestID  string
	CreatedAt  time.Time
	// TargetName names the target for people: a user's name, a thread's
	// or an incident's title, a service's name, the title of a post's
	// thread; empty when it is gone. Filled by ListAudit.
	TargetName string `gorm:"-"`
}

type ctxKey int

const requestIDKey ctxKey = 0

// WithRequestID attaches the request id that audit entries record.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// audit appends an entry in the transaction of the action it records.
func (s *Store) audit(tx *gorm.DB, actor *User, action, targetType string, targetID int64, reason, before, after string) error {
	e := &AuditEntry{Action: action, TargetType: targetType, TargetID: targetID, Reason: reason, Before: before, After: after, CreatedAt: s.now()}
	if actor != nil {
		e.ActorID = &actor.ID
	}
	if ctx := tx.Statement.Context; ctx != nil {
		e.RequestID, _ = ctx.Value(requestIDKey).(string)
	}
	return tx.Create(e).Error
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	Action     string
	ActorID    int64
	TargetType string
	TargetID   int64
}

// ListAudit lists audit entries newest first, actors loaded.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, p Page) (Paged[AuditEntry], error) {
	p = p.Normalize(AuditPerPage)
	db := s.db.WithContext(ctx).Preload("Actor")
	if f.Action != "" {
		db = db.Where("action = ?", f.Action)
	}
	if f.ActorID != 0 {
		db = db.Where("actor_id = ?", f.ActorID)
	}
	if f.TargetType != "" {
		db = db.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != 0 {
		db = db.Where("target_id = ?", f.TargetID)
	}
	var out []AuditEntry
	if err := db.Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error; err != nil {
		return Paged[AuditEntry]{}, err
	}
	if err := s.nameTargets(ctx, out); err != nil {
		return Paged[AuditEntry]{}, err
	}
	return paged(out, p), nil
}

// auditTargetNames reads the name of each kind of target: one query per
// kind on the page.
var auditTargetNames = map[string]string{
	"user":     "SELECT id, name FROM users WHERE id IN ?",
	"thread":   "SELECT id, title AS name FROM threads WHERE id IN ?",
	"incident": "SELECT id, title AS name FROM incidents WHERE id IN ?",
	"service":  "SELECT id, name FROM services WHERE id IN ?",
	"post":     "SELECT p.id, t.title AS name FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.id IN ?",
}

// nameTargets fills the entries' TargetName.
func (s *Store) nameTargets(ctx context.Context, entries []AuditEntry) error {
	ids := map[string][]int64{}
	for _, e := range entries {
		ids[e.TargetType] = append(ids[e.TargetType], e.TargetID)
	}
	names := map[string]map[int64]string{}
	for kind, list := range ids {
		q, ok := auditTargetNames[kind]
		if !ok {
			continue
		}
		var rows []struct {
			ID   int64
			Name string
		}
		if err := s.db.WithContext(ctx).Raw(q, list).Scan(&rows).Error; err != nil {
			return err
		}
		names[kind] = map[int64]string{}
		for _, r := range rows {
			names[kind][r.ID] = r.Name
		}
	}
	for i, e := range entries {
		entries[i].TargetName = names[e.TargetType][e.TargetID]
	}
	return nil
}

// AuditActions lists the actions the log has recorded, for its filter.
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&AuditEntry{}).Distinct("action").Order("action").Pluck("action", &out).Error
	return out, err
}
