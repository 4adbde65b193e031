package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Flag is one person's report of a post.
type Flag struct {
	ID          int64
	PostID      int64
	UserID      int64
	User        *User `gorm:"foreignKey:UserID"`
	Reason      string
	Note        string
	State       string // open, resolved, dismissed
	HandledByID *int64
	HandledBy   *User `gorm:"foreignKey:HandledByID"`
	HandledAt   *time.Time
	PrivateNote string
	CreatedAt   time.Time
}

// FlagReasons are the reasons a post may be flagged for.
var FlagReasons = []string{"spam", "abuse", "off_topic", "other"}

// DefaultFlagHideThreshold is how many distinct people flagging a post hide
// it pending review.
const DefaultFlagHideThreshold = 3

// FlagPost records user's flag on a post. One flag per person and post; the
// post is hidden pending review once FlagHideThreshold people with
// standing (standingSQL) flagged it. Flags from the others reach the queue
// all the same. A silenced person cannot flag.
func (s *Store) FlagPost(ctx context.Context, user *User, postID int64, reason, note string) (*Flag, error) {
	if err := user.Silenced(s.now()); err != nil {
		return nil, err
	}
	v := validation{}
	if !slices.Contains(FlagReasons, reason) {
		v.add("reason", "Choose a reason: spam, abuse, off_topic or other.")
	}
	if reason == "other" && strings.TrimSpace(note) == "" {
		v.add("note", "With “Other”, say in the note what is wrong: moderators read it.")
	}
	note = cleanReason(v, "note", note, false)
	if err := v.err(); err != nil {
		return nil, err
	}
	f := &Flag{UserID: user.ID, PostID: postID, Reason: reason, Note: note, State: "open", CreatedAt: s.now()}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var p Post
		if err := tx.First(&p, postID).Error; err != nil {
			return err
		}
		if !p.VisibleTo(user) {
			return ErrNotFound
		}
		if p.AuthorID == user.ID {
			return &ValidationError{Fields: map[string]string{"reason": "You cannot flag your own post; edit it instead."}}
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(f)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &ConflictError{Message: "You have flagged this post already; moderators will look at it."}
		}
		var open int64
		now := s.now()
		if err := tx.Table("flags f").Joins("JOIN users u ON u.id = f.user_id").
			Where("f.post_id = ? AND f.state = 'open'", postID).
			Where(standingSQL("u"), now, now.Add(-NewAccountAge)).Count(&open).Error; err != nil {
			return err
		}
		if p.HiddenAt != nil || p.Official || int(open) < s.FlagHideThreshold {
			return nil
		}
		// Flags alone never silence staff or moderators: their posts wait
		// for a moderator in the queue like the rest.
		var author User
		if err := tx.Select("role").First(&author, p.AuthorID).Error; err != nil {
			return err
		}
		if author.Role != RoleCustomer {
			return nil
		}
		reason := fmt.Sprintf("flagged by %d people", open)
		if err := s.setHidden(tx, &p, nil, reason); err != nil {
			return err
		}
		return s.audit(tx, nil, "post.auto_hide", "post", p.ID, reason, "visible", "hidden")
	})
	if err != nil {
		return nil, translate(err)
	}
	return f, nil
}

// OpenFlagCount counts the flags waiting for a moderator: one COUNT on
// the flags_state index, cheap enough for every moderator's page.
func (s *Store) OpenFlagCount(ctx context.Context) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Flag{}).Where("state = 'open'").Count(&n).Error
	return int(n), err
}

// FlaggedBy tells which of postIDs the user has flagged, whatever became
// of the flag: one flag per person and post.
func (s *Store) FlaggedBy(ctx context.Context, userID int64, postIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(postIDs) == 0 {
		return out, nil
	}
	// The range of the ids rather than each of them: four arguments
	// instead of a page's fifty, and a person's flags are few.
	lo, hi := slices.Min(postIDs), slices.Max(postIDs)
	var ids []int64
	if err := s.db.WithContext(ctx).Raw("SELECT post_id FROM flags WHERE user_id = ? AND post_id BETWEEN ? AND ?", userID, lo, hi).Scan(&ids).Error; err != nil {
		return nil, err
	}
	for _, id := range ids {
		if slices.Contains(postIDs, id) {
			out[id] = true
		}
	}
	return out, nil
}

// standingSQL is the rule for whose flags count towards hiding a post, as a
// condition on users aliased as alias, with two arguments: now and now -
// NewAccountAge. Staff, moderators and admins have standing; a customer
// has it once their account is older than a day and they have a post that
// everyone may read. Nobody silenced has it. An account made to hide a post
// must so wait a day and post, paced, something moderators leave up.
func standingSQL(alias string) string {
	return fmt.Sprintf(`(%[1]s.silenced_until IS NULL OR %[1]s.silenced_until <= ?)
		AND (%[1]s.role <> 'customer' OR %[1]s.created_at <= ? AND EXISTS (
			SELECT 1 FROM posts p WHERE p.author_id = %[1]s.id AND p.hidden_at IS NULL))`, alias)
}

// FlagGroup is a post with its flags, for the review queue.
type FlagGroup struct {
	Post   Post
	Thread Thread
	Flags  []Flag
}

