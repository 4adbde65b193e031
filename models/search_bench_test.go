package models

import (
	"context"
	"strings"
	"testing"
	"time"
)

// BenchmarkSearch searches 100,000 posts (25,000 threads) for a word in
// every post, a word in one post in fifty and a rare word: a busy forum on
// the day everyone searches for "mail".
func BenchmarkSearch(b *testing.B) {
	s, u := benchStore(b)
	ctx := context.Background()
	// Bulk rows straight into the tables: the benchmark is about reading.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
		INSERT INTO threads (id, title, author_id, post_count, affected_count, last_activity_at, created_at, updated_at)
		SELECT i, 'Mail trouble number ' || i, ?, 4, 0, ?, ?, ? FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
		INSERT INTO posts (id, thread_id, author_id, source, html, official, created_at, updated_at)
		SELECT i, (i + 3) / 4, ?, 'x', 'x', 0, ?, ? FROM n`,
		`INSERT INTO post_search (docid, title, body)
		SELECT p.id, t.title, 'Outgoing mail bounced again through relay r' || (p.id % 50) || ' for account a' || p.id || ', please help'
		FROM posts p JOIN threads t ON t.id = p.thread_id`,
	} {
		args := []any{u.ID, start, start, start}[:strings.Count(q, "?")]
		if err := s.db.Exec(q, args...).Error; err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, query string }{{"every-post", "mail"}, {"one-in-fifty", "relay r7"}, {"rare", "a4242"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := s.Search(ctx, tc.query, nil, Page{})
				if err != nil || len(r.Items) == 0 {
					b.Fatal(err, len(r.Items))
				}
			}
		})
	}
}
