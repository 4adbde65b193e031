package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Follow levels: how much a person following a thread is told.
const (
	FollowAll      = "all"      // every reply, and all that official does
	FollowOfficial = "official" // official updates, linking and resolution
	FollowMuted    = "muted"    // nothing, not even a reply's notice
)

// FollowLevels lists the levels, loudest first.
var FollowLevels = []string{FollowAll, FollowOfficial, FollowMuted}

// Follow is one person following a thread: it shows in their list of
// followed threads (the forum's "Threads I follow"), and they are notified
// as its level says. Authors follow the threads they start, repliers the
// threads they reply to. LastReadPostID is how far they have read.
type Follow struct {
	ThreadID       int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID         int64 `gorm:"primaryKey;autoIncrement:false"`
	Level          string
	LastReadPostID int64
	CreatedAt      time.Time
}

// follow makes the user follow a thread at level, in tx; a new follower has
// read what the thread holds so far.
func (s *Store) follow(tx *gorm.DB, threadID, userID int64, level string) error {
	return tx.Exec(`INSERT INTO follows (thread_id, user_id, level, last_read_post_id, created_at)
		VALUES (?, ?, ?, COALESCE((SELECT MAX(id) FROM posts WHERE thread_id = ?), 0), ?)
		ON CONFLICT (thread_id, user_id) DO UPDATE SET level = excluded.level`,
		threadID, userID, level, threadID, s.now()).Error
}

// followOnReply makes a replier follow the thread at FollowAll unless they
// muted it.
func (s *Store) followOnReply(tx *gorm.DB, threadID, userID, postID int64) error {
	return tx.Exec(`INSERT INTO follows (thread_id, user_id, level, last_read_post_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (thread_id, user_id) DO UPDATE SET level = CASE WHEN follows.level = ? THEN follows.level ELSE ? END,
			last_read_post_id = excluded.last_read_post_id`,
		threadID, userID, FollowAll, postID, s.now(), FollowMuted, FollowAll).Error
}

// defaultFollowLevel is the level a person follows a thread at when they
// do not say: official updates only on an incident's own thread (its
// replies are many on an outage day), every reply elsewhere.
func defaultFollowLevel(incidentThread bool) string {
	if incidentThread {
		return FollowOfficial
	}
	return FollowAll
}

// SetFollowing makes the user follow a thread at level ("" for the
// thread's default), or stop following it (follow false); both are
// idempotent. It returns the level now in force ("" when not following).
func (s *Store) SetFollowing(ctx context.Context, user *User, threadID int64, follow bool, level string) (string, error) {
	if follow && level != "" && !slices.Contains(FollowLevels, level) {
		return "", &ValidationError{Fields: map[string]string{"level": "The level is all, official or muted."}}
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.Select("id", "merged_into_id").First(&th, threadID).Error; err != nil {
			return err
		}
		if th.MergedIntoID != nil {
			return &ConflictError{Message: fmt.Sprintf("This thread was merged into thread %d; follow that one.", *th.MergedIntoID)}
		}
		if !follow {
			return tx.Where("thread_id = ? AND user_id = ?", threadID, user.ID).Delete(&Follow{}).Error
		}
		if level == "" {
			var own int64
			if err := tx.Model(&Incident{}).Where("thread_id = ?", threadID).Count(&own).Error; err != nil {
				return err
			}
			level = defaultFollowLevel(own > 0)
		}
		return s.follow(tx, threadID, user.ID, level)
	})
	if !follow {
		level = ""
	}
	return level, translate(err)
}

// MarkRead records that the user has read a thread up to postID (never
// backwards) and marks their notifications about it read. It writes only
// when something changes.
func (s *Store) MarkRead(ctx context.Context, userID, threadID, postID int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Follow{}).Where("thread_id = ? AND user_id = ? AND last_read_post_id < ?", threadID, userID, postID).
			Update("last_read_post_id", postID).Error; err != nil {
			return err
		}
		return tx.Model(&Notification{}).Where("user_id = ? AND thread_id = ? AND read_at IS NULL", userID, threadID).
			Update("read_at", s.now()).Error
	})
}

// FollowState is what a follower has not read of a thread.
type FollowState struct {
	Level string
	// Unread counts the posts the follower may read that came after the
	// last one they read; FirstUnread is the first of them (0: none).
	Unread      int
	FirstUnread int64
}

// FollowStates reads the user's follow of each of the threads, keyed by
// thread id; threads they do not follow are absent. One query.
func (s *Store) FollowStates(ctx context.Context, user *User, threadIDs []int64) (map[int64]FollowState, error) {
	out := map[int64]FollowState{}
	if len(threadIDs) == 0 {
		return out, nil
	}
	cond, args := visibleSQL("p", user)
	var rows []struct {
		ThreadID    int64
		Level       string
		Unread      int
		FirstUnread int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT f.thread_id, f.level,
			(SELECT COUNT(*) FROM posts p WHERE p.thread_id = f.thread_id AND p.id > f.last_read_post_id AND `+cond+`) AS unread,
			COALESCE((SELECT MIN(p.id) FROM posts p WHERE p.thread_id = f.thread_id AND p.id > f.last_read_post_id AND `+cond+`), 0) AS first_unread
		FROM follows f WHERE f.user_id = ? AND f.thread_id IN ?`,
		append(append(append(args, args...), user.ID), threadIDs)...).Scan(&rows).Error
	for _, r := range rows {
		out[r.ThreadID] = FollowState{Level: r.Level, Unread: r.Unread, FirstUnread: r.FirstUnread}
	}
	return out, err
}
