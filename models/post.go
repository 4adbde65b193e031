package models

import (
	"context"
	"fmt"
	"html/template"
	"time"

	"gorm.io/gorm"
)

// Post is one message in a thread. Source is the author's Markdown; HTML is
// its sanitized rendering, made once when the post is written or edited.
type Post struct {
	ID           int64
	ThreadID     int64
	Thread       *Thread `gorm:"foreignKey:ThreadID"`
	AuthorID     int64
	Author       *User `gorm:"foreignKey:AuthorID"`
	AuthorRole   Role  // the author's role when the post was written
	Source       string
	HTML         template.HTML `gorm:"column:html"`
	Official     bool
	SubmitKey    *string
	EditedAt     *time.Time
	HiddenAt     *time.Time
	HiddenByID   *int64
	HiddenReason string
	MergedFromID *int64  // the thread it was in before a merge brought it here
	MergedFrom   *Thread `gorm:"foreignKey:MergedFromID"`
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

// NewPost is the input for a reply.
type NewPost struct {
	Body      string
	SubmitKey string
}

// CreateReply adds a post to a thread and bumps the thread's counters and
// activity time in the same transaction.
//
// What is cheap to check comes before the text is rendered: the author's
// silence, the text's size, the thread, and the posting pace (claimPost).
func (s *Store) CreateReply(ctx context.Context, author *User, threadID int64, in NewPost) (p *Post, created bool, err error) {
	if err := author.Silenced(s.now()); err != nil {
		return nil, false, err
	}
	v := validation{}
	checkBody(v, &in.Body)
	key := cleanSubmitKey(v, in.SubmitKey)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	// Where the reply goes is read first too (the write transaction reads
	// it again).
	var th Thread
	if err := s.db.WithContext(ctx).Select("id", "merged_into_id", "locked", "lock_reason").First(&th, threadID).Error; err != nil {
		return nil, false, translate(err)
	}
	if err := th.closedTo(); err != nil {
		return nil, false, err
	}
	claim, prev, err := s.claimPost(ctx, author, key, threadID, in.Body)
	if err != nil || prev != nil {
		return prev, false, translate(err)
	}
	defer func() { claim.release(ctx, created) }()
	html := s.renderBody(ctx, v, &in.Body)
	if err := v.err(); err != nil {
		return nil, false, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var th Thread
		if err := tx.First(&th, threadID).Error; err != nil {
			return err
		}
		if prev, err := findSubmitted(tx, author.ID, key, th.ID, in.Body); err != nil || prev != nil {
			p = prev
			return err
		}
		if err := th.closedTo(); err != nil {
			return err
		}
		if err := s.checkPace(tx, author, &th); err != nil {
			return err
		}
		p = &Post{ThreadID: th.ID, AuthorID: author.ID, AuthorRole: author.Role, Source: in.Body, HTML: html, SubmitKey: key}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if err := tx.Model(&Thread{}).Where("id = ?", th.ID).Updates(map[string]any{
			"post_count": gorm.Expr("post_count + 1"), "last_activity_at": p.CreatedAt, "updated_at": p.CreatedAt,
		}).Error; err != nil {
			return err
		}
		created = true
		if err := s.indexPost(tx, p.ID, "", html); err != nil {
			return err
		}
		return s.published(tx, p, author.Role != RoleCustomer,
			NotifyJob{Kind: NotifyReply, ThreadID: th.ID, PostID: p.ID, ActorID: author.ID})
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return p, created, nil
}

// closedTo refuses replies to a thread merged into another or locked.
func (th *Thread) closedTo() error {
	if th.MergedIntoID != nil {
		return &ConflictError{Message: fmt.Sprintf("This thread was merged into thread %d; reply there.", *th.MergedIntoID)}
	}
	if th.Locked {
		return &LockedError{Reason: th.LockReason}
	}
	return nil
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
// Customers' edits are paced as their posts are (claimPace); the editor's
// silence, the text's size, who may edit and the pace are checked before
// the text is rendered.
func (s *Store) EditPost(ctx context.Context, editor *User, postID int64, body string) (edited *Post, err error) {
	if err := editor.Silenced(s.now()); err != nil {
		return nil, err
	}
	v := validation{}
	checkBody(v, &body)
	if err := v.err(); err != nil {
		return nil, err
	}
	var p Post
	if err := s.db.WithContext(ctx).First(&p, postID).Error; err != nil {
		return nil, translate(err)
	}
	switch {
	case !p.VisibleTo(editor):
		return nil, ErrNotFound
	case !p.CanEdit(editor):
		return nil, ErrForbidden
	case p.Source == body:
		return &p, nil // nothing changed: no revision
	}
	// A second click on Save finds its text saved already.
	saved := func() (bool, error) {
		var now Post
		err := s.db.WithContext(ctx).Select("source").First(&now, postID).Error
		return err == nil && now.Source == body, translate(err)
	}
	claim, err := s.claimPace(ctx, editor, "edit", saved)
	if err != nil {
		return nil, translate(err)
	}
	changed := false // a revision was written
	defer func() { claim.release(ctx, err == nil && changed) }()
	if claim == nil && editor.Role == RoleCustomer { // saved by the first click
		return s.PostByID(ctx, postID, editor)
	}
	html := s.renderBody(ctx, v, &body)
	if err := v.err(); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
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
		changed = true
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
		if err := s.indexPost(tx, p.ID, title, html); err != nil {
			return err
		}
		return s.emitPost(tx, p.ThreadID, p.ID, editor.Role != RoleCustomer)
	})
	if err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// PostQuery selects a thread's posts for a viewer.
type PostQuery struct {
	ThreadID int64
	Viewer   *User
	// Placeholders keeps posts the viewer may not read, with their text
	// blanked, so a page can say "hidden by a moderator" in their place.
	// Without it such posts are left out (JSON, feeds). It is the thread
	// page's read, which shows no Markdown source: Source and SubmitKey are
	// left empty.
	Placeholders bool
}

// ListPosts returns one page of a thread's posts in order, authors loaded,
// and the threads that posts moved by a merge came from: two queries
// whatever the page size, a third when the page has such posts.
func (s *Store) ListPosts(ctx context.Context, q PostQuery, p Page) (Paged[Post], error) {
	p = p.Normalize(PostsPerPage)
	posts, err := s.pagePosts(ctx, q, p.offset(), p.PerPage+1)
	if err != nil {
		return Paged[Post]{}, err
	}
	if err := s.withAuthors(ctx, posts); err != nil {
		return Paged[Post]{}, err
	}
	if err := s.withMergedFrom(ctx, posts); err != nil {
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

// PostsByIDs reads posts with their authors, in id order, whoever may read
// them: the caller shows each as its reader may see it (VisibleTo).
func (s *Store) PostsByIDs(ctx context.Context, ids []int64) ([]Post, error) {
	var out []Post
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Preload("Author").Where("id IN ?", ids).Order("id").Find(&out).Error
	return out, err
}

// MissingPosts returns those of ids that no post has, in order.
func (s *Store) MissingPosts(ctx context.Context, ids []int64) ([]int64, error) {
	found := map[int64]bool{}
	for i := 0; i < len(ids); i += 500 {
		var got []int64
		if err := s.db.WithContext(ctx).Model(&Post{}).Where("id IN ?", ids[i:min(i+500, len(ids))]).Pluck("id", &got).Error; err != nil {
			return nil, err
		}
		for _, id := range got {
			found[id] = true
		}
	}
	var missing []int64
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
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

// UserPosts lists a user's posts the viewer may read, newest first, with
// their threads (the account page, a moderator's page about the user, the
// user's public page).
func (s *Store) UserPosts(ctx context.Context, userID int64, viewer *User, p Page) (Paged[Post], error) {
	p = p.Normalize(UserPostsPerPage)
	cond, args := visibleSQL("posts", viewer)
	var out []Post
	err := s.db.WithContext(ctx).Preload("Thread").Where("author_id = ?", userID).Where(cond, args...).
		Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
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
		return s.indexPost(tx, id, title, html)
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
		err := s.write(ctx, func(tx *gorm.DB) error {
			for _, r := range rows {
				isPerson, err := s.people(ctx, mentionedNames(r.Source))
				if err != nil {
					return err
				}
				html, err := renderMarkdown(r.Source, isPerson)
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
