package models

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"
)

// newestData fills s with n posts saying "mail", then 5 saying "mailbox",
// then one "mail relay", straight into the tables.
func newestData(t *testing.T, s *Store, n int) {
	t.Helper()
	u := mustUser(t, s, "author", RoleCustomer)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO threads (id, title, author_id, post_count, affected_count, last_activity_at, created_at, updated_at)
		VALUES (1, 'Mail trouble', ?, 0, 0, ?, ?, ?)`, []any{u.ID, start, start, start}},
		{`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ? + 6)
		INSERT INTO posts (id, thread_id, author_id, source, html, created_at, updated_at) SELECT i, 1, ?, 'x', 'x', ?, ? FROM k`,
			[]any{n, u.ID, start, start}},
		{`INSERT INTO post_search (docid, title, body) SELECT id, '', CASE WHEN id <= ? THEN 'mail bounced'
		WHEN id <= ? + 5 THEN 'mailbox full' ELSE 'mail relay down' END FROM posts`, []any{n, n}},
	} {
		if err := s.db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// TestNewestMatch: the last word is taken whole when SearchCandidates
// posts have it so, else as a prefix; words all common are given twice (no
// FTS4 deferring); each phrase's share is estimated from its newest
// matches.
func TestNewestMatch(t *testing.T) {
	s := newSQLiteStore(t) // FTS4's own search; PostgreSQL's is tested through Search
	newestData(t, s, SearchCandidates+200)
	ctx := context.Background()
	for _, tc := range []struct {
		query, match string
		shares       []float64 // to within 2%
	}{
		{"mail", `"mail"`, []float64{0.99}},
		{"mai", `"mai*"`, []float64{1}},
		{"mailbox", `"mailbox*"`, []float64{5.0 / 1206}},
		{"mail bounced", `("mail" OR "mail") ("bounced" OR "bounced")`, []float64{0.99, 0.99, 0.99, 0.99}},
		{"mail relay", `"mail" "relay*"`, []float64{0.99, 1.0 / 1206}},
		{"relay -mail", `"relay" "mail"`, []float64{1.0 / 1206, 0.99}},
		{`") OR title:x`, `"OR" "title" "x*"`, []float64{0, 0, 0}},
		{"  ", "", nil},
	} {
		m, err := s.newestMatch(ctx, tc.query)
		if err != nil || m.match != tc.match || len(m.shares) != len(tc.shares) {
			t.Errorf("%q: %q %v %v, want %q %v", tc.query, m.match, m.shares, err, tc.match, tc.shares)
			continue
		}
		for i, want := range tc.shares {
			if math.Abs(m.shares[i]-want) > 0.02 {
				t.Errorf("%q: share %d is %.4f, want about %.4f", tc.query, i, m.shares[i], want)
			}
		}
	}
	// "mail" is taken whole: the newest candidates are the posts saying
	// it, and the mailbox posts, fewer, are not among them.
	r, err := s.Search(ctx, "mail", nil, Page{PerPage: 100})
	if err != nil || len(r.Items) != 100 || !r.HasNext || slices.ContainsFunc(r.Items, func(x SearchResult) bool {
		return x.PostID > int64(SearchCandidates+200) && x.PostID <= int64(SearchCandidates+205)
	}) {
		t.Errorf("search mail: %d results, next %v, %v", len(r.Items), r.HasNext, err)
	}
	if r, err := s.Search(ctx, "mailb", nil, Page{}); err != nil || len(r.Items) != 5 {
		t.Errorf("search mailb: %d results %v", len(r.Items), err)
	}
}

// matchinfoY makes a matchinfo(t, 'pcnaly') blob: one phrase, a title and
// a body, 100 rows.
func matchinfoY(titleHits, bodyHits uint32) []byte {
	var b []byte
	for _, v := range []uint32{1, 2, 100, 5, 60, 5, 60, titleHits, bodyHits} {
		b = binary.NativeEndian.AppendUint32(b, v)
	}
	return b
}

func TestSearchRankShares(t *testing.T) {
	for _, tc := range []struct {
		name          string
		better, worse float64
	}{
		{"more hits rank higher", searchRankShares(matchinfoY(0, 3), 0.1), searchRankShares(matchinfoY(0, 1), 0.1)},
		{"a hit in the title weighs more", searchRankShares(matchinfoY(1, 0), 0.1), searchRankShares(matchinfoY(0, 1), 0.1)},
		{"a rarer phrase weighs more", searchRankShares(matchinfoY(0, 1), 0.01), searchRankShares(matchinfoY(0, 1), 0.5)},
		{"no share, no score", 0.001, searchRankShares(matchinfoY(0, 1))},
		{"a short blob scores nothing", 0.001, searchRankShares([]byte{1, 0, 0, 0}, 0.1)},
	} {
		if !(tc.better > tc.worse) {
			t.Errorf("%s: %v is not above %v", tc.name, tc.better, tc.worse)
		}
	}
}
