package models

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Search reads the full-text index newest first and stops after
// SearchCandidates matches: the index is kept in descending docid order
// (migration 11), so FTS4 reads each word's list incrementally from its
// newest end. Two things would still make it read whole lists, which for
// a word in most of a million posts costs tens of milliseconds each:
//
//   - matchinfo's 'x', the number of rows holding each phrase, which BM25
//     needs for a word's weight (idf). Instead, each phrase's share of the
//     posts is estimated from its newest matches (phraseShares; for a
//     query of one word, the candidates themselves: onePhrase), and the
//     candidates are ranked in Go by searchRankShares.
//   - a prefix: FTS4 merges the whole lists of every word the prefix
//     begins. So the last word typed is first looked for whole; only when
//     fewer than SearchCandidates posts have it is it a prefix, and those
//     lists are short unless the prefix begins a common word.

// searchMatch is the FTS4 query Search runs, and for each of its phrases,
// in matchinfo's order, the share of posts that have it.
type searchMatch struct {
	match  string
	shares []float64
}

// maxQueryWords bounds the words of a search.
const maxQueryWords = 12

// newestMatch turns what a person typed into an FTS4 query of quoted words
// that must all match (no operator syntax leaks through). The last word is
// a prefix, unless SearchCandidates posts have it whole: then it is taken
// whole, since those posts fill the candidates and reading every word it
// begins would cost a read of each one's whole list.
func (s *Store) newestMatch(ctx context.Context, query string) (searchMatch, error) {
	words := queryWords(query)
	if len(words) == 0 {
		return searchMatch{}, nil
	}
	words = words[:min(len(words), maxQueryWords)]
	terms := make([][]string, len(words))
	var phrases []string
	for i, w := range words {
		terms[i] = ftsForms(w, false)
		phrases = append(phrases, terms[i]...)
	}
	shares, counts, err := s.phraseShares(ctx, phrases)
	if err != nil || shares == nil {
		return searchMatch{}, err
	}
	last := len(words) - 1
	lastAt := len(phrases) - len(terms[last])
	if slices.Max(counts[lastAt:]) < SearchCandidates {
		terms[last] = ftsForms(words[last], true)
		prefixed, _, err := s.phraseShares(ctx, terms[last])
		if err != nil || prefixed == nil {
			return searchMatch{}, err
		}
		shares = append(shares[:lastAt], prefixed...)
	}
	return joinTerms(terms, shares), nil
}

// denseTogether is how often, at least, all the words of a query must be
// found together (the product of their shares) for FTS4's deferring of
// common words to cost more than it saves.
const denseTogether = 0.01

// joinTerms joins each word's forms into the query that wants them all.
// For a query of several words, FTS4 "defers" the common ones: it reads
// the lists of the others and checks each of their rows by tokenizing its
// text, which saves reading a common word's whole list when another word
// is rare, but costs about 10 ms on a million posts when every word is
// common ("same here") and the newest candidates would come after a few
// thousand posts of each list. FTS4 defers no word inside an OR, so then
// each word's forms are given twice, ("same" OR "same"): the same match,
// each word's hits counted twice, the ranking unchanged.
func joinTerms(terms [][]string, shares []float64) searchMatch {
	together, at := 1.0, 0
	for _, forms := range terms {
		word := 0.0
		for _, share := range shares[at : at+len(forms)] {
			word += share
		}
		together *= min(1, word)
		at += len(forms)
	}
	m := searchMatch{shares: shares}
	if len(terms) > 1 && together >= denseTogether {
		m.shares = nil
		at = 0
		for i, forms := range terms {
			terms[i] = append(forms, forms...)
			m.shares = append(append(m.shares, shares[at:at+len(forms)]...), shares[at:at+len(forms)]...)
			at += len(forms)
		}
	}
	for i, forms := range terms {
		if i > 0 {
			m.match += " "
		}
		if len(forms) == 1 {
			m.match += forms[0]
		} else {
			m.match += "(" + strings.Join(forms, anyWord) + ")"
		}
	}
	return m
}

// phraseShares estimates each phrase's share of the posts from its newest
// SearchCandidates matches: all of them when fewer, else their number over
// the span of post ids they cover. It also returns how many of those
// matches each has. One statement; each list is read from its newest end
// and no further than the candidates (a prefix aside). No shares: no
// posts.
func (s *Store) phraseShares(ctx context.Context, phrases []string) (shares []float64, counts []int64, err error) {
	const newest = `SELECT ? AS i, COUNT(*) AS n, COALESCE(MIN(docid), 0) AS oldest FROM
		(SELECT docid FROM post_search WHERE post_search MATCH ? ORDER BY docid DESC LIMIT ?)`
	var parts []string
	var args []any
	for i, ph := range phrases {
		parts = append(parts, newest)
		args = append(args, i, ph, SearchCandidates)
	}
	parts = append(parts, "SELECT -1, COALESCE(MAX(id), 0), 0 FROM posts")
	var rows []struct{ I, N, Oldest int64 }
	if err := s.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	counts = make([]int64, len(phrases))
	oldest := make([]int64, len(phrases))
	var last int64
	for _, r := range rows {
		if r.I < 0 {
			last = r.N
			continue
		}
		counts[r.I], oldest[r.I] = r.N, r.Oldest
	}
	if last == 0 {
		return nil, nil, nil
	}
	shares = make([]float64, len(phrases))
	for i, n := range counts {
		shares[i] = share(n, oldest[i], last)
	}
	return shares, counts, nil
}

