package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// HidePost hides a post with a reason; its author and moderators can still
// read it, everyone else sees a placeholder. Open flags on it are resolved.
func (s *Store) HidePost(ctx context.Context, mod *User, postID int64, reason string) (*Post, error) {
	return s.moderatePost(ctx, mod, postID, reason, true)
}

// UnhidePost restores a hidden post.
func (s *Store) UnhidePost(ctx context.Context, mod *User, postID int64, reason string) (*Post, error) {
	return s.moderatePost(ctx, mod, postID, reason, false)
}

func (s *Store) moderatePost(ctx context.Context, mod *User, postID int64, reason string, hide bool) (*Post, error) {
	reason, err := moderatorReason(mod, reason, hide)
	if err != nil {
		return nil, err
	}
	var p Post
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&p, postID).Error; err != nil {
			return err
		}
		if hide {
			if p.HiddenAt != nil && p.HiddenByID != nil {
				return &ConflictError{Message: "This post is hidden already."}
			}
			before := "visible"
			if p.HiddenAt != nil {
				before = "hidden pending review"
			}
			if err := s.setHidden(tx, &p, mod, reason); err != nil {
				return err
			}
			if _, err := s.handleFlags(tx, &p, mod, "resolved", ""); err != nil {
				return err
			}
			return s.audit(tx, mod, "post.hide", "post", p.ID, reason, before, "hidden")
		}
		if p.HiddenAt == nil {
			return &ConflictError{Message: "This post is not hidden."}
		}
		before := p.HiddenReason
		if err := s.setVisible(tx, &p); err != nil {
			return err
		}
		return s.audit(tx, mod, "post.unhide", "post", p.ID, reason, "hidden: "+before, "visible")
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// setHidden hides p (or changes who hid it and why) and keeps the thread's
// count of readable posts right.
func (s *Store) setHidden(tx *gorm.DB, p *Post, by *User, reason string) error {
	now := s.now()
	wasVisible := p.HiddenAt == nil
	p.HiddenAt, p.HiddenReason, p.HiddenByID = &now, reason, nil
	if by != nil {
		p.HiddenByID = &by.ID
	}
	if err := tx.Model(&Post{}).Where("id = ?", p.ID).Updates(map[string]any{
		"hidden_at": now, "hidden_by_id": p.HiddenByID, "hidden_reason": reason}).Error; err != nil {
		return err
	}
	if !wasVisible {
		return nil
	}
	if err := s.emitPost(tx, p.ThreadID, p.ID, true); err != nil {
		return err
	}
	return recountThread(tx, p.ThreadID)
}

func (s *Store) setVisible(tx *gorm.DB, p *Post) error {
	p.HiddenAt, p.HiddenByID, p.HiddenReason = nil, nil, ""
	if err := tx.Model(&Post{}).Where("id = ?", p.ID).Updates(map[string]any{
		"hidden_at": nil, "hidden_by_id": nil, "hidden_reason": ""}).Error; err != nil {
		return err
	}
	if err := s.emitPost(tx, p.ThreadID, p.ID, true); err != nil {
		return err
	}
	return recountThread(tx, p.ThreadID)
}

// recountThread sets a thread's readable post count and last activity from
// its posts.
func recountThread(tx *gorm.DB, threadID int64) error {
	return tx.Exec(`UPDATE threads SET
		post_count = (SELECT COUNT(*) FROM posts WHERE thread_id = threads.id AND hidden_at IS NULL),
		last_activity_at = COALESCE((SELECT MAX(created_at) FROM posts WHERE thread_id = threads.id), created_at)
		WHERE id = ?`, threadID).Error
}

// MovePost moves a reply to another thread, where it takes its place in
// time order. A thread's first post and official updates stay put (merge
// the thread instead).
func (s *Store) MovePost(ctx context.Context, mod *User, postID, toThreadID int64, reason string) (*Post, error) {
	reason, err := moderatorReason(mod, reason, false)
	if err != nil {
		return nil, err
	}
	var p Post
	err = s.write(ctx, func(tx *gorm.DB) error {
		v := validation{}
		if err := tx.First(&p, postID).Error; err != nil {
			return err
		}
		var to Thread
		if err := tx.First(&to, toThreadID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return &ValidationError{Fields: map[string]string{"thread_id": "No thread has this number."}}
			}
			return err
		}
		var first int64
		if err := tx.Model(&Post{}).Where("thread_id = ?", p.ThreadID).Select("MIN(id)").Scan(&first).Error; err != nil {
			return err
		}
		var official int64
		if err := tx.Model(&IncidentUpdate{}).Where("post_id = ?", p.ID).Count(&official).Error; err != nil {
			return err
		}
		switch {
		case to.ID == p.ThreadID:
			v.add("thread_id", "The post is in this thread already.")
		case to.MergedIntoID != nil:
			v.add("thread_id", "That thread was merged; move the post to the thread it was merged into.")
		case first == p.ID:
			v.add("thread_id", "This is the thread's first post; merge the thread instead.")
		case p.CreatedAt.Before(to.CreatedAt):
			v.add("thread_id", "That thread started after this post was written; the post would become its opening post.")
		case official > 0:
			v.add("thread_id", "Official updates stay in their incident's thread.")
		}
		if err := v.err(); err != nil {
			return err
		}
		from := p.ThreadID
		// A moderator's move is final: an unmerge no longer takes it back.
		if err := tx.Model(&Post{}).Where("id = ?", p.ID).Updates(map[string]any{"thread_id": to.ID, "merged_from_id": nil}).Error; err != nil {
			return err
		}
		p.ThreadID, p.MergedFromID = to.ID, nil
		if err := recountThread(tx, from); err != nil {
			return err
		}
		if err := recountThread(tx, to.ID); err != nil {
			return err
		}
		// Both threads' readers see it: gone from one, there in the other.
		for _, th := range []int64{from, to.ID} {
			if err := s.emitPost(tx, th, p.ID, true); err != nil {
				return err
			}
		}
		return s.audit(tx, mod, "post.move", "post", p.ID, reason, fmt.Sprintf("thread %d", from), fmt.Sprintf("thread %d", to.ID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}
