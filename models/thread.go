package models

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"sitrep/server/markup"
)

// Thread is a forum topic: a customer's report, or an incident's thread.
type Thread struct {
	ID              int64
	Title           string
	AuthorID        int64
	Author          *User `gorm:"foreignKey:AuthorID"`
	ServiceID       *int64
	Service         *Service `gorm:"foreignKey:ServiceID"`
	IncidentID      *int64   // the incident it belongs to or is linked to
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

// Post is one message in a thread. Source is the author's Markdown; HTML is
// its sanitized rendering, made once when the post is written or edited.
type Post struct {
	ID           int64
	ThreadID     int64
	AuthorID     int64
	Author       *User `gorm:"foreignKey:AuthorID"`
	Source       string
	HTML         template.HTML `gorm:"column:html"`
	Official     bool
	SubmitKey    *string
	EditedAt     *time.Time
	HiddenAt     *time.Time
	HiddenByID   *int64
	HiddenReason string
	MergedFromID *int64 // the thread it was in before a merge brought it here
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PostRevision keeps the text a post had before an edit.
type PostRevision struct {
	ID        int64
	PostID    int64
	EditorID  int64
	Editor    *User `gorm:"foreignKey:EditorID"`
	Source    string
	HTML      template.HTML `gorm:"column:html"`
	CreatedAt time.Time
}

// AffectedMark is one person saying "I'm affected" on a thread.
type AffectedMark struct {
	ThreadID  int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	CreatedAt time.Time
}

// Field limits for the forum.
const (
	TitleMinLen = 5
	TitleMaxLen = 150
	// SubmitKeyMaxLen bounds the duplicate-submit key a form or API client sends.
	SubmitKeyMaxLen = 64
)

// Posting limits: the least time between two posts of one customer, longer
// for accounts younger than NewAccountAge. Staff, moderators and admins are
// not limited: on an outage day they must be able to speak.
const (
	PostInterval           = 10 * time.Second
	NewAccountPostInterval = 60 * time.Second
	NewAccountAge          = 24 * time.Hour
)

// VisibleTo is the one visibility rule for posts: a hidden post may be read
// by its author and by moderators only. Every list, count, feed, search and
// API answer follows it (visibleSQL is the same rule for queries).
func (p *Post) VisibleTo(viewer *User) bool {
	return p.HiddenAt == nil || viewer != nil && (viewer.ID == p.AuthorID || viewer.Role.CanModerate())
}

// visibleSQL is VisibleTo as a WHERE clause on the posts table aliased as
// alias.
func visibleSQL(alias string, viewer *User) (string, []any) {
	switch {
	case viewer != nil && viewer.Role.CanModerate():
		return "1 = 1", nil
	case viewer != nil:
		return fmt.Sprintf("(%[1]s.hidden_at IS NULL OR %[1]s.author_id = ?)", alias), []any{viewer.ID}
	}
	return alias + ".hidden_at IS NULL", nil
}

// NewThread is the input for starting a thread.
type NewThread struct {
	Title     string
	Body      string
	ServiceID *int64
	SubmitKey string
}

// NewPost is the input for a reply.
type NewPost struct {
	Body      string
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

// renderBody validates and renders a post's Markdown. It first turns the
// CRLF line breaks browsers send into LF, so that the stored source is the
// same whether it came from a form or the API.
func renderBody(v validation, src *string) template.HTML {
	*src = strings.ReplaceAll(*src, "\r\n", "\n")
	body := *src
	if strings.TrimSpace(body) == "" {
		v.add("body", "Write something first.")
		return ""
	}
	// Tabs and line breaks are text; other control characters are not, and
	// some mean something elsewhere (search marks its hits with two).
	if strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
		v.add("body", "The text contains control characters; remove them.")
		return ""
	}
	html, err := markup.Render(body)
	if err != nil {
		v.add("body", err.Error())
	}
	return html
}

func cleanSubmitKey(v validation, key string) *string {
	if key == "" {
		return nil
	}
	if len(key) > SubmitKeyMaxLen {
		v.add("submit_key", "The submit key has at most 64 characters.")
	}
	return &key
}

// checkPace refuses a post that comes too soon after the author's last one.
// It runs inside the write transaction, so two concurrent posts cannot both
// pass.
func (s *Store) checkPace(tx *gorm.DB, author *User, th *Thread) error {
	if err := author.Silenced(s.now()); err != nil {
		return err
	}
	if author.Role != RoleCustomer {
		return nil
	}
	if th != nil && th.SlowModeSeconds > 0 {
		var last Post
		err := tx.Select("created_at").Where("author_id = ? AND thread_id = ?", author.ID, th.ID).Order("id DESC").Limit(1).Find(&last).Error
		if err != nil {
			return err
		}
		if wait := last.CreatedAt.Add(time.Duration(th.SlowModeSeconds) * time.Second).Sub(s.now()); !last.CreatedAt.IsZero() && wait > 0 {
			return &RateLimitError{RetryAfter: wait, Message: fmt.Sprintf(
				"This thread is in slow mode: one post every %s. Please wait %d more second(s).",
				time.Duration(th.SlowModeSeconds)*time.Second, int(wait.Seconds()+0.999))}
		}
	}
	interval := PostInterval
	if s.now().Sub(author.CreatedAt) < NewAccountAge {
		interval = NewAccountPostInterval
	}
	var last Post
	err := tx.Select("created_at").Where("author_id = ?", author.ID).Order("created_at DESC").Limit(1).Find(&last).Error
	if err != nil || last.CreatedAt.IsZero() {
		return err
	}
	if wait := last.CreatedAt.Add(interval).Sub(s.now()); wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		return &RateLimitError{RetryAfter: wait, Message: fmt.Sprintf(
			"You are posting too fast. Please wait %d more second(s).", secs)}
	}
	return nil
}

// findSubmitted returns the post an earlier submit of the same form made.
// threadID is where the new post would go (0 for a new thread); body is its
// text. The earlier post must be the same request.
func findSubmitted(tx *gorm.DB, authorID int64, key *string, threadID int64, body string) (*Post, error) {
	if key == nil {
		return nil, nil
	}
	var p Post
	err := tx.Where("author_id = ? AND submit_key = ?", authorID, *key).Limit(1).Find(&p).Error
	if err != nil || p.ID == 0 {
		return nil, err
	}
	if p.Source != body {
		return nil, errKeyReused
	}
	if threadID == 0 { // the key must have started a thread
		var first int64
		if err := tx.Model(&Post{}).Where("thread_id = ?", p.ThreadID).Select("MIN(id)").Scan(&first).Error; err != nil {
			return nil, err
		}
		if first != p.ID {
			return nil, errKeyReused
		}
	} else if p.ThreadID != threadID {
		return nil, errKeyReused
	}
	return &p, nil
}

// CreateThread starts a thread with its first post, indexes it for search
// and marks the author affected, all in one transaction. Submitting the same
// form twice (same SubmitKey) returns the first thread with created false.
func (s *Store) CreateThread(ctx context.Context, author *User, in NewThread) (th *Thread, created bool, err error) {
	v := validation{}
	title := cleanTitle(v, in.Title)
	html := renderBody(v, &in.Body)
	key := cleanSubmitKey(v, in.SubmitKey)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if prev, err := findSubmitted(tx, author.ID, key, 0, in.Body); err != nil || prev != nil {
			if prev != nil {
				th = &Thread{ID: prev.ThreadID}
			}
			return err
		}
		if in.ServiceID != nil {
			var n int64
			if err := tx.Model(&Service{}).Where("id = ?", *in.ServiceID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return &ValidationError{Fields: map[string]string{"service_id": "Choose a service from the list."}}
			}
		}
		if err := s.checkPace(tx, author, nil); err != nil {
			return err
		}
		th = &Thread{Title: title, AuthorID: author.ID, ServiceID: in.ServiceID, PostCount: 1, AffectedCount: 1, LastActivityAt: now}
		if err := startThread(tx, th); err != nil {
			return err
		}
		p := &Post{ThreadID: th.ID, AuthorID: author.ID, Source: in.Body, HTML: html, SubmitKey: key}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if err := tx.Create(&AffectedMark{ThreadID: th.ID, UserID: author.ID, CreatedAt: now}).Error; err != nil {
			return err
		}
		created = true
		return indexPost(tx, p.ID, title, html)
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return th, created, nil
}

// CreateReply adds a post to a thread and bumps the thread's counters and
// activity time in the same transaction.
func (s *Store) CreateReply(ctx context.Context, author *User, threadID int64, in NewPost) (p *Post, created bool, err error) {
	v := validation{}
	html := renderBody(v, &in.Body)
	key := cleanSubmitKey(v, in.SubmitKey)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		if prev, err := findSubmitted(tx, author.ID, key, th.ID, in.Body); err != nil || prev != nil {
			p = prev
			return err
		}
		if th.MergedIntoID != nil {
			return &ConflictError{Message: fmt.Sprintf("This thread was merged into thread %d; reply there.", *th.MergedIntoID)}
		}
		if th.Locked {
			return &LockedError{Reason: th.LockReason}
		}
		if err := s.checkPace(tx, author, &th); err != nil {
			return err
		}
		p = &Post{ThreadID: th.ID, AuthorID: author.ID, Source: in.Body, HTML: html, SubmitKey: key}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if err := tx.Model(&Thread{}).Where("id = ?", th.ID).Updates(map[string]any{
			"post_count": gorm.Expr("post_count + 1"), "last_activity_at": p.CreatedAt, "updated_at": p.CreatedAt,
		}).Error; err != nil {
			return err
		}
		created = true
		return indexPost(tx, p.ID, "", html)
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return p, created, nil
}

// indexPost writes a post's searchable text; the first post of a thread also
// carries the title.
func indexPost(tx *gorm.DB, postID int64, title string, html template.HTML) error {
	return tx.Exec("INSERT OR REPLACE INTO post_search (docid, title, body) VALUES (?, ?, ?)",
		postID, title, markup.Text(html)).Error
}

// CanEdit tells whether user may edit p: authors their own posts, moderators
// any post. Official posts are staff business (the incident workflow).
func (p *Post) CanEdit(user *User) bool {
	if user == nil || !p.VisibleTo(user) {
		return false
	}
	if p.Official {
		return user.Role.IsStaff()
	}
	return user.ID == p.AuthorID || user.Role.CanModerate()
}

// EditPost replaces a post's text, keeping the previous text as a revision.
func (s *Store) EditPost(ctx context.Context, editor *User, postID int64, body string) (*Post, error) {
	v := validation{}
	html := renderBody(v, &body)
	if err := v.err(); err != nil {
		return nil, err
	}
	var p Post
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&p, postID).Error; err != nil {
			return err
		}
		if !p.VisibleTo(editor) {
			return ErrNotFound
		}
		if !p.CanEdit(editor) {
			return ErrForbidden
		}
		if err := editor.Silenced(s.now()); err != nil {
			return err
		}
		if p.Source == body {
			return nil // nothing changed: no revision
		}
		now, prev := s.now(), p.Source
		if err := tx.Create(&PostRevision{PostID: p.ID, EditorID: editor.ID, Source: p.Source, HTML: p.HTML, CreatedAt: now}).Error; err != nil {
			return err
		}
		p.Source, p.HTML, p.EditedAt = body, html, &now
		if err := tx.Model(&Post{}).Where("id = ?", p.ID).Updates(map[string]any{
			"source": body, "html": html, "edited_at": now, "updated_at": now,
		}).Error; err != nil {
			return err
		}
		var title string
		if err := tx.Raw("SELECT title FROM post_search WHERE docid = ?", p.ID).Scan(&title).Error; err != nil {
			return err
		}
		// Staff editing an official update, or a moderator editing someone
		// else's post, is on the record.
		if action := map[bool]string{true: "update.edit", false: "post.edit"}[p.Official]; p.Official || editor.ID != p.AuthorID {
			if err := s.audit(tx, editor, action, "post", p.ID, "", prev, body); err != nil {
				return err
			}
		}
		return indexPost(tx, p.ID, title, html)
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// ThreadByID returns a thread with its author and service.
func (s *Store) ThreadByID(ctx context.Context, id int64) (*Thread, error) {
	var th Thread
	if err := s.db.WithContext(ctx).Preload("Author").Preload("Service").First(&th, id).Error; err != nil {
		return nil, translate(err)
	}
	return &th, nil
}

// PostsPerPage is the thread page's size.
const PostsPerPage = 50

// PostQuery selects a thread's posts for a viewer.
type PostQuery struct {
	ThreadID int64
	Viewer   *User
	// Placeholders keeps posts the viewer may not read, with their text
	// blanked, so a page can say "hidden by a moderator" in their place.
	// Without it such posts are left out (JSON, feeds).
	Placeholders bool
}

// ListPosts returns one page of a thread's posts in order, authors loaded:
// two queries whatever the page size.
func (s *Store) ListPosts(ctx context.Context, q PostQuery, p Page) (Paged[Post], error) {
	p = p.Normalize(PostsPerPage)
	db := s.db.WithContext(ctx).Preload("Author").Where("thread_id = ?", q.ThreadID)
	if !q.Placeholders {
		cond, args := visibleSQL("posts", q.Viewer)
		db = db.Where(cond, args...)
	}
	var posts []Post
	if err := db.Order("id").Offset(p.offset()).Limit(p.PerPage + 1).Find(&posts).Error; err != nil {
		return Paged[Post]{}, err
	}
	for i := range posts {
		if !posts[i].VisibleTo(q.Viewer) {
			posts[i].Source, posts[i].HTML = "", ""
		}
	}
	return paged(posts, p), nil
}

// LatestPosts returns a thread's newest posts the viewer may read, newest
// first, authors loaded (for feeds).
func (s *Store) LatestPosts(ctx context.Context, threadID int64, viewer *User, n int) ([]Post, error) {
	cond, args := visibleSQL("posts", viewer)
	var posts []Post
	err := s.db.WithContext(ctx).Preload("Author").Where("thread_id = ?", threadID).Where(cond, args...).
		Order("id DESC").Limit(n).Find(&posts).Error
	return posts, err
}

// PostByID returns a post the viewer may read, author loaded.
func (s *Store) PostByID(ctx context.Context, id int64, viewer *User) (*Post, error) {
	var p Post
	if err := s.db.WithContext(ctx).Preload("Author").First(&p, id).Error; err != nil {
		return nil, translate(err)
	}
	if !p.VisibleTo(viewer) {
		return nil, ErrNotFound
	}
	return &p, nil
}

// PostPosition tells on which page (of PostsPerPage) of its thread a post is.
func (s *Store) PostPosition(ctx context.Context, p *Post) (int, error) {
	var before int64
	err := s.db.WithContext(ctx).Model(&Post{}).Where("thread_id = ? AND id < ?", p.ThreadID, p.ID).Count(&before).Error
	return int(before)/PostsPerPage + 1, err
}

// PostRevisions lists a post's earlier versions, newest first, for a viewer
// who may read the post.
func (s *Store) PostRevisions(ctx context.Context, postID int64, viewer *User, pg Page) (*Post, Paged[PostRevision], error) {
	pg = pg.Normalize(RevisionsPerPage)
	p, err := s.PostByID(ctx, postID, viewer)
	if err != nil {
		return nil, Paged[PostRevision]{}, err
	}
	var revs []PostRevision
	err = s.db.WithContext(ctx).Preload("Editor").Where("post_id = ?", postID).Order("id DESC").
		Offset(pg.offset()).Limit(pg.PerPage + 1).Find(&revs).Error
	return p, paged(revs, pg), err
}

// RevisionsPerPage is the size of a page of a post's history.
const RevisionsPerPage = 50

// ThreadFilter narrows the thread list.
type ThreadFilter struct {
	ServiceID *int64
	OpenOnly  bool // leave out locked threads
	Linked    bool // only threads of or linked to an incident
	// FollowerID keeps only the threads this user follows.
	FollowerID *int64
}

// ThreadsPerPage is the thread list's size.
const ThreadsPerPage = 25

// ListThreads lists threads, pinned first, then by latest activity. The page
// of ids comes from the index alone, so deep pages stay cheap.
func (s *Store) ListThreads(ctx context.Context, f ThreadFilter, p Page) (Paged[Thread], error) {
	p = p.Normalize(ThreadsPerPage)
	var threads []Thread
	err := s.db.WithContext(ctx).Preload("Author").Preload("Service").
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
		ids = ids.Where("locked = 0")
	}
	if f.Linked {
		ids = ids.Where("incident_id IS NOT NULL")
	}
	if f.FollowerID != nil {
		ids = ids.Where("id IN (SELECT thread_id FROM follows WHERE user_id = ?)", *f.FollowerID)
	}
	return ids.Order("pinned DESC, last_activity_at DESC, id DESC").Offset(p.offset()).Limit(p.PerPage + 1)
}

