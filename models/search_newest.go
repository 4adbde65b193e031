package models

import (
	"context"
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
//     posts is estimated from its newest matches (phraseShares) and ranked
//     with by searchRankShares.
//   - a prefix: FTS4 merges the whole lists of every word the prefix
//     begins. So the last word typed is first looked for whole; only when
//     fewer than SearchCandidates posts match that way is it a prefix, and
//     those lists are short unless the prefix is of a common word.

// searchMatch is the FTS4 query Search runs, and for each of its phrases,
// in matchinfo's order, the share of posts that have it.
type searchMatch struct {
	match  string
	shares []float64
}

func (m searchMatch) shareArgs() []any {
	args := make([]any, len(m.shares))
	for i, s := range m.shares {
		args[i] = s
	}
	return args
}

// maxQueryWords bounds the words of a search.
const maxQueryWords = 12

// newestMatch turns what a person typed into an FTS4 query of quoted words
// that must all match (no operator syntax leaks through), the last one
// whole when SearchCandidates posts have it so, else as a prefix.
func (s *Store) newestMatch(ctx context.Context, query string) (searchMatch, error) {
	words := queryWords(query)
	if len(words) == 0 {
		return searchMatch{}, nil
	}
	words = words[:min(len(words), maxQueryWords)]
	whole, full, err := s.phraseShares(ctx, words, false)
	if err != nil || full {
		return whole, err
	}
	prefixed, _, err := s.phraseShares(ctx, words, true)
	return prefixed, err
}

// phraseShares builds the query of words (the last one a prefix when
// prefix is set) and estimates each phrase's share of the posts from its
// newest SearchCandidates matches: all of them when fewer, else their
// number over the span of post ids they cover. full tells whether the
// whole query has SearchCandidates matches. One statement; each list is
// read from its newest end and no further than the candidates.
func (s *Store) phraseShares(ctx context.Context, words []string, prefix bool) (m searchMatch, full bool, err error) {
	var terms, phrases []string
	for i, w := range words {
		forms := ftsForms(w, prefix && i == len(words)-1)
		phrases = append(phrases, forms...)
		terms = append(terms, ftsTerm(w, prefix && i == len(words)-1))
	}
	m.match = strings.Join(terms, " ")
	const newest = `SELECT ? AS i, COUNT(*) AS n, COALESCE(MIN(docid), 0) AS oldest FROM
		(SELECT docid FROM post_search WHERE post_search MATCH ? ORDER BY docid DESC LIMIT ?)`
	var parts []string
	var args []any
	for i, ph := range append(phrases, m.match) {
		parts = append(parts, newest)
		args = append(args, i, ph, SearchCandidates)
	}
	parts = append(parts, "SELECT -1, COALESCE(MAX(id), 0), 0 FROM posts")
	var rows []struct{ I, N, Oldest int64 }
	if err := s.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
		return m, false, err
	}
	count := make([]struct{ n, oldest int64 }, len(phrases)+1)
	var last int64
	for _, r := range rows {
		if r.I < 0 {
			last = r.N
			continue
		}
		count[r.I].n, count[r.I].oldest = r.N, r.Oldest
	}
	if last == 0 {
		return searchMatch{}, true, nil // no posts: nothing to look for
	}
	m.shares = make([]float64, len(phrases))
	for i, c := range count[:len(phrases)] {
		span := last
		if c.n >= SearchCandidates {
			span = last - c.oldest + 1
		}
		m.shares[i] = min(1, float64(c.n)/float64(max(span, 1)))
	}
	return m, count[len(phrases)].n >= SearchCandidates, nil
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
