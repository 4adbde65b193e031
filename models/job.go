package models

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Job is durable work that must happen once (or, when it reaches outside,
// at least once): notifications to write, mails and webhooks to deliver.
// A job is written in the transaction of the change that causes it, so an
// acknowledged change never loses its job, and a worker claims it for a
// lease: if the worker dies, the lease runs out and another claims it.
type Job struct {
	ID          int64
	Kind        string
	Payload     string // JSON, read by the job's handler
	RunAt       time.Time
	Attempts    int
	LockedUntil *time.Time
	LastError   string
	CreatedAt   time.Time
}

// enqueue writes a job in the write transaction tx, due at runAt (zero:
// now).
func (s *Store) enqueue(tx *gorm.DB, kind string, payload any, runAt time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	wroteOutbox(tx)
	now := s.now()
	if runAt.IsZero() {
		runAt = now
	}
	return tx.Create(&Job{Kind: kind, Payload: string(b), RunAt: runAt.UTC(), CreatedAt: now}).Error
}

// Enqueue writes a job on its own (a job that schedules more work).
func (s *Store) Enqueue(ctx context.Context, kind string, payload any, runAt time.Time) error {
	return s.write(ctx, func(tx *gorm.DB) error { return s.enqueue(tx, kind, payload, runAt) })
}

// ClaimJobs takes up to n due jobs for lease, oldest due first: their lease
// runs until now+lease and their attempt count goes up. Two workers never
// hold the same job: SQLite has one writer at a time, and on PostgreSQL the
// candidates are locked with SKIP LOCKED.
func (s *Store) ClaimJobs(ctx context.Context, n int, lease time.Duration) ([]Job, error) {
	now := s.now()
	// Most of the time nothing is due: find out with a read, and leave the
	// one writer alone.
	var due []int64
	if err := s.db.WithContext(ctx).Model(&Job{}).Where("run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)", now, now).
		Limit(1).Pluck("id", &due).Error; err != nil || len(due) == 0 {
		return nil, err
	}
	var out []Job
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = nil // from a try that collided with another and runs again
		return tx.Raw(`UPDATE jobs SET locked_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM jobs WHERE run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
				ORDER BY run_at, id LIMIT ?`+s.skipLocked()+`)
			RETURNING *`, now.Add(lease), now, now, n).Scan(&out).Error
	})
	// RETURNING keeps no order on PostgreSQL.
	slices.SortFunc(out, func(a, b Job) int { return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID)) })
	return out, err
}

// skipLocked is the locking clause of a claim's candidate query: none on
// SQLite, whose single writer serializes claims already; on PostgreSQL,
// rows another instance is claiming are passed over rather than waited for.
func (s *Store) skipLocked() string {
	if s.pg {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// DoJob runs fn in a write transaction that also deletes the job, so that
// work inside the database (writing notifications, fanning out deliveries)
// happens exactly once even if the worker dies before or after it.
func (s *Store) DoJob(ctx context.Context, id int64, fn func(tx *Tx) error) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&Job{}, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil // done by another worker whose lease ran out
		}
		return fn(&Tx{s: s, tx: tx})
	})
}

// FinishJob deletes a job whose work reached outside (a mail sent, a
// webhook delivered).
func (s *Store) FinishJob(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *gorm.DB) error { return tx.Delete(&Job{}, id).Error })
}

// RetryJob gives a failed job back, due again at at, with why it failed.
func (s *Store) RetryJob(ctx context.Context, id int64, at time.Time, why string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Job{}).Where("id = ?", id).Updates(map[string]any{
			"run_at": at.UTC(), "locked_until": nil, "last_error": truncate(why, 500)}).Error
	})
}

// Tx is a job's view of its write transaction: what a job handler may write
// besides deleting the job.
type Tx struct {
	s  *Store
	tx *gorm.DB
}

// Enqueue writes a follow-up job in the same transaction.
func (t *Tx) Enqueue(kind string, payload any, runAt time.Time) error {
	return t.s.enqueue(t.tx, kind, payload, runAt)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
