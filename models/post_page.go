package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// A page of posts is read by hand, with database/sql's Scan into the
// structs, instead of through GORM's reflection and preloading, which was
// a third of a thread page's time and allocations. It is still two queries
// (posts, then their authors), a third when posts on the page were moved
// here by a merge; the SQL is portable.

// postColumns are the posts' columns in the order scanPost reads them.
const postColumns = "p.id, p.thread_id, p.author_id, p.author_role, p.source, p.html, p.official, p.submit_key, " +
	"p.edited_at, p.hidden_at, p.hidden_by_id, p.hidden_reason, p.merged_from_id, p.created_at, p.updated_at"

// scanPost reads one row of postColumns into p.
func scanPost(rows *sql.Rows, p *Post) error {
	var submitKey sql.NullString
	var edited, hidden sql.NullTime
	var hiddenBy, mergedFrom sql.NullInt64
	if err := rows.Scan(&p.ID, &p.ThreadID, &p.AuthorID, &p.AuthorRole, &p.Source, &p.HTML, &p.Official, &submitKey,
		&edited, &hidden, &hiddenBy, &p.HiddenReason, &mergedFrom, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return err
	}
	if submitKey.Valid {
		p.SubmitKey = &submitKey.String
	}
	if edited.Valid {
		p.EditedAt = &edited.Time
	}
	if hidden.Valid {
		p.HiddenAt = &hidden.Time
	}
	if hiddenBy.Valid {
		p.HiddenByID = &hiddenBy.Int64
	}
	if mergedFrom.Valid {
		p.MergedFromID = &mergedFrom.Int64
	}
	return nil
}

// pagePosts reads one page of a thread's posts in order (limit rows from
// offset), the viewer's visibility rule applied unless placeholders.
func (s *Store) pagePosts(ctx context.Context, q PostQuery, offset, limit int) ([]Post, error) {
	where, args := "p.thread_id = ?", []any{q.ThreadID}
	if !q.Placeholders {
		cond, vargs := visibleSQL("p", q.Viewer)
		where += " AND " + cond
		args = append(args, vargs...)
	}
	args = append(args, limit, offset)
	rows, err := s.db.WithContext(ctx).Raw("SELECT "+postColumns+" FROM posts p WHERE "+where+" ORDER BY p.id LIMIT ? OFFSET ?", args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	posts := make([]Post, 0, limit)
	for rows.Next() {
		posts = append(posts, Post{})
		if err := scanPost(rows, &posts[len(posts)-1]); err != nil {
			return nil, err
		}
	}
	return posts, rows.Err()
}

// withAuthors sets each post's Author, reading every author of the page in
// one query. Authors carry what pages and answers show of them (id, name,
// role, since when), nothing private.
func (s *Store) withAuthors(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	byID := make(map[int64]*User, len(posts))
	ids := make([]any, 0, len(posts))
	for _, p := range posts {
		if _, ok := byID[p.AuthorID]; !ok {
			byID[p.AuthorID] = nil
			ids = append(ids, p.AuthorID)
		}
	}
	marks := strings.Repeat(", ?", len(ids))[2:]
	rows, err := s.db.WithContext(ctx).Raw("SELECT id, name, role, created_at FROM users WHERE id IN ("+marks+")", ids...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	users := make([]User, len(ids))
	n := 0
	for ; rows.Next(); n++ {
		u := &users[n]
		if err := rows.Scan(&u.ID, &u.Name, &u.Role, &u.CreatedAt); err != nil {
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
