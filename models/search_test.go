package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSearchRanksAndRespectsVisibility(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice, bob := oldUser(t, s, "alice"), oldUser(t, s, "bob")
	mod := mustUser(t, s, "keeper", RoleModerator)
	a := mustThread(t, s, alice, "Outlook sync fails", "The calendar shows nothing.")
	advance(s, time.Minute)
	b := mustThread(t, s, bob, "Billing question", "My invoice mentions sync twice: sync sync.")
	advance(s, time.Minute)
	reply, _, _ := s.CreateReply(ctx, bob, a.ID, NewPost{Body: "Secret <b>token</b> abc123 leaked"})

	r, err := s.Search(ctx, "sync", nil, Page{})
	if err != nil || len(r.Items) != 2 || r.Items[0].ThreadID != a.ID || r.Items[0].Type != "thread" {
		t.Fatalf("title hit should rank first: %+v %v", r.Items, err)
	}
	_ = b
	r, _ = s.Search(ctx, "abc12", nil, Page{}) // prefix match on the last word
	if len(r.Items) != 1 || r.Items[0].Type != "post" || r.Items[0].PostID != reply.ID ||
		!strings.Contains(r.Items[0].Snippet, SnippetOpen+"abc123"+SnippetClose) {
		t.Fatalf("reply hit: %+v", r.Items)
	}
	// Operators and quotes in the query are words, not syntax.
	for _, q := range []string{`"`, `sync OR`, `NEAR(a b)`, `*`, `-sync`, `title:sync`, `') DROP TABLE posts; --`} {
		if _, err := s.Search(ctx, q, nil, Page{}); err != nil {
			t.Errorf("query %q: %v", q, err)
		}
	}
	// Hide the reply: gone for visitors and other customers, there for its
	// author and moderators.
	now := s.now()
	s.db.Model(&Post{}).Where("id = ?", reply.ID).Updates(map[string]any{"hidden_at": now, "hidden_by_id": mod.ID})
	for viewer, want := range map[*User]int{nil: 0, alice: 0, bob: 1, mod: 1} {
		r, _ := s.Search(ctx, "abc123", viewer, Page{})
		if len(r.Items) != want {
			t.Errorf("viewer %v sees %d hidden hits, want %d", viewer, len(r.Items), want)
		}
	}
	all, _ := s.ListPosts(ctx, PostQuery{ThreadID: a.ID, Viewer: alice, Placeholders: true}, Page{})
	if len(all.Items) != 2 || all.Items[1].HTML != "" || all.Items[1].Source != "" {
		t.Fatalf("placeholder keeps text: %+v", all.Items)
	}
	visible, _ := s.ListPosts(ctx, PostQuery{ThreadID: a.ID, Viewer: alice}, Page{})
	if len(visible.Items) != 1 {
		t.Fatalf("hidden post listed: %+v", visible.Items)
	}
	if _, _, err := s.PostRevisions(ctx, reply.ID, alice, Page{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("revisions of a hidden post: %v", err)
	}
	if _, err := s.EditPost(ctx, alice, reply.ID, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("edit of a hidden post by another: %v", err)
	}
}

// searchData fills s with 100,000 posts in 25,000 threads, straight into
// the tables: the benchmarks are about reading. Every post says "mail",
// one in fifty "relay r7", one "a4242".
func searchData(b *testing.B, s *Store) {
	u := mustUser(b, s, "author", RoleCustomer)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
		INSERT INTO threads (id, title, author_id, post_count, affected_count, last_activity_at, created_at, updated_at)
		SELECT i, 'Mail trouble number ' || i, ?, 4, 0, ?, ?, ? FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
		INSERT INTO posts (id, thread_id, author_id, source, html, official, created_at, updated_at)
		SELECT i, (i + 3) / 4, ?, 'x', 'x', FALSE, ?, ? FROM n`,
		`INSERT INTO post_search (docid, title, body)
		SELECT p.id, t.title, 'Outgoing mail bounced again through relay r' || (p.id % 50) || ' for account a' || p.id || ', please help'
		FROM posts p JOIN threads t ON t.id = p.thread_id`,
	} {
		args := []any{u.ID, start, start, start}[:strings.Count(q, "?")]
		if err := s.db.Exec(q, args...).Error; err != nil {
			b.Fatal(err)
		}
	}
	if s.pg { // the statistics autovacuum would gather in time
		if err := s.db.Exec("ANALYZE").Error; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch searches 100,000 posts (25,000 threads) for a word in
// every post, a word in one post in fifty and a rare word: a busy forum on
// the day everyone searches for "mail".
func BenchmarkSearch(b *testing.B) {
	s := newTestStore(b)
	searchData(b, s)
	ctx := context.Background()
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

// BenchmarkSuggestThreads asks for the threads to suggest on "Report a
// problem" over the same 100,000 posts: a title whose words are in every
// post, one with a word in one post in fifty, and a rare one.
func BenchmarkSuggestThreads(b *testing.B) {
	s := newTestStore(b)
	searchData(b, s)
	ctx := context.Background()
	for _, tc := range []struct{ name, title string }{
		{"every-post", "Outgoing mail bounced, please help"}, {"many-words", "outgoing mail bounced again through relay for account please help trouble number"}, {"one-in-fifty", "r17"}, {"rare", "a4242"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := s.SuggestThreads(ctx, Suggest{Text: tc.title, Limit: 8})
				if err != nil || len(r) == 0 {
					b.Fatal(err, len(r))
				}
			}
		})
	}
}

// TestSuggestQueryBounded: a suggestion looks for at most suggestWords of
// the title's words, the longest ones of three letters or more that are not
// common words, the last one typed as a prefix.
func TestSuggestQueryBounded(t *testing.T) {
	for in, want := range map[string]string{
		"Mail stuck in the outb": `"stuck" OR "mail" OR "outb*"`,
		"outgoing mail bounced again through relay for account please help": `"outgoing" OR "bounced" OR "account" OR "relay"`,
		"Nothing is working, please help!":                                  `"nothing"`,
		"Über the problem":                                                  `("über" OR "Über" OR "ÜBER")`,
		"a b cd":                                                            "",
		"Mail mail MAIL":                                                    `"mail"`,
		`"quoted" OR title:x NEAR`:                                          `"quoted" OR "title" OR "near*"`,
	} {
		if got := fts4Syntax.suggest(in); got != want {
			t.Errorf("suggest(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestSearchStems: the index stems words, so any form of a word finds the
// others; letters outside ASCII match whatever their case, and the
// punctuation phones type does not glue words together.
func TestSearchStems(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	dup := mustThread(t, s, alice, "Duplicate invoices", "Every invoice arrives twice.")
	advance(s, time.Minute)
	uber := mustThread(t, s, alice, "Über die Anmeldung", "Die Anmeldung schlägt fehl.")
	advance(s, time.Minute)
	quote := mustThread(t, s, alice, "Cannot log in", "The customer’s password…expired—again.")
	for _, tc := range []struct {
		query string
		want  int64
	}{
		{"duplicated", dup.ID}, {"duplicates", dup.ID}, {"DUPLICATING invoice", dup.ID}, {"arriving", dup.ID},
		{"über", uber.ID}, {"ÜBER", uber.ID}, {"schlägt", uber.ID}, {"SCHLÄGT", uber.ID},
		{"customer", quote.ID}, {"expired", quote.ID}, {"again", quote.ID},
	} {
		r, err := s.Search(ctx, tc.query, nil, Page{})
		if err != nil || len(r.Items) != 1 || r.Items[0].ThreadID != tc.want {
			t.Errorf("search %q: %+v %v, want thread %d", tc.query, r.Items, err, tc.want)
		}
	}
	r, _ := s.Search(ctx, "arriving", nil, Page{})
	if len(r.Items) == 1 && !strings.Contains(r.Items[0].Snippet, SnippetOpen+"arrives"+SnippetClose) {
		t.Errorf("the snippet marks the word as written: %q", r.Items[0].Snippet)
	}
	// What a person types is still never query syntax.
	for _, q := range []string{`dupli*`, `"duplicate`, `duplicate NOT invoice`, `über OR`, `(über`} {
		if _, err := s.Search(ctx, q, nil, Page{}); err != nil {
			t.Errorf("query %q: %v", q, err)
		}
	}
}

