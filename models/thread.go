package models

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Thread is a forum topic: a customer's report, or an incident's thread.
type Thread struct {
	ID              int64
	Title           string
	AuthorID        int64
	Author          *User `gorm:"foreignKey:AuthorID"`
	ServiceID       *int64
	Service         *Service  `gorm:"foreignKey:ServiceID"`
	IncidentID      *int64    // the incident it belongs to or is linked to
	Incident        *Incident `gorm:"foreignKey:IncidentID"`
	Locked          bool
	LockReason      string
	Pinned          bool
	PinnedUntil     *time.Time // nil: until unpinned
	SlowModeSeconds int        // least time between one customer's posts here
	MergedIntoID    *int64     // set when merged into another thread
	PostCount       int        // posts everyone may read, the first one included
	AffectedCount   int
	LastActivityAt  time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AffectedMark is one person saying "I'm affected" on a thread.
type AffectedMark struct {
	ThreadID  int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	CreatedAt time.Time
}

// Title limits, for threads and incidents alike.
const (
	TitleMinLen = 5
	TitleMaxLen = 150
)

// NewThread is the input for starting a thread.
type NewThread struct {
	Title     string
	Body      string
	ServiceID *int64
	SubmitKey string
}

func cleanTitle(v validation, title string) string {
	title = strings.Join(strings.FieldsFunc(title, unicode.IsSpace), " ")
	n := len([]rune(title))
	switch {
	case n == 0:
		v.add("title", "Write a title.")
	case n < TitleMinLen:
		v.add("title", "A title has at least 5 characters: say what is wrong.")
	case n > TitleMaxLen:
		v.add("title", "A title has at most 150 characters.")
	case strings.IndexFunc(title, unicode.IsControl) >= 0:
		v.add("title", "A title cannot contain control characters.")
	case strings.IndexFunc(title, isBidiControl) >= 0:
		v.add("title", "A title cannot contain text-direction control characters.")
	}
	return title
}

// isBidiControl tells the invisible characters that reorder text, which a
// title could use to show something other than what it says.
func isBidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// CreateThread starts a thread with its first post, indexes it for search
// and marks the author affected, all in one transaction. Submitting the same
// form twice (same SubmitKey) returns the first thread with created false.
//
// What is cheap to check comes before the text is rendered: the author's
// silence, the title, the text's size, and the posting pace (claimPost).
func (s *Store) CreateThread(ctx context.Context, author *User, in NewThread) (th *Thread, created bool, err error) {
	if err := author.Silenced(s.now()); err != nil {
		return nil, false, err
	}
	v := validation{}
	title := cleanTitle(v, in.Title)
	checkBody(v, &in.Body)
	key := cleanSubmitKey(v, in.SubmitKey)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	if err := checkService(s.db.WithContext(ctx), in.ServiceID); err != nil {
		return nil, false, err
	}
	claim, prev, err := s.claimPost(ctx, author, key, 0, in.Body)
	if err != nil {
		return nil, false, translate(err)
	}
	if prev != nil {
		return &Thread{ID: prev.ThreadID}, false, nil
	}
	defer func() { claim.release(ctx, created) }()
	html := s.renderBody(ctx, v, &in.Body)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	err = s.write(ctx, func(tx *gorm.DB) error {
		if prev, err := findSubmitted(tx, author.ID, key, 0, in.Body); err != nil || prev != nil {
			if prev != nil {
				th = &Thread{ID: prev.ThreadID}
			}
			return err
		}
		if err := checkService(tx, in.ServiceID); err != nil {
			return err
		}
		if err := s.checkPace(tx, author, nil); err != nil {
			return err
		}
		th = &Thread{Title: title, AuthorID: author.ID, ServiceID: in.ServiceID, PostCount: 1, AffectedCount: 1, LastActivityAt: now}
		if err := startThread(tx, th); err != nil {
			return err
		}
		p := &Post{ThreadID: th.ID, AuthorID: author.ID, AuthorRole: author.Role, Source: in.Body, HTML: html, SubmitKey: key}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if err := tx.Create(&AffectedMark{ThreadID: th.ID, UserID: author.ID, CreatedAt: now}).Error; err != nil {
			return err
		}
		created = true
		if err := s.indexPost(tx, p.ID, title, html); err != nil {
			return err
		}
		return s.published(tx, p, author.Role != RoleCustomer,
			NotifyJob{Kind: NotifyReply, ThreadID: th.ID, PostID: p.ID, ActorID: author.ID})
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return th, created, nil
}

// checkService refuses a service that is not in the catalogue.
func checkService(db *gorm.DB, id *int64) error {
	if id == nil {
		return nil
	}
	var n int64
	if err := db.Model(&Service{}).Where("id = ?", *id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return &ValidationError{Fields: map[string]string{"service_id": "Choose a service from the list."}}
	}
	return nil
}

// startThread inserts a new thread, which its author follows.
func startThread(tx *gorm.DB, th *Thread) error {
	if err := tx.Create(th).Error; err != nil {
		return err
	}
	return tx.Create(&Follow{ThreadID: th.ID, UserID: th.AuthorID, Level: FollowAll, CreatedAt: th.LastActivityAt}).Error
}

// ThreadFilter narrows the thread list.
type ThreadFilter struct {
	ServiceID *int64
	OpenOnly  bool // leave out locked threads
	Linked    bool // only threads of or linked to an incident
	// FollowerID keeps only the threads this user follows.
	FollowerID *int64
	// After keeps only the threads after this place in the list: the next
	// page, read by key (the page's number then counts no rows to skip).
	After *ThreadKey
}

// ListThreads lists threads, pinned first, then by latest activity. The page
// of ids comes from the index alone, so deep pages stay cheap.
func (s *Store) ListThreads(ctx context.Context, f ThreadFilter, p Page) (Paged[Thread], error) {
	p = p.Normalize(ThreadsPerPage)
	var threads []Thread
	err := s.db.WithContext(ctx).Preload("Author").Preload("Service").Preload("Incident").
		Where("id IN (?)", threadPageIDs(s.db.WithContext(ctx), f, p)).Order("pinned DESC, last_activity_at DESC, id DESC").Find(&threads).Error
	return paged(threads, p), translate(err)
}

// threadPageIDs selects the ids of one page of the list (one more, to tell
// whether a next page exists).
func threadPageIDs(db *gorm.DB, f ThreadFilter, p Page) *gorm.DB {
	ids := db.Model(&Thread{}).Select("id").Where("merged_into_id IS NULL")
	if f.ServiceID != nil {
		ids = ids.Where("service_id = ?", *f.ServiceID)
	}
	if f.OpenOnly {
		ids = ids.Where("locked = FALSE")
	}
	if f.Linked {
		ids = ids.Where("incident_id IS NOT NULL")
	}
	if f.FollowerID != nil {
		ids = ids.Where("id IN (SELECT thread_id FROM follows WHERE user_id = ?)", *f.FollowerID)
	}
	offset := p.offset()
	if f.After != nil {
		ids, offset = ids.Where("(pinned, last_activity_at, id) < (?, ?, ?)", f.After.Pinned, f.After.LastActivityAt.UTC(), f.After.ID), 0
	}
	return ids.Order("pinned DESC, last_activity_at DESC, id DESC").Offset(offset).Limit(p.PerPage + 1)
}

// SetAffected records or removes the user's "I'm affected" mark and returns
// the thread's new count. It is idempotent and atomic: the count is
// recomputed from the marks inside the write transaction.
func (s *Store) SetAffected(ctx context.Context, user *User, threadID int64, affected bool) (int, error) {
	var count int
	err := s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.Select("id", "merged_into_id").First(&th, threadID).Error; err != nil {
			return err
		}
		if th.MergedIntoID != nil {
			return &ConflictError{Message: fmt.Sprintf("This thread was merged into thread %d; say you are affected there.", *th.MergedIntoID)}
		}
		var err error
		if affected {
			err = tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&AffectedMark{ThreadID: threadID, UserID: user.ID, CreatedAt: s.now()}).Error
		} else {
			err = tx.Where("thread_id = ? AND user_id = ?", threadID, user.ID).Delete(&AffectedMark{}).Error
		}
		if err != nil {
			return err
		}
		if err := tx.Model(&Thread{}).Where("id = ?", threadID).
			Update("affected_count", gorm.Expr("(SELECT COUNT(*) FROM affected_marks WHERE thread_id = ?)", threadID)).Error; err != nil {
			return err
		}
		return tx.Model(&Thread{}).Select("affected_count").Where("id = ?", threadID).Scan(&count).Error
	})
	return count, translate(err)
}

