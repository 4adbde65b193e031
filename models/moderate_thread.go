package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// MergeThread moves every post of thread fromID into intoID (they keep their
// time order), carries the affected marks and followers over without counting
// anyone twice, and leaves fromID as a pointer so its address redirects.
func (s *Store) MergeThread(ctx context.Context, mod *User, fromID, intoID int64, reason string) (*Thread, error) {
	reason, err := moderatorReason(mod, reason, false)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		v := validation{}
		var from, into Thread
		if err := tx.First(&from, fromID).Error; err != nil {
			return err
		}
		if err := tx.First(&into, intoID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return &ValidationError{Fields: map[string]string{"into_id": "No thread has this number."}}
			}
			return err
		}
		var own int64
		if err := tx.Model(&Incident{}).Where("thread_id = ?", from.ID).Count(&own).Error; err != nil {
			return err
		}
		switch {
		case from.ID == into.ID:
			v.add("into_id", "A thread cannot be merged into itself.")
		case from.MergedIntoID != nil:
			return &ConflictError{Message: "This thread was merged already."}
		case into.MergedIntoID != nil:
			v.add("into_id", "That thread was merged itself; merge into the thread it was merged into.")
		case own > 0:
			v.add("into_id", "An incident's own thread cannot be merged away.")
		}
		if err := v.err(); err != nil {
			return err
		}
		// The merged thread's title stays searchable, now leading to into.
		// Each post remembers the thread it first came from (a thread
		// merged twice keeps its first origin), for UnmergeThread.
		if err := tx.Model(&Post{}).Where("thread_id = ?", from.ID).Updates(map[string]any{
			"thread_id": into.ID, "merged_from_id": gorm.Expr("COALESCE(merged_from_id, ?)", from.ID)}).Error; err != nil {
			return err
		}
		// Marks and follows are copied; the merged thread keeps its own,
		// frozen, for an unmerge.
		if err := tx.Exec(`INSERT INTO affected_marks (thread_id, user_id, created_at)
			SELECT `+s.param("BIGINT")+`, user_id, created_at FROM affected_marks WHERE thread_id = ? ON CONFLICT DO NOTHING`, into.ID, from.ID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO follows (thread_id, user_id, level, created_at)
			SELECT `+s.param("BIGINT")+`, user_id, level, created_at FROM follows WHERE thread_id = ? ON CONFLICT DO NOTHING`, into.ID, from.ID).Error; err != nil {
			return err
		}
		set := map[string]any{"merged_into_id": into.ID, "post_count": 0, "affected_count": 0, "pinned": false, "updated_at": s.now()}
		if err := tx.Model(&Thread{}).Where("id = ?", from.ID).Updates(set).Error; err != nil {
			return err
		}
		if into.IncidentID == nil && from.IncidentID != nil {
			if err := tx.Model(&Thread{}).Where("id = ?", into.ID).Update("incident_id", *from.IncidentID).Error; err != nil {
				return err
			}
		}
		if err := recountThread(tx, into.ID); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE threads SET affected_count = (SELECT COUNT(*) FROM affected_marks WHERE thread_id = threads.id) WHERE id = ?`, into.ID).Error; err != nil {
			return err
		}
		for _, id := range []int64{from.ID, into.ID} {
			if err := s.emitThread(tx, id); err != nil {
				return err
			}
		}
		if err := s.notify(tx, NotifyJob{Kind: NotifyMerged, ThreadID: into.ID, FromThreadID: from.ID, ActorID: mod.ID, Detail: from.Title}); err != nil {
			return err
		}
		return s.audit(tx, mod, "thread.merge", "thread", from.ID, reason, fmt.Sprintf("thread %d", from.ID), fmt.Sprintf("merged into thread %d", into.ID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, intoID)
}

