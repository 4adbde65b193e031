package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Event kinds: what changed, for the live-update streams and the caches.
const (
	// EventPost: a post appeared, or changed in a way a reader sees (an
	// edit, hidden, restored, moved away).
	EventPost = "post"
	// EventThread: a thread was locked, pinned, merged or otherwise changed
	// by a moderator.
	EventThread = "thread"
	// EventIncident: an incident's status, impact, services, promise,
	// updates or linked threads changed.
	EventIncident = "incident"
	// EventStatus: the dashboard's data changed (a service's status, the
	// open incidents, maintenance, the catalogue).
	EventStatus = "status"
	// EventNotification: notifications were written; the rows carry the
	// event's id.
	EventNotification = "notification"
)

// Event is one change, committed in the transaction of the change (an
// outbox row). Events carry ids, never text: whoever sends one reads what it
// names as it is when sent, so a post hidden meanwhile never travels with
// its text. Several instances read the same rows; each keeps its own place.
type Event struct {
	ID         int64
	Kind       string
	ThreadID   *int64 // the thread whose stream carries it
	PostID     *int64
	IncidentID *int64
	// Purge says that visitors' pages changed so much that cached copies
	// must go now (an official update, a moderator's action), not at the
	// end of their few seconds.
	Purge     bool
	CreatedAt time.Time
}

// EventRetention is how long events are kept for streams that reconnect
// with Last-Event-ID (the contract promises at least ten minutes).
const EventRetention = time.Hour

// emit records an event in the write transaction tx and returns its id.
func (s *Store) emit(tx *gorm.DB, e Event) (int64, error) {
	wroteOutbox(tx)
	e.CreatedAt = s.now()
	err := tx.Create(&e).Error
	return e.ID, err
}

// emitPost records that post p of thread threadID changed; purge when the
// change was made by staff, a moderator or an admin.
func (s *Store) emitPost(tx *gorm.DB, threadID, postID int64, purge bool) error {
	_, err := s.emit(tx, Event{Kind: EventPost, ThreadID: &threadID, PostID: &postID, Purge: purge})
	return err
}

// emitThread records that a moderator changed a thread.
func (s *Store) emitThread(tx *gorm.DB, threadID int64) error {
	_, err := s.emit(tx, Event{Kind: EventThread, ThreadID: &threadID, Purge: true})
	return err
}

// emitIncident records that an incident changed, on its thread's stream,
// and that the dashboard's data changed with it.
func (s *Store) emitIncident(tx *gorm.DB, inc *Incident) error {
	if _, err := s.emit(tx, Event{Kind: EventIncident, ThreadID: &inc.ThreadID, IncidentID: &inc.ID, Purge: true}); err != nil {
		return err
	}
	return s.emitStatus(tx)
}

// emitStatus records that the dashboard's data changed.
func (s *Store) emitStatus(tx *gorm.DB) error {
	_, err := s.emit(tx, Event{Kind: EventStatus, Purge: true})
	return err
}

// EventsAfter lists up to limit events with an id above after, oldest
// first.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error) {
	var out []Event
	err := s.db.WithContext(ctx).Where("id > ?", after).Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// ThreadEventsAfter lists up to limit events of one thread's stream with an
// id above after, oldest first (a stream that reconnects).
func (s *Store) ThreadEventsAfter(ctx context.Context, threadID, after int64, limit int) ([]Event, error) {
	var out []Event
	err := s.db.WithContext(ctx).Where("thread_id = ? AND id > ?", threadID, after).Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// LatestEvent returns the newest event of kind with an id above after, or
// nil (a status stream that reconnects needs only the last change).
func (s *Store) LatestEvent(ctx context.Context, kind string, after int64) (*Event, error) {
	var out []Event
	err := s.db.WithContext(ctx).Where("kind = ? AND id > ?", kind, after).Order("id DESC").Limit(1).Find(&out).Error
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return &out[0], nil
}

// LastEventID is the newest event's id (0 when there is none): a new reader
// starts from there.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.WithContext(ctx).Model(&Event{}).Select("COALESCE(MAX(id), 0)").Scan(&id).Error
	return id, err
}

// PruneEvents deletes the events older than EventRetention.
func (s *Store) PruneEvents(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("created_at < ?", s.now().Add(-EventRetention)).Delete(&Event{})
		n = res.RowsAffected
		return res.Error
	})
	return int(n), err
}