// share is the share of the posts (up to post id last) that a phrase has,
// from its newest n (at most SearchCandidates) matches, the oldest of
// which is post oldest.
func share(n, oldest, last int64) float64 {
	span := last
	if n >= SearchCandidates {
		span = last - oldest + 1
	}
	return min(1, float64(n)/float64(max(span, 1)))
}

// searchRankShares scores a row from matchinfo(t, 'pcnaly') with BM25,
// given each phrase's share of the rows (phraseShares): the number of rows
// holding a phrase, whichever column, is its share of all rows.
func searchRankShares(info []byte, shares ...float64) float64 {
	m, ok := parseMatchinfo(info, 1)
	if !ok || len(shares) < m.phrases {
		return 0
	}
	return m.bm25(func(p, _ int) float64 { return shares[p] * m.docs })
}

// searchHit is a candidate and what FTS4 says of its match.
type searchHit struct {
	Docid int64
	Info  []byte // matchinfo(post_search, 'pcnaly')
	rank  float64
}

// rankedHits finds the newest SearchCandidates matches of what a person
// typed and ranks them (searchRankShares): the query run, and the posts
// best first.
func (s *Store) rankedHits(ctx context.Context, query string) (string, []int64, error) {
	var m searchMatch
	var hits []searchHit
	var err error
	if words := queryWords(query); len(words) == 1 && len(ftsForms(words[0], false)) == 1 {
		m, hits, err = s.onePhrase(ctx, words[0])
	} else if m, err = s.newestMatch(ctx, query); err == nil && m.match != "" {
		hits, err = s.newestHits(ctx, m.match)
	}
	if err != nil {
		return "", nil, err
	}
	for i := range hits {
		hits[i].rank = searchRankShares(hits[i].Info, m.shares...)
	}
	slices.SortStableFunc(hits, func(a, b searchHit) int {
		return cmp.Or(cmp.Compare(b.rank, a.rank), cmp.Compare(b.Docid, a.Docid))
	})
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.Docid
	}
	return m.match, ids, nil
}

// onePhrase is newestMatch for a query of one word with one form: its
// newest matches are the candidates and give its share, so the list is
// read once (twice when it is a prefix).
func (s *Store) onePhrase(ctx context.Context, word string) (searchMatch, []searchHit, error) {
	var last int64
	if err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM posts").Scan(&last).Error; err != nil {
		return searchMatch{}, nil, err
	}
	match := ftsForms(word, false)[0]
	hits, err := s.newestHits(ctx, match)
	if err == nil && len(hits) < SearchCandidates {
		match = ftsForms(word, true)[0]
		hits, err = s.newestHits(ctx, match)
	}
	if err != nil {
		return searchMatch{}, nil, err
	}
	var oldest int64
	if len(hits) > 0 {
		oldest = hits[len(hits)-1].Docid
	}
	return searchMatch{match: match, shares: []float64{share(int64(len(hits)), oldest, last)}}, hits, nil
}

// newestHits reads the newest SearchCandidates matches of match.
func (s *Store) newestHits(ctx context.Context, match string) ([]searchHit, error) {
	var hits []searchHit
	err := s.db.WithContext(ctx).Raw(`SELECT docid, matchinfo(post_search, 'pcnaly') AS info
		FROM post_search WHERE post_search MATCH ? ORDER BY docid DESC LIMIT ?`, match, SearchCandidates).Scan(&hits).Error
	return hits, err
}

// visibleResults returns the first n of the ranked posts ids that the
// viewer may read. Posts are read in rank order, a few more at a time than
// are still wanted, so a page reads about the rows it shows rather than
// all the candidates.
func (s *Store) visibleResults(ctx context.Context, ids []int64, viewer *User, n int) ([]SearchResult, error) {
	place := make(map[int64]int, len(ids))
	for i, id := range ids {
		place[id] = i
	}
	cond, args := visibleSQL("p", viewer)
	var out []SearchResult
	for from := 0; len(out) < n && from < len(ids); {
		to := min(len(ids), from+2*(n-len(out)))
		var rows []SearchResult
		err := s.db.WithContext(ctx).Raw(`
			SELECT CASE WHEN p.id <> (SELECT MIN(id) FROM posts WHERE thread_id = p.thread_id) THEN 'post'
			            WHEN i.id IS NOT NULL THEN 'incident' ELSE 'thread' END AS type,
			       p.id AS post_id, t.id AS thread_id, COALESCE(i.id, 0) AS incident_id, t.title AS title
			FROM posts p
			JOIN threads t ON t.id = p.thread_id
			LEFT JOIN incidents i ON i.thread_id = t.id
			WHERE p.id IN ? AND `+cond, append([]any{ids[from:to]}, args...)...).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		slices.SortFunc(rows, func(a, b SearchResult) int { return place[a.PostID] - place[b.PostID] })
		out = append(out, rows...)
		from = to
	}
	return out[:min(len(out), n)], nil
}