// FlagQueue lists flagged posts, each with its flags, author and thread:
// the open flags, oldest first, or (handled) the resolved and dismissed
// ones, most recently handled first, with who handled them and their note.
func (s *Store) FlagQueue(ctx context.Context, handled bool, p Page) (Paged[FlagGroup], error) {
	p = p.Normalize(FlagsPerPage)
	state, order := "state = 'open'", "MIN(id)"
	if handled {
		state, order = "state <> 'open'", "MAX(handled_at) DESC, post_id DESC"
	}
	var ids []int64
	err := s.db.WithContext(ctx).Model(&Flag{}).Where(state).Group("post_id").
		Order(order).Offset(p.offset()).Limit(p.PerPage+1).Pluck("post_id", &ids).Error
	if err != nil || len(ids) == 0 {
		return Paged[FlagGroup]{Page: p}, err
	}
	var posts []Post
	if err := s.db.WithContext(ctx).Preload("Author").Where("id IN ?", ids).Find(&posts).Error; err != nil {
		return Paged[FlagGroup]{}, err
	}
	var flags []Flag
	if err := s.db.WithContext(ctx).Preload("User").Preload("HandledBy").Where("post_id IN ? AND "+state, ids).Order("id").Find(&flags).Error; err != nil {
		return Paged[FlagGroup]{}, err
	}
	threadIDs := make([]int64, 0, len(posts))
	for _, po := range posts {
		threadIDs = append(threadIDs, po.ThreadID)
	}
	var threads []Thread
	if err := s.db.WithContext(ctx).Where("id IN ?", threadIDs).Find(&threads).Error; err != nil {
		return Paged[FlagGroup]{}, err
	}
	groups := make([]FlagGroup, len(ids))
	for i, id := range ids {
		g := &groups[i]
		for _, po := range posts {
			if po.ID == id {
				g.Post = po
			}
		}
		for _, th := range threads {
			if th.ID == g.Post.ThreadID {
				g.Thread = th
			}
		}
		for _, f := range flags {
			if f.PostID == id {
				g.Flags = append(g.Flags, f)
			}
		}
	}
	return paged(groups, p), nil
}

// ResolveFlags handles every open flag on the post that flag flagID is
// about: "dismiss" (and restore the post if flags alone hid it) or "hide"
// the post with reason. note is private to moderators.
func (s *Store) ResolveFlags(ctx context.Context, mod *User, flagID int64, action, reason, note string) (*Post, error) {
	if err := requireModerator(mod); err != nil {
		return nil, err
	}
	v := validation{}
	if action != "dismiss" && action != "hide" {
		v.add("action", "The action is dismiss or hide.")
	}
	reason = cleanReason(v, "reason", reason, action == "hide")
	note = cleanReason(v, "note", note, false)
	if err := v.err(); err != nil {
		return nil, err
	}
	var p Post
	err := s.write(ctx, func(tx *gorm.DB) error {
		var f Flag
		if err := tx.First(&f, flagID).Error; err != nil {
			return err
		}
		if err := tx.First(&p, f.PostID).Error; err != nil {
			return err
		}
		state := "dismissed"
		if action == "hide" {
			state = "resolved"
		}
		handled, err := s.handleFlags(tx, &p, mod, state, note)
		if err != nil {
			return err
		}
		if handled == 0 {
			return &ConflictError{Message: "These flags were handled already."}
		}
		before := "visible"
		if p.HiddenAt != nil {
			before = "hidden"
		}
		after := before
		switch {
		case action == "hide":
			if err := s.setHidden(tx, &p, mod, reason); err != nil {
				return err
			}
			after = "hidden"
		case p.HiddenAt != nil && p.HiddenByID == nil: // hidden by flags alone
			if err := s.setVisible(tx, &p); err != nil {
				return err
			}
			after = "visible"
		}
		return s.audit(tx, mod, "flags."+action, "post", p.ID, reason, before, after)
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// UserFlags lists flags on a user's posts, newest first.
func (s *Store) UserFlags(ctx context.Context, userID int64) ([]Flag, error) {
	var out []Flag
	err := s.db.WithContext(ctx).Preload("User").Preload("HandledBy").
		Where("post_id IN (SELECT id FROM posts WHERE author_id = ?)", userID).Order("id DESC").Limit(MaxPerPage).Find(&out).Error
	return out, err
}

// handleFlags closes the open flags on p as state (resolved: the post was
// hidden; dismissed) and tells the people who raised them. It returns how
// many it closed.
func (s *Store) handleFlags(tx *gorm.DB, p *Post, mod *User, state, note string) (int, error) {
	var flaggers []int64
	if err := tx.Model(&Flag{}).Where("post_id = ? AND state = 'open'", p.ID).Pluck("user_id", &flaggers).Error; err != nil {
		return 0, err
	}
	if len(flaggers) == 0 {
		return 0, nil
	}
	if err := tx.Model(&Flag{}).Where("post_id = ? AND state = 'open'", p.ID).Updates(map[string]any{
		"state": state, "handled_by_id": mod.ID, "handled_at": s.now(), "private_note": note}).Error; err != nil {
		return 0, err
	}
	outcome := "the post is hidden"
	if state == "dismissed" {
		outcome = "a moderator read the post and left it as it is"
	}
	return len(flaggers), s.notify(tx, NotifyJob{Kind: NotifyFlagHandled, ThreadID: p.ThreadID, ActorID: mod.ID,
		UserIDs: flaggers, Detail: outcome})
}