// Marks are what one person has said of a thread, and how far they read it.
type Marks struct {
	Affected  bool
	Following bool
	Level     string // the follow's level, when following
	// LastRead is the last post they read (0: none, or not following);
	// FirstUnread the first readable post after it (0: none).
	LastRead    int64
	FirstUnread int64
	// UnreadNotices tells whether notifications about the thread wait
	// unread.
	UnreadNotices bool
}

// MarksOn reads the user's marks on a thread in one query.
func (s *Store) MarksOn(ctx context.Context, user *User, threadID int64) (Marks, error) {
	cond, args := visibleSQL("p", user)
	var m Marks
	err := s.db.WithContext(ctx).Raw(`SELECT
		EXISTS (SELECT 1 FROM affected_marks WHERE thread_id = ? AND user_id = ?) AS affected,
		f.user_id IS NOT NULL AS following, COALESCE(f.level, '') AS level, COALESCE(f.last_read_post_id, 0) AS last_read,
		COALESCE((SELECT MIN(p.id) FROM posts p WHERE p.thread_id = ? AND p.id > f.last_read_post_id AND `+cond+`), 0) AS first_unread,
		EXISTS (SELECT 1 FROM notifications WHERE user_id = ? AND thread_id = ? AND read_at IS NULL) AS unread_notices
		FROM (SELECT 1) AS one LEFT JOIN follows f ON f.thread_id = ? AND f.user_id = ?`,
		append(append([]any{threadID, user.ID, threadID}, args...), user.ID, threadID, threadID, user.ID)...).
		Row().Scan(&m.Affected, &m.Following, &m.Level, &m.LastRead, &m.FirstUnread, &m.UnreadNotices)
	return m, err
}
