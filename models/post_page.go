package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// A page of posts is read by hand, with database/sql's Scan into the
// structs, instead of through GORM's reflection and preloading, which was
// a third of a thread page's time and allocations. It is still two queries
// (posts, then their authors), a third when posts on the page were moved
// here by a merge; the SQL is portable.

// postColumns are the posts' columns in the order postRow.scan reads
// them; pageColumns leave out what a thread page does not show (the source
// and the submission key) and the thread it asked for, which is a tenth of
// its allocations.
const (
	postColumns = "p.id, p.author_id, p.author_role, p.html, p.official, " +
		"p.edited_at, p.hidden_at, p.hidden_by_id, p.hidden_reason, p.merged_from_id, p.created_at, p.updated_at, p.thread_id, p.source, p.submit_key"
	pageColumns = "p.id, p.author_id, p.author_role, p.html, p.official, " +
		"p.edited_at, p.hidden_at, p.hidden_by_id, p.hidden_reason, p.merged_from_id, p.created_at, p.updated_at"
)

// postRow is where rows of posts are scanned: one for a whole query, so
// that its nullable columns are not allocated again for every row.
type postRow struct {
	p                    Post
	submitKey            sql.NullString
	edited, hidden       sql.NullTime
	hiddenBy, mergedFrom sql.NullInt64
	dest                 []any
}

func newPostRow(full bool) *postRow {
	r := &postRow{}
	r.dest = []any{&r.p.ID, &r.p.AuthorID, &r.p.AuthorRole, &r.p.HTML, &r.p.Official,
		&r.edited, &r.hidden, &r.hiddenBy, &r.p.HiddenReason, &r.mergedFrom, &r.p.CreatedAt, &r.p.UpdatedAt}
	if full {
		r.dest = append(r.dest, &r.p.ThreadID, &r.p.Source, &r.submitKey)
	}
	return r
}

// scan reads the current row into a new Post.
func (r *postRow) scan(rows *sql.Rows) (Post, error) {
	r.p, r.submitKey = Post{}, sql.NullString{}
	if err := rows.Scan(r.dest...); err != nil {
		return Post{}, err
	}
	p := r.p
	p.SubmitKey = nullable(r.submitKey.String, r.submitKey.Valid)
	p.EditedAt = nullable(r.edited.Time, r.edited.Valid)
	p.HiddenAt = nullable(r.hidden.Time, r.hidden.Valid)
	p.HiddenByID = nullable(r.hiddenBy.Int64, r.hiddenBy.Valid)
	p.MergedFromID = nullable(r.mergedFrom.Int64, r.mergedFrom.Valid)
	return p, nil
}

// nullable is a copy of a scanned value, or nil when its column was NULL.
func nullable[T any](v T, valid bool) *T {
	if !valid {
		return nil
	}
	p := new(T) // allocated here only: &v would put v on the heap for NULLs too
	*p = v
	return p
}

// pagePosts reads one page of a thread's posts in order (limit rows from
// offset). With placeholders (the thread page) every post is read, without
// its source; otherwise those the viewer may read, whole.
func (s *Store) pagePosts(ctx context.Context, q PostQuery, offset, limit int) ([]Post, error) {
	columns, where, args := pageColumns, "p.thread_id = ?", []any{q.ThreadID}
	if !q.Placeholders {
		cond, vargs := visibleSQL("p", q.Viewer)
		columns, where = postColumns, where+" AND "+cond
		args = append(args, vargs...)
	}
	args = append(args, limit, offset)
	rows, err := s.db.WithContext(ctx).Raw("SELECT "+columns+" FROM posts p WHERE "+where+" ORDER BY p.id LIMIT ? OFFSET ?", args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	row := newPostRow(!q.Placeholders)
	posts := make([]Post, 0, limit)
	for rows.Next() {
		p, err := row.scan(rows)
		if err != nil {
			return nil, err
		}
		p.ThreadID = q.ThreadID
		posts = append(posts, p)
	}
	return posts, rows.Err()
}

// withAuthors sets each post's Author, reading every author of the page in
// one query. Authors carry what pages and answers show of them (id, name,
// role), nothing private.
func (s *Store) withAuthors(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	byID := make(map[int64]*User, len(posts))
	// The ids are written into the query as numbers (they are int64s from
	// the database, nothing a person typed): fifty parameters cost GORM
	// and the driver a hundred allocations.
	query := []byte("SELECT id, name, role FROM users WHERE id IN (")
	for _, p := range posts {
		if _, ok := byID[p.AuthorID]; !ok {
			if len(byID) > 0 {
				query = append(query, ',')
			}
			byID[p.AuthorID] = nil
			query = strconv.AppendInt(query, p.AuthorID, 10)
		}
	}
	rows, err := s.db.WithContext(ctx).Raw(string(append(query, ')'))).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	users := make([]User, len(byID))
	n := 0
	for ; rows.Next(); n++ {
		u := &users[n]
		if err := rows.Scan(&u.ID, &u.Name, &u.Role); err != nil {
			return err
		}
		byID[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range posts {
		if posts[i].Author = byID[posts[i].AuthorID]; posts[i].Author == nil {
			return fmt.Errorf("post %d: author %d not found", posts[i].ID, posts[i].AuthorID)
		}
	}
	return nil
}

// withMergedFrom sets MergedFrom on the posts a merge moved, in one query
// when there are any.
func (s *Store) withMergedFrom(ctx context.Context, posts []Post) error {
	var ids []int64
	for _, p := range posts {
		if p.MergedFromID != nil {
			ids = append(ids, *p.MergedFromID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var threads []Thread
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&threads).Error; err != nil {
		return err
	}
	byID := make(map[int64]*Thread, len(threads))
	for i := range threads {
		byID[threads[i].ID] = &threads[i]
	}
	for i := range posts {
		if id := posts[i].MergedFromID; id != nil {
			posts[i].MergedFrom = byID[*id]
		}
	}
	return nil
}
