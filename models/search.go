package models

import (
	"context"
	"encoding/binary"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"sitrep/server/markup"
)

// searchRank scores a row from FTS4's matchinfo(t, 'pcnalx') with Okapi BM25
// (bm25). ThreadsTitled ranks with it; Search, which must not read whole
// index lists, with searchRankShares.
func searchRank(info []byte) float64 {
	m, ok := parseMatchinfo(info, 3)
	if !ok {
		return 0
	}
	return m.bm25(func(p, c int) float64 { return m.at(p, c, 2) })
}

// matchinfo is FTS4's matchinfo(t, 'pcnal' + one more letter): per phrase
// and column, stride values, the first of which is the row's hits.
type matchinfo struct {
	info           []byte
	phrases, cols  int
	docs           float64
	stride, phrase int // where the per-phrase values start
}

func parseMatchinfo(info []byte, stride int) (matchinfo, bool) {
	m := matchinfo{info: info, stride: stride}
	if len(info) < 12 {
		return m, false
	}
	m.phrases, m.cols, m.docs = int(m.u(0)), int(m.u(1)), m.u(2)
	m.phrase = 3 + 2*m.cols
	return m, len(info) >= (m.phrase+stride*m.phrases*m.cols)*4
}

func (m matchinfo) u(i int) float64 { return float64(binary.NativeEndian.Uint32(m.info[i*4:])) }

// at is the k-th value of phrase p in column c.
func (m matchinfo) at(p, c, k int) float64 { return m.u(m.phrase + m.stride*(p*m.cols+c) + k) }