// TestMigrationStems upgrades a database from before the stemming step,
// whose index was made without stemming: its posts are found by other
// forms of their words.
func TestMigrationStems(t *testing.T) {
	s := openStore(t)
	all := migrations
	stems := slices.IndexFunc(all, func(m migration) bool { return strings.Contains(m.name, "stems") })
	migrations = all[:stems]
	_, err := s.Migrate(context.Background())
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, q := range []string{
		`INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) VALUES (1, 'alice', 'a@example.com', 'x', 'customer', ?, ?)`,
		`INSERT INTO threads (id, title, author_id, post_count, last_activity_at, created_at, updated_at) VALUES (1, 'Duplicated mail', 1, 1, ?, ?, ?)`,
		`INSERT INTO posts (id, thread_id, author_id, source, html, created_at, updated_at) VALUES (1, 1, 1, 'x', 'x', ?, ?)`,
		`INSERT INTO post_search (docid, title, body) VALUES (1, 'Duplicated mail', 'The relay’s queue sends everything twice.')`,
	} {
		if err := s.db.Exec(q, []any{now, now, now}[:strings.Count(q, "?")]...).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"duplicate", "relay", "sending"} {
		if r, err := s.Search(context.Background(), q, nil, Page{}); err != nil || len(r.Items) != 1 {
			t.Errorf("search %q after the upgrade: %+v %v", q, r.Items, err)
		}
	}
}