// SetAffected records or removes the user's "I'm affected" mark and returns
// the thread's new count. It is idempotent and atomic: the count is
// recomputed from the marks inside the write transaction.
func (s *Store) SetAffected(ctx context.Context, user *User, threadID int64, affected bool) (int, error) {
	var count int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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

// Marks are what one person has said of a thread.
type Marks struct {
	Affected  bool
	Following bool
}

// MarksOn reads the user's marks on a thread in one query.
func (s *Store) MarksOn(ctx context.Context, userID, threadID int64) (Marks, error) {
	var m Marks
	err := s.db.WithContext(ctx).Raw(`SELECT
		EXISTS (SELECT 1 FROM affected_marks WHERE thread_id = ? AND user_id = ?) AS affected,
		EXISTS (SELECT 1 FROM follows WHERE thread_id = ? AND user_id = ?) AS following`,
		threadID, userID, threadID, userID).Scan(&m).Error
	return m, err
}

// RerenderPosts renders every post and revision again from its source,
// after a change of the Markdown policy, in batches of short transactions. It
// returns how many rows changed.
func (s *Store) RerenderPosts(ctx context.Context) (int, error) {
	posts, err := s.rerender(ctx, "posts", func(tx *gorm.DB, id int64, html template.HTML) error {
		var title string
		if err := tx.Raw("SELECT title FROM post_search WHERE docid = ?", id).Scan(&title).Error; err != nil {
			return err
		}
		return indexPost(tx, id, title, html)
	})
	if err != nil {
		return posts, err
	}
	revs, err := s.rerender(ctx, "post_revisions", nil)
	return posts + revs, err
}

// rerender re-renders the html column of table from its source column;
// after, if set, runs for each changed row in the same transaction.
func (s *Store) rerender(ctx context.Context, table string, after func(tx *gorm.DB, id int64, html template.HTML) error) (int, error) {
	type row struct {
		ID     int64
		Source string
		HTML   template.HTML `gorm:"column:html"`
	}
	changed := 0
	var lastID int64
	for {
		var rows []row
		if err := s.db.WithContext(ctx).Table(table).Select("id, source, html").Where("id > ?", lastID).Order("id").Limit(200).Find(&rows).Error; err != nil {
			return changed, err
		}
		if len(rows) == 0 {
			return changed, nil
		}
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, r := range rows {
				html, err := markup.Render(r.Source)
				if err != nil {
					return fmt.Errorf("%s %d: %w", table, r.ID, err)
				}
				if html == r.HTML {
					continue
				}
				if err := tx.Table(table).Where("id = ?", r.ID).Update("html", html).Error; err != nil {
					return err
				}
				if after != nil {
					if err := after(tx, r.ID, html); err != nil {
						return err
					}
				}
				changed++
			}
			return nil
		})
		if err != nil {
			return changed, err
		}
		lastID = rows[len(rows)-1].ID
	}
}