// UnmergeThread undoes a merge: the merged thread lives again with the posts
// that came from it (wherever they are now), its own affected marks and
// followers. Marks and follows that the merge copied stay where they are.
func (s *Store) UnmergeThread(ctx context.Context, mod *User, threadID int64, reason string) (*Thread, error) {
	reason, err := moderatorReason(mod, reason, false)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		if th.MergedIntoID == nil {
			return &ConflictError{Message: "This thread is not merged."}
		}
		var holders []int64
		if err := tx.Model(&Post{}).Where("merged_from_id = ?", th.ID).Distinct().Pluck("thread_id", &holders).Error; err != nil {
			return err
		}
		if err := tx.Model(&Post{}).Where("merged_from_id = ?", th.ID).
			Updates(map[string]any{"thread_id": th.ID, "merged_from_id": nil}).Error; err != nil {
			return err
		}
		if err := tx.Model(&Thread{}).Where("id = ?", th.ID).Updates(map[string]any{"merged_into_id": nil, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		for _, id := range append(holders, th.ID) {
			if err := recountThread(tx, id); err != nil {
				return err
			}
		}
		if err := tx.Exec(`UPDATE threads SET affected_count = (SELECT COUNT(*) FROM affected_marks WHERE thread_id = threads.id) WHERE id = ?`, th.ID).Error; err != nil {
			return err
		}
		for _, id := range append(holders, th.ID) {
			if err := s.emitThread(tx, id); err != nil {
				return err
			}
		}
		return s.audit(tx, mod, "thread.unmerge", "thread", th.ID, reason, fmt.Sprintf("merged into thread %d", *th.MergedIntoID), fmt.Sprintf("thread %d", th.ID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, threadID)
}

// MergedInto lists the threads merged into a thread, for the moderators'
// unmerge tool.
func (s *Store) MergedInto(ctx context.Context, threadID int64) ([]Thread, error) {
	var out []Thread
	err := s.db.WithContext(ctx).Where("merged_into_id = ?", threadID).Order("id").Limit(MaxPerPage).Find(&out).Error
	return out, err
}

// threadAction changes a thread under the moderator's hand and records it.
func (s *Store) threadAction(ctx context.Context, mod *User, threadID int64, action, reason string,
	change func(th *Thread) (before, after string, set map[string]any, err error)) (*Thread, error) {
	if err := requireModerator(mod); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		if th.MergedIntoID != nil {
			return &ConflictError{Message: "This thread was merged into another; act on that one."}
		}
		before, after, set, err := change(&th)
		if err != nil {
			return err
		}
		set["updated_at"] = s.now()
		if err := tx.Model(&Thread{}).Where("id = ?", th.ID).Updates(set).Error; err != nil {
			return err
		}
		if err := s.emitThread(tx, th.ID); err != nil {
			return err
		}
		return s.audit(tx, mod, action, "thread", th.ID, reason, before, after)
	})
	if err != nil {
		return nil, translate(err)
	}
	return s.ThreadByID(ctx, threadID)
}

// SetLocked locks (with a reason shown on the thread) or unlocks a thread.
// Locked threads stay readable; staff still post official updates on a
// locked incident.
func (s *Store) SetLocked(ctx context.Context, mod *User, threadID int64, locked bool, reason string) (*Thread, error) {
	v := validation{}
	reason = cleanReason(v, "reason", reason, false)
	if err := v.err(); err != nil {
		return nil, err
	}
	action := map[bool]string{true: "thread.lock", false: "thread.unlock"}[locked]
	return s.threadAction(ctx, mod, threadID, action, reason, func(th *Thread) (string, string, map[string]any, error) {
		if th.Locked == locked {
			return "", "", nil, &ConflictError{Message: "The thread is " + map[bool]string{true: "locked", false: "open"}[locked] + " already."}
		}
		lockReason := ""
		if locked {
			lockReason = reason
		}
		return fmt.Sprint("locked=", th.Locked), fmt.Sprint("locked=", locked), map[string]any{"locked": locked, "lock_reason": lockReason}, nil
	})
}

// SetPinned pins a thread on top of lists (until a time, or until unpinned)
// or unpins it.
func (s *Store) SetPinned(ctx context.Context, mod *User, threadID int64, pinned bool, until *time.Time, reason string) (*Thread, error) {
	v := validation{}
	reason = cleanReason(v, "reason", reason, false)
	if until != nil && !until.After(s.now()) {
		v.add("until", "A pin ends in the future.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	action := map[bool]string{true: "thread.pin", false: "thread.unpin"}[pinned]
	return s.threadAction(ctx, mod, threadID, action, reason, func(th *Thread) (string, string, map[string]any, error) {
		if !pinned && !th.Pinned {
			return "", "", nil, &ConflictError{Message: "The thread is not pinned."}
		}
		after := fmt.Sprint("pinned=", pinned)
		if pinned && until != nil {
			u := until.UTC()
			until = &u
			after += " until " + u.Format(time.RFC3339)
		}
		if !pinned {
			until = nil
		}
		return fmt.Sprint("pinned=", th.Pinned), after, map[string]any{"pinned": pinned, "pinned_until": until}, nil
	})
}

// SlowModeMax bounds a thread's slow mode.
const SlowModeMax = 24 * time.Hour

// SetSlowMode sets the least time between one customer's posts in a thread;
// zero turns it off.
func (s *Store) SetSlowMode(ctx context.Context, mod *User, threadID int64, every time.Duration, reason string) (*Thread, error) {
	v := validation{}
	reason = cleanReason(v, "reason", reason, false)
	if every < 0 || every > SlowModeMax {
		v.add("seconds", "Slow mode is between 0 (off) and 86400 seconds.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	secs := int(every / time.Second)
	return s.threadAction(ctx, mod, threadID, "thread.slow_mode", reason, func(th *Thread) (string, string, map[string]any, error) {
		return fmt.Sprintf("%ds", th.SlowModeSeconds), fmt.Sprintf("%ds", secs), map[string]any{"slow_mode_seconds": secs}, nil
	})
}

// ExpirePins unpins threads whose pin has ended; the server calls it with
// maintenance. It returns how many it unpinned.
func (s *Store) ExpirePins(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&Thread{}).Where("pinned = TRUE AND pinned_until <= ?", s.now()).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	unpinned := 0
	for _, id := range ids {
		done := false
		err := s.write(ctx, func(tx *gorm.DB) error {
			// Only if still due: another instance may have unpinned it.
			res := tx.Model(&Thread{}).Where("id = ? AND pinned = TRUE AND pinned_until <= ?", id, s.now()).
				Updates(map[string]any{"pinned": false, "pinned_until": nil})
			done = res.Error == nil && res.RowsAffected > 0
			if !done {
				return res.Error
			}
			if err := s.emitThread(tx, id); err != nil {
				return err
			}
			return s.audit(tx, nil, "thread.unpin", "thread", id, "the pin expired", "pinned=true", "pinned=false")
		})
		if err != nil {
			return unpinned, err
		}
		if done {
			unpinned++
		}
	}
	return unpinned, nil
}