// TestSuggestHonoursService: with a service chosen, threads about another
// service are left out and that service's incidents come whatever the
// words; active incidents come first, customers' threads next, then
// maintenance not started yet.
func TestSuggestHonoursService(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	mailInc := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	dashInc, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: "Dashboard delayed", Impact: "minor",
		Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{f.dash.ID, DegradedPerformance}}})
	if err != nil {
		t.Fatal(err)
	}
	from, until := f.s.now().Add(time.Hour), f.s.now().Add(2*time.Hour)
	window, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindMaintenance, Title: "Mail servers delayed upgrade",
		Body: "Planned.", Services: []ServiceChange{{f.mail.ID, UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		t.Fatal(err)
	}
	alice := oldUser(t, f.s, "alice")
	loose := mustThread(t, f.s, alice, "Everything is delayed", "Since nine.")
	advance(f.s, time.Minute)
	other, _, err := f.s.CreateThread(ctx, alice, NewThread{Title: "Dashboard charts delayed", Body: "Blank.", ServiceID: &f.dash.ID})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ths []Thread) []int64 {
		out := []int64{}
		for _, th := range ths {
			out = append(out, th.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    Suggest
		want []int64
	}{
		{"mail, matching words", Suggest{Text: "delayed", ServiceID: f.mail.ID}, []int64{mailInc.ThreadID, loose.ID, window.ThreadID}},
		{"mail, no matching word", Suggest{Text: "cannot log in", ServiceID: f.mail.ID}, []int64{mailInc.ThreadID, window.ThreadID}},
		{"any service", Suggest{Text: "delayed"}, []int64{dashInc.ThreadID, mailInc.ThreadID, other.ID, loose.ID, window.ThreadID}},
		{"only common words", Suggest{Text: "it is not working"}, []int64{}},
	} {
		tc.q.Limit = 10
		got, err := f.s.SuggestThreads(ctx, tc.q)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, ids(got), err, tc.want)
		}
	}
}

// TestThreadsTitled: the merge picker finds threads by the words of their
// titles, or by number, best match first, never the thread itself or one
// merged away.
func TestThreadsTitled(t *testing.T) {
	f := newModFixture(t) // alice's "Mail is down"
	ctx := context.Background()
	dup := mustThread(t, f.s, f.carol, "Mail is down again for everyone", "Same.")
	advance(f.s, time.Minute)
	cal := mustThread(t, f.s, f.bob, "Calendar invites duplicated", "Twice.")
	advance(f.s, time.Minute)
	gone := mustThread(t, f.s, f.carol, "Mail down here", "Same.")
	if _, err := f.s.MergeThread(ctx, f.mod, gone.ID, f.thread.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	ids := func(ths []Thread) []int64 {
		out := []int64{}
		for _, th := range ths {
			out = append(out, th.ID)
		}
		return out
	}
	for _, tc := range []struct {
		text   string
		except int64
		want   []int64
	}{
		{"mail down", dup.ID, []int64{f.thread.ID}},
		{"Mail is down", f.thread.ID, []int64{dup.ID}},
		{"duplicate invite", 0, []int64{cal.ID}},
		{fmt.Sprintf("#%d", cal.ID), 0, []int64{cal.ID}},
		{fmt.Sprint(gone.ID), 0, []int64{}},
		{"", 0, []int64{}},
		{`title:"mail" OR *`, 0, []int64{f.thread.ID, dup.ID}},
	} {
		got, err := f.s.ThreadsTitled(ctx, tc.text, tc.except, 10)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.text, ids(got), err, tc.want)
		}
	}
}
