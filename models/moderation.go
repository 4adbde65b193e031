package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ReasonMaxLen bounds moderation reasons and notes.
const ReasonMaxLen = 500

func cleanReason(v validation, field, reason string, required bool) string {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "" && required:
		v.add(field, "Give a reason; the person concerned is told.")
	case utf8.RuneCountInString(reason) > ReasonMaxLen:
		v.add(field, "A reason has at most 500 characters.")
	case strings.ContainsFunc(reason, func(r rune) bool { return r < ' ' && r != '\n' }):
		v.add(field, "A reason cannot contain control characters.")
	}
	return reason
}

func requireModerator(u *User) error {
	if u == nil || !u.Role.CanModerate() {
		return ErrForbidden
	}
	return nil
}

// moderatorReason opens a moderator's action that takes nothing but a
// reason: it refuses anyone else and returns the cleaned reason.
func moderatorReason(mod *User, reason string, required bool) (string, error) {
	if err := requireModerator(mod); err != nil {
		return "", err
	}
	v := validation{}
	reason = cleanReason(v, "reason", reason, required)
	return reason, v.err()
}

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
	p = p.Normalize(50)
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
	err := db.Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// AuditActions lists the actions the log has recorded, for its filter.
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&AuditEntry{}).Distinct("action").Order("action").Pluck("action", &out).Error
	return out, err
}

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
// post is hidden pending review once FlagHideThreshold people flagged it.
func (s *Store) FlagPost(ctx context.Context, user *User, postID int64, reason, note string) (*Flag, error) {
	v := validation{}
	if !slices.Contains(FlagReasons, reason) {
		v.add("reason", "Choose a reason: spam, abuse, off_topic or other.")
	}
	note = cleanReason(v, "note", note, reason == "other")
	if err := v.err(); err != nil {
		return nil, err
	}
	f := &Flag{UserID: user.ID, PostID: postID, Reason: reason, Note: note, State: "open", CreatedAt: s.now()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
		if err := tx.Model(&Flag{}).Where("post_id = ? AND state = 'open'", postID).Count(&open).Error; err != nil {
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
	p = p.Normalize(25)
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
		res := tx.Model(&Flag{}).Where("post_id = ? AND state = 'open'", p.ID).Updates(map[string]any{
			"state": state, "handled_by_id": mod.ID, "handled_at": s.now(), "private_note": note})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
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
	return recountThread(tx, p.ThreadID)
}

func (s *Store) setVisible(tx *gorm.DB, p *Post) error {
	p.HiddenAt, p.HiddenByID, p.HiddenReason = nil, nil, ""
	if err := tx.Model(&Post{}).Where("id = ?", p.ID).Updates(map[string]any{
		"hidden_at": nil, "hidden_by_id": nil, "hidden_reason": ""}).Error; err != nil {
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
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
			if err := tx.Model(&Flag{}).Where("post_id = ? AND state = 'open'", p.ID).Updates(map[string]any{
				"state": "resolved", "handled_by_id": mod.ID, "handled_at": s.now()}).Error; err != nil {
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

// MovePost moves a reply to another thread, where it takes its place in
// time order. A thread's first post and official updates stay put (merge
// the thread instead).
func (s *Store) MovePost(ctx context.Context, mod *User, postID, toThreadID int64, reason string) (*Post, error) {
	reason, err := moderatorReason(mod, reason, false)
	if err != nil {
		return nil, err
	}
	var p Post
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
		return s.audit(tx, mod, "post.move", "post", p.ID, reason, fmt.Sprintf("thread %d", from), fmt.Sprintf("thread %d", to.ID))
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// MergeThread moves every post of thread fromID into intoID (they keep their
// time order), carries the affected marks and followers over without counting
// anyone twice, and leaves fromID as a pointer so its address redirects.
func (s *Store) MergeThread(ctx context.Context, mod *User, fromID, intoID int64, reason string) (*Thread, error) {
	reason, err := moderatorReason(mod, reason, false)
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
		for _, table := range []string{"affected_marks", "follows"} {
			if err := tx.Exec(`INSERT OR IGNORE INTO `+table+` (thread_id, user_id, created_at)
				SELECT ?, user_id, created_at FROM `+table+` WHERE thread_id = ?`, into.ID, from.ID).Error; err != nil {
				return err
			}
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
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
	if err := s.db.WithContext(ctx).Model(&Thread{}).Where("pinned = 1 AND pinned_until <= ?", s.now()).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	for _, id := range ids {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&Thread{}).Where("id = ? AND pinned = 1 AND pinned_until <= ?", id, s.now()).
				Updates(map[string]any{"pinned": false, "pinned_until": nil})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			return s.audit(tx, nil, "thread.unpin", "thread", id, "the pin expired", "pinned=true", "pinned=false")
		})
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Sanction kinds.
const (
	SanctionWarning    = "warning"
	SanctionSilence    = "silence"
	SanctionSuspension = "suspension"
)

// Sanction is a warning, silence or suspension of a user.
type Sanction struct {
	ID          int64
	UserID      int64
	Kind        string
	Reason      string
	EndsAt      *time.Time
	CreatedByID int64
	CreatedBy   *User `gorm:"foreignKey:CreatedByID"`
	CreatedAt   time.Time
	LiftedAt    *time.Time
	LiftedByID  *int64
}

// Active tells whether a silence or suspension is still in force.
func (x *Sanction) Active(now time.Time) bool {
	return x.Kind != SanctionWarning && x.LiftedAt == nil && x.EndsAt != nil && x.EndsAt.After(now)
}

// checkSanctionable refuses sanctioning oneself or an equal or higher role.
// Moderators keep the customers' forum in order; only an admin sanctions
// staff, who must be able to speak on the day of an outage.
func checkSanctionable(mod, target *User) error {
	switch {
	case mod.ID == target.ID:
		return &DeniedError{Message: "You cannot sanction yourself."}
	case target.Role.Rank() >= mod.Role.Rank():
		return &DeniedError{Message: "You cannot sanction someone whose role is equal to or higher than yours."}
	case mod.Role != RoleAdmin && target.Role != RoleCustomer:
		return &DeniedError{Message: "Moderators sanction customers; ask an admin about a staff member."}
	}
	return nil
}

// CanSanction tells whether u may sanction target (the rule above).
func (u *User) CanSanction(target *User) bool { return checkSanctionable(u, target) == nil }

// SanctionUser warns, silences or suspends a user. Silence and suspension
// need an end time; a suspension stops the user's sessions and tokens on
// their next request.
func (s *Store) SanctionUser(ctx context.Context, mod *User, userID int64, kind, reason string, until *time.Time) (*Sanction, error) {
	if err := requireModerator(mod); err != nil {
		return nil, err
	}
	v := validation{}
	reason = cleanReason(v, "reason", reason, true)
	switch kind {
	case SanctionWarning:
		until = nil
	case SanctionSilence, SanctionSuspension:
		if until == nil || !until.After(s.now()) {
			v.add("until", "Give an end time in the future.")
		} else if until.After(s.now().AddDate(10, 0, 0)) {
			v.add("until", "A sanction ends within 10 years.")
		} else {
			u := until.UTC()
			until = &u
		}
	default:
		v.add("kind", "The sanction is warning, silence or suspension.")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	x := &Sanction{UserID: userID, Kind: kind, Reason: reason, EndsAt: until, CreatedByID: mod.ID, CreatedAt: s.now()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var target User
		if err := tx.First(&target, userID).Error; err != nil {
			return err
		}
		if err := checkSanctionable(mod, &target); err != nil {
			return err
		}
		// A shorter silence or suspension would quietly end a longer one
		// in force: lifting comes first.
		current := map[string]*time.Time{SanctionSilence: target.SilencedUntil, SanctionSuspension: target.SuspendedUntil}[kind]
		if current != nil && current.After(*until) {
			return &ConflictError{Message: fmt.Sprintf("%s is already under a %s until %s. Lift it first to set a shorter one.",
				target.Name, kind, current.UTC().Format("2 Jan 2006 15:04 UTC"))}
		}
		if err := tx.Create(x).Error; err != nil {
			return err
		}
		cols := map[string][2]string{SanctionSilence: {"silenced_until", "silence_reason"}, SanctionSuspension: {"suspended_until", "suspension_reason"}}
		if col, ok := cols[kind]; ok {
			if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{col[0]: until, col[1]: reason}).Error; err != nil {
				return err
			}
		}
		after := kind
		if until != nil {
			after += " until " + until.Format(time.RFC3339)
		}
		return s.audit(tx, mod, "user."+kind, "user", userID, reason, "", after)
	})
	if err != nil {
		return nil, translate(err)
	}
	return x, nil
}

// LiftSanctions ends a user's active silence and suspension.
func (s *Store) LiftSanctions(ctx context.Context, mod *User, userID int64, reason string) error {
	reason, err := moderatorReason(mod, reason, true)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var target User
		if err := tx.First(&target, userID).Error; err != nil {
			return err
		}
		if err := checkSanctionable(mod, &target); err != nil {
			return err
		}
		now := s.now()
		res := tx.Model(&Sanction{}).Where("user_id = ? AND kind <> 'warning' AND lifted_at IS NULL AND ends_at > ?", userID, now).
			Updates(map[string]any{"lifted_at": now, "lifted_by_id": mod.ID})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &ConflictError{Message: "This user is neither silenced nor suspended."}
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{
			"silenced_until": nil, "silence_reason": "", "suspended_until": nil, "suspension_reason": ""}).Error; err != nil {
			return err
		}
		return s.audit(tx, mod, "user.lift", "user", userID, reason, "sanctioned", "lifted")
	})
	return translate(err)
}

// Sanctions lists a user's sanctions, newest first.
func (s *Store) Sanctions(ctx context.Context, userID int64) ([]Sanction, error) {
	var out []Sanction
	err := s.db.WithContext(ctx).Preload("CreatedBy").Where("user_id = ?", userID).Order("id DESC").Limit(MaxPerPage).Find(&out).Error
	return out, err
}

// Silenced returns the error that refuses a silenced user's posts, or nil.
func (u *User) Silenced(now time.Time) error {
	if u.SilencedUntil != nil && u.SilencedUntil.After(now) {
		return &SanctionedError{Kind: SanctionSilence, Until: *u.SilencedUntil, Reason: u.SilenceReason}
	}
	return nil
}

// Suspended returns the error that refuses a suspended user, or nil.
func (u *User) Suspended(now time.Time) error {
	if u.SuspendedUntil != nil && u.SuspendedUntil.After(now) {
		return &SanctionedError{Kind: SanctionSuspension, Until: *u.SuspendedUntil, Reason: u.SuspensionReason}
	}
	return nil
}

// UserPosts lists a user's posts newest first (moderator's user page).
func (s *Store) UserPosts(ctx context.Context, userID int64, p Page) (Paged[Post], error) {
	p = p.Normalize(25)
	var out []Post
	err := s.db.WithContext(ctx).Where("author_id = ?", userID).Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// UserFlags lists flags on a user's posts, newest first.
func (s *Store) UserFlags(ctx context.Context, userID int64) ([]Flag, error) {
	var out []Flag
	err := s.db.WithContext(ctx).Preload("User").Preload("HandledBy").
		Where("post_id IN (SELECT id FROM posts WHERE author_id = ?)", userID).Order("id DESC").Limit(MaxPerPage).Find(&out).Error
	return out, err
}
