package models

import (
	"context"
	"encoding/binary"
	"html/template"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"sitrep/server/markup"
)

// searchRank scores a row from FTS4's matchinfo(t, 'pcnalx') with Okapi BM25
// (k1 = 1.2, b = 0.75); a hit in the title (column 0) weighs three times a
// hit in the body.
func searchRank(info []byte) float64 {
	u := func(i int) float64 { return float64(binary.NativeEndian.Uint32(info[i*4:])) }
	if len(info) < 12 {
		return 0
	}
	phrases, cols := int(u(0)), int(u(1))
	docs := u(2)
	if len(info) < (3+2*cols+3*phrases*cols)*4 {
		return 0
	}
	avgLen := func(c int) float64 { return u(3 + c) }
	docLen := func(c int) float64 { return u(3 + cols + c) }
	x := 3 + 2*cols
	const k1, b = 1.2, 0.75
	score := 0.0
	for p := 0; p < phrases; p++ {
		for c := 0; c < cols; c++ {
			base := x + 3*(p*cols+c)
			hits, withHits := u(base), u(base+2)
			if hits == 0 {
				continue
			}
			idf := math.Log(1 + (docs-withHits+0.5)/(withHits+0.5))
			norm := 1 - b + b*docLen(c)/math.Max(avgLen(c), 1)
			weight := 1.0
			if c == 0 {
				weight = 3
			}
			score += weight * idf * hits * (k1 + 1) / (hits + k1*norm)
		}
	}
	return score
}

// SearchResult is one hit: a thread or an incident (its title or first post
// matched) or a reply.
type SearchResult struct {
	Type       string // "thread", "incident" or "post"
	PostID     int64
	ThreadID   int64
	IncidentID int64 // for Type "incident"
	Title      string
	// Snippet is plain text around the hits, with the hits between
	// SnippetOpen and SnippetClose; the view escapes it and marks the hits.
	Snippet string
}

// Snippet markers: control characters, which posts may not contain.
const (
	SnippetOpen  = "\x02"
	SnippetClose = "\x03"
)

// SearchQueryMaxLen bounds a search query.
const SearchQueryMaxLen = 200

// How ftsQuery joins words: every word must match, or any of them.
const (
	allWords = " "
	anyWord  = " OR "
)

// ftsQuery turns what a person typed into an FTS4 query joined by join
// (prefix match on the last word), and no operator syntax leaks through.
func ftsQuery(q, join string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	if len(words) > 12 {
		words = words[:12]
	}
	for i, w := range words {
		if i == len(words)-1 {
			w += "*"
		}
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, join)
}

// SearchCandidates bounds the work of one search: the newest this many
// matching posts are ranked, so a word in every post of a big forum costs
// the same as a word in a thousand. A support forum's newest posts are the
// ones people look for.
const SearchCandidates = 1000

// Search finds threads and posts by relevance among the newest
// SearchCandidates matches. Posts the viewer may not read are never
// returned.
func (s *Store) Search(ctx context.Context, query string, viewer *User, p Page) (Paged[SearchResult], error) {
	p = p.Normalize(SearchPerPage)
	match := ftsQuery(query, allWords)
	if match == "" {
		return Paged[SearchResult]{Page: p}, nil
	}
	cond, args := visibleSQL("p", viewer)
	var rows []SearchResult
	err := s.db.WithContext(ctx).Raw(`
		WITH hits AS (
			SELECT docid, search_rank(matchinfo(post_search, 'pcnalx')) AS rank
			FROM post_search WHERE post_search MATCH ? ORDER BY docid DESC LIMIT ?)
		SELECT CASE WHEN p.id <> (SELECT MIN(id) FROM posts WHERE thread_id = p.thread_id) THEN 'post'
		            WHEN i.id IS NOT NULL THEN 'incident' ELSE 'thread' END AS type,
		       p.id AS post_id, t.id AS thread_id, COALESCE(i.id, 0) AS incident_id, t.title AS title
		FROM hits
		JOIN posts p ON p.id = hits.docid
		JOIN threads t ON t.id = p.thread_id
		LEFT JOIN incidents i ON i.thread_id = t.id
		WHERE `+cond+`
		ORDER BY hits.rank DESC, p.id DESC
		LIMIT ? OFFSET ?`,
		append(append([]any{match, SearchCandidates}, args...), p.PerPage+1, p.offset())...).
		Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return paged(rows, p), err
	}
	// Snippets are the costly part: only for the page shown.
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.PostID
	}
	var snippets []struct {
		Docid   int64
		Snippet string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT docid, snippet(post_search, ?, ?, '…', 1, 24) AS snippet
		FROM post_search WHERE post_search MATCH ? AND docid IN ?`, SnippetOpen, SnippetClose, match, ids).Scan(&snippets).Error; err != nil {
		return Paged[SearchResult]{}, err
	}
	byID := make(map[int64]string, len(snippets))
	for _, sn := range snippets {
		byID[sn.Docid] = sn.Snippet
	}
	for i := range rows {
		rows[i].Snippet = byID[rows[i].PostID]
	}
	return paged(rows, p), nil
}

// SuggestThreads finds threads a customer about to report a problem may
// want to join: open threads and open incidents' threads whose title or
// posts share a word with what they typed, open incidents first. Like
// Search, it looks only at the newest SearchCandidates matching posts, so
// words found in every post cost no more than rare ones.
func (s *Store) SuggestThreads(ctx context.Context, text string, limit int) ([]Thread, error) {
	match := suggestQuery(text)
	if match == "" {
		return nil, nil
	}
	var out []Thread
	err := s.db.WithContext(ctx).Preload("Service").
		Where(`locked = 0 AND merged_into_id IS NULL AND id IN (SELECT p.thread_id FROM
			(SELECT docid FROM post_search WHERE post_search MATCH ? ORDER BY docid DESC LIMIT ?) AS hits
			JOIN posts p ON p.id = hits.docid WHERE p.hidden_at IS NULL)`, match, SearchCandidates).
		Where("incident_id IS NULL OR incident_id IN (SELECT id FROM incidents WHERE resolved_at IS NULL)").
		Order("id IN (SELECT thread_id FROM incidents) DESC, last_activity_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// suggestWords bounds the words a suggestion looks for: each common word
// costs the full-text index a read of every post that has it.
const suggestWords = 4

// suggestQuery turns a title being typed into an FTS4 query for any of its
// suggestWords longest words of three letters or more (the more telling
// ones), whole words except the last one typed, which may be unfinished and
// matches as a prefix.
func suggestQuery(text string) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	type word struct {
		text   string
		prefix bool
	}
	var picked []word
	seen := map[string]bool{}
	for i, w := range words {
		if utf8.RuneCountInString(w) < 3 || seen[w] {
			continue
		}
		seen[w] = true
		picked = append(picked, word{w, i == len(words)-1})
	}
	slices.SortStableFunc(picked, func(a, b word) int { return utf8.RuneCountInString(b.text) - utf8.RuneCountInString(a.text) })
	terms := make([]string, 0, suggestWords)
	for _, w := range picked[:min(len(picked), suggestWords)] {
		t := `"` + w.text + `"`
		if w.prefix {
			t = `"` + w.text + `*"`
		}
		terms = append(terms, t)
	}
	return strings.Join(terms, anyWord)
}

// indexPost writes a post's searchable text; the first post of a thread also
// carries the title.
func indexPost(tx *gorm.DB, postID int64, title string, html template.HTML) error {
	return tx.Exec("INSERT OR REPLACE INTO post_search (docid, title, body) VALUES (?, ?, ?)",
		postID, title, markup.Text(html)).Error
}