// bm25 is Okapi BM25 (k1 = 1.2, b = 0.75) given how many rows have each
// phrase in each column; a hit in the title (column 0) weighs three times
// a hit in the body.
func (m matchinfo) bm25(withHits func(p, c int) float64) float64 {
	const k1, b = 1.2, 0.75
	score := 0.0
	for p := 0; p < m.phrases; p++ {
		for c := 0; c < m.cols; c++ {
			hits := m.at(p, c, 0)
			if hits == 0 {
				continue
			}
			with := withHits(p, c)
			idf := math.Log(1 + (m.docs-with+0.5)/(with+0.5))
			norm := 1 - b + b*m.u(3+m.cols+c)/math.Max(m.u(3+c), 1)
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

// anyWord joins FTS4 phrases of which any must match.
const anyWord = " OR "

// textSyntax writes one database's full-text queries: term writes one
// word (prefix: it may be unfinished, the last one typed), and all and any
// join words that must all match, or any of them.
type textSyntax struct {
	term     func(w string, prefix bool) string
	all, any string
}

var (
	// fts4Syntax is SQLite's FTS4 MATCH syntax.
	fts4Syntax = textSyntax{term: ftsTerm, all: " ", any: anyWord}
	// tsquerySyntax is PostgreSQL's to_tsquery syntax.
	tsquerySyntax = textSyntax{term: tsTerm, all: " & ", any: " | "}
)

// textSyntax is the syntax of this store's database.
func (s *Store) textSyntax() textSyntax {
	if s.pg {
		return tsquerySyntax
	}
	return fts4Syntax
}

// query turns what a person typed into a query for all its words (prefix
// match on the last word), and no operator syntax leaks through: a word is
// letters and digits only, and quoted.
func (x textSyntax) query(q string) string {
	words := queryWords(q)
	if len(words) > 12 {
		words = words[:12]
	}
	for i, w := range words {
		words[i] = x.term(w, i == len(words)-1)
	}
	return strings.Join(words, x.all)
}

// tsTerm quotes one word for to_tsquery, which folds case and stems it
// (a prefix when prefix is set). The word is letters and digits only (see
// queryWords), so it cannot close the quotes.
func tsTerm(w string, prefix bool) string {
	if prefix {
		return "'" + w + "':*"
	}
	return "'" + w + "'"
}

// queryWords splits what a person typed into words of letters and digits.
func queryWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// ftsTerm quotes one word (a prefix when prefix is set). The porter
// tokenizer folds the case of ASCII letters only, so a word with other
// letters also matches as written in lower case, capitalized and in
// capitals: "über" finds "Über".
func ftsTerm(w string, prefix bool) string {
	forms := ftsForms(w, prefix)
	if len(forms) == 1 {
		return forms[0]
	}
	return "(" + strings.Join(forms, anyWord) + ")"
}

// ftsForms are the quoted forms of a word that ftsTerm joins: FTS4
// phrases, in the order matchinfo numbers them.
func ftsForms(w string, prefix bool) []string {
	star := ""
	if prefix {
		star = "*"
	}
	var forms []string
	for _, f := range []string{w, strings.ToLower(w), capitalize(strings.ToLower(w)), strings.ToUpper(w)} {
		if !slices.Contains(forms, f) && (len(forms) == 0 || !isASCII(w)) {
			forms = append(forms, f)
		}
	}
	for i, f := range forms {
		forms[i] = `"` + f + star + `"`
	}
	return forms
}

func isASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// SearchCandidates bounds the work of one search: the newest this many
// matching posts are ranked, so a word in every post of a big forum costs
// the same as a word in a thousand. A support forum's newest posts are the
// ones people look for.
const SearchCandidates = 1000

// Search finds threads and posts by relevance among the newest
// SearchCandidates matches (on SQLite, newestMatch). Posts the viewer may
// not read are never returned.
func (s *Store) Search(ctx context.Context, query string, viewer *User, p Page) (Paged[SearchResult], error) {
	p = p.Normalize(SearchPerPage)
	var match string
	var rows []SearchResult
	var err error
	if s.pg {
		match, rows, err = s.searchPostgres(ctx, query, viewer, p)
	} else {
		var ids []int64
		if match, ids, err = s.rankedHits(ctx, query); err == nil && match != "" {
			rows, err = s.visibleResults(ctx, ids, viewer, p.offset()+p.PerPage+1)
			rows = rows[min(len(rows), p.offset()):]
		}
	}
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
	if err := s.snippets(ctx, match, ids).Scan(&snippets).Error; err != nil {
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

// searchPostgres is Search's page of results on PostgreSQL, ranked in one
// query among the newest SearchCandidates matches, with the match its
// snippets need.
func (s *Store) searchPostgres(ctx context.Context, query string, viewer *User, p Page) (string, []SearchResult, error) {
	match := tsquerySyntax.query(query)
	if match == "" {
		return "", nil, nil
	}
	cond, args := visibleSQL("p", viewer)
	ft := s.fullText(false)
	var rows []SearchResult
	err := s.db.WithContext(ctx).Raw(`
		WITH hits AS (
			SELECT docid, `+ft.rank+` AS rank
			FROM `+ft.from+` WHERE `+ft.where+` ORDER BY docid DESC LIMIT ?)
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
	return match, rows, err
}

// fullText is one database's full-text search of post_search: from is the
// table (with the query, on PostgreSQL), where the condition (the query
// its one argument) and rank a row's relevance, higher better. titleOnly
// matches the titles only.
type fullText struct{ from, where, rank string }

func (s *Store) fullText(titleOnly bool) fullText {
	if !s.pg {
		ft := fullText{from: "post_search", where: "post_search MATCH ?", rank: "search_rank(matchinfo(post_search, 'pcnalx'))"}
		if titleOnly {
			ft.where = "title MATCH ?"
		}
		return ft
	}
	// Weights {D, C, B, A}: the title (A) counts three times the body (B);
	// normalization 1 divides by the logarithm of the length, as BM25
	// favours the shorter of two documents with the same hits.
	ft := fullText{from: "post_search, to_tsquery('sitrep', ?) AS q", where: "words @@ q", rank: "ts_rank('{0, 0, 0.333, 1}', words, q, 1)"}
	if titleOnly {
		ft.where = "words @@ q AND ts_filter(words, '{a}') @@ q"
	}
	return ft
}

// snippets selects, for the posts ids, plain text around the hits of match
// in the body, the hits marked with SnippetOpen and SnippetClose.
func (s *Store) snippets(ctx context.Context, match string, ids []int64) *gorm.DB {
	if s.pg {
		return s.db.WithContext(ctx).Raw(`SELECT docid, ts_headline('sitrep', body, q, ?) AS snippet
			FROM post_search, to_tsquery('sitrep', ?) AS q WHERE docid IN ?`,
			`StartSel="`+SnippetOpen+`", StopSel="`+SnippetClose+`", MaxWords=24, MinWords=12, ShortWord=2`, match, ids)
	}
	// Read newest first between the page's oldest and newest post, as the
	// hits were.
	return s.db.WithContext(ctx).Raw(`SELECT docid, snippet(post_search, ?, ?, '…', 1, 24) AS snippet
		FROM post_search WHERE post_search MATCH ? AND docid BETWEEN ? AND ? AND docid IN ? ORDER BY docid DESC`,
		SnippetOpen, SnippetClose, match, slices.Min(ids), slices.Max(ids), ids)
}

// Suggest is what a customer about to report a problem said: the problem
// in their words and, when they chose one, the service.
type Suggest struct {
	Text      string
	ServiceID int64 // 0: not sure
	Limit     int
}

// RecentlyResolved is how long a resolved incident is still suggested, to
// ask whoever is still affected to say so.
const RecentlyResolved = 24 * time.Hour

// SuggestThreads finds threads a customer about to report a problem may
// want to join: threads whose title or posts share a word with what they
// typed (common words aside), each unlocked, of no incident or of one still
// open, plus the own threads of incidents resolved within RecentlyResolved.
// With a service chosen, threads about another service are left out, and
// the open and recently resolved incidents on that service come whatever
// the words. Active incidents come first, then customers' threads, then
// maintenance not started yet and recently resolved incidents; their
// incidents are loaded. Like Search, it looks only at the newest
// SearchCandidates matching posts, so words found in every post cost no
// more than rare ones.
func (s *Store) SuggestThreads(ctx context.Context, q Suggest) ([]Thread, error) {
	var found []string
	var args []any
	if match := s.textSyntax().suggest(q.Text); match != "" {
		ft := s.fullText(false)
		found = append(found, `threads.id IN (SELECT p.thread_id FROM
			(SELECT docid FROM `+ft.from+` WHERE `+ft.where+` ORDER BY docid DESC LIMIT ?) AS hits
			JOIN posts p ON p.id = hits.docid WHERE p.hidden_at IS NULL)`)
		args = append(args, match, SearchCandidates)
	}
	const affects = "i.id IN (SELECT incident_id FROM incident_services WHERE service_id = ?)"
	if q.ServiceID != 0 {
		found = append(found, "(i.thread_id = threads.id AND "+affects+")")
		args = append(args, q.ServiceID)
	}
	if len(found) == 0 {
		return nil, nil
	}
	db := s.db.WithContext(ctx).Preload("Service").Preload("Incident").Select("threads.*").
		Joins("LEFT JOIN incidents i ON i.id = threads.incident_id").
		Where("threads.locked = FALSE AND threads.merged_into_id IS NULL").
		Where("(i.id IS NULL OR i.resolved_at IS NULL OR (i.thread_id = threads.id AND i.cancelled_at IS NULL AND i.resolved_at > ?))",
			s.now().Add(-RecentlyResolved)).
		Where("("+strings.Join(found, " OR ")+")", args...)
	if q.ServiceID != 0 {
		db = db.Where("(threads.service_id = ? OR "+affects+" OR (threads.service_id IS NULL AND threads.incident_id IS NULL))", q.ServiceID, q.ServiceID)
	}
	var out []Thread
	err := db.Order(`CASE WHEN i.thread_id <> threads.id OR i.id IS NULL THEN 1
			WHEN ` + activeSQL("i") + ` THEN 0 WHEN i.resolved_at IS NULL THEN 2 ELSE 3 END,
			threads.last_activity_at DESC, threads.id DESC`).Limit(q.Limit).Find(&out).Error
	return out, err
}

// ThreadsTitled finds the threads a thread may be merged into: its number
// when text is one ("42", "#42"), and those whose titles share the most
// telling words of text (as suggestions pick them, common words aside),
// best matches first, authors loaded. Merged threads and the thread
// itself (except) are left out.
func (s *Store) ThreadsTitled(ctx context.Context, text string, except int64, limit int) ([]Thread, error) {
	var ids []int64
	if n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(text), "#"), 10, 64); err == nil {
		ids = append(ids, n)
	}
	if match := s.textSyntax().suggest(text); match != "" {
		var found []int64
		ft := s.fullText(true)
		err := s.db.WithContext(ctx).Raw(`SELECT p.thread_id FROM
			(SELECT docid, `+ft.rank+` AS rank
			 FROM `+ft.from+` WHERE `+ft.where+` ORDER BY docid DESC LIMIT ?) AS hits
			JOIN posts p ON p.id = hits.docid
			GROUP BY p.thread_id ORDER BY MAX(hits.rank) DESC, p.thread_id DESC LIMIT ?`, match, SearchCandidates, 2*limit).
			Scan(&found).Error
		if err != nil {
			return nil, err
		}
		ids = append(ids, found...)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var threads []Thread
	if err := s.db.WithContext(ctx).Preload("Author").Where("id IN ? AND id <> ? AND merged_into_id IS NULL", ids, except).
		Find(&threads).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]Thread, len(threads))
	for _, th := range threads {
		byID[th.ID] = th
	}
	out := make([]Thread, 0, limit)
	for _, id := range ids {
		if th, ok := byID[id]; ok && len(out) < limit {
			out = append(out, th)
			delete(byID, id)
		}
	}
	return out, nil
}

// suggestWords bounds the words a suggestion looks for: each common word
// costs the full-text index a read of every post that has it.
const suggestWords = 4

// suggest turns a title being typed into a query for any of its
// suggestWords longest words of three letters or more (the more telling
// ones) that are not stopWords, whole words except the last one typed,
// which may be unfinished and matches as a prefix.
func (x textSyntax) suggest(text string) string {
	words := queryWords(strings.ToLower(text))
	type word struct {
		text   string
		prefix bool
	}
	var picked []word
	seen := map[string]bool{}
	for i, w := range words {
		if utf8.RuneCountInString(w) < 3 || seen[w] || stopWords[w] {
			continue
		}
		seen[w] = true
		picked = append(picked, word{w, i == len(words)-1})
	}
	slices.SortStableFunc(picked, func(a, b word) int { return utf8.RuneCountInString(b.text) - utf8.RuneCountInString(a.text) })
	terms := make([]string, 0, suggestWords)
	for _, w := range picked[:min(len(picked), suggestWords)] {
		terms = append(terms, x.term(w.text, w.prefix))
	}
	return strings.Join(terms, x.any)
}

// stopWords are words of three letters or more that say nothing about
// which problem a report is about: common English words, and the words
// every report on a support forum uses ("not working", "problem", "help").
// A suggestion that matched on them would list every thread.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		about after again all also and any anyone anything are because been before but can cannot
		cant could did didn does doesn doing don done each else even ever every everyone everything
		for from get gets getting got had has have having help her here hey hi him his how its just
		keep keeps like made make many more most much not now off once one only other our out over
		please problem problems really same should since some someone something still such than
		thank thanks that the their them then there these they thing things this those through too
		today try trying very was wasn way were what when where which while who why will with won
		work worked working works would yet you your issue issues error errors`) {
		stopWords[w] = true
	}
}

// indexPost writes a post's searchable text; the first post of a thread also
// carries the title.
func (s *Store) indexPost(tx *gorm.DB, postID int64, title string, html template.HTML) error {
	upsert := "INSERT OR REPLACE INTO post_search (docid, title, body) VALUES (?, ?, ?)"
	if s.pg {
		upsert = `INSERT INTO post_search (docid, title, body) VALUES (?, ?, ?)
			ON CONFLICT (docid) DO UPDATE SET title = excluded.title, body = excluded.body`
	}
	return tx.Exec(upsert, postID, indexText(title), indexText(markup.Text(html))).Error
}

// indexText readies text for the porter tokenizer, which reads every
// character outside ASCII as part of a word: typographic punctuation
// becomes its ASCII look-alike ("can’t" is "can't", so "can" is a word of
// it) and other punctuation and spaces a space. Letters, digits and
// symbols stay, so snippets read as written.
func indexText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < utf8.RuneSelf:
			return r
		case asciiPunct[r] != 0:
			return asciiPunct[r]
		case unicode.IsPunct(r) || unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
}

// asciiPunct maps the punctuation typed most often outside ASCII (phones
// and word processors put it in) to its ASCII look-alike.
var asciiPunct = map[rune]rune{
	'‘': '\'', '’': '\'', '‛': '\'', '“': '"', '”': '"', '„': '"',
	'–': '-', '—': '-', '―': '-', '…': '.', '\u00a0': ' ', '\u202f': ' ',
}
