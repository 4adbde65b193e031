package models

import (
	"context"
	"errors"
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
				r, err := s.SuggestThreads(ctx, tc.title, 8)
				if err != nil || len(r) == 0 {
					b.Fatal(err, len(r))
				}
			}
		})
	}
}

// TestSuggestQueryBounded: a suggestion looks for at most suggestWords of
// the title's words, the longest ones of three letters or more, the last
// one typed as a prefix.
func TestSuggestQueryBounded(t *testing.T) {
	for in, want := range map[string]string{
		"Mail stuck in the outb": `"stuck" OR "mail" OR "outb*" OR "the"`,
		"outgoing mail bounced again through relay for account please help": `"outgoing" OR "bounced" OR "through" OR "account"`,
		"a b cd":                   "",
		"Mail mail MAIL":           `"mail"`,
		`"quoted" OR title:x NEAR`: `"quoted" OR "title" OR "near*"`,
	} {
		if got := suggestQuery(in); got != want {
			t.Errorf("suggestQuery(%q) = %s, want %s", in, got, want)
		}
	}
}
