package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// oldUser is a customer whose account is older than a day, so the stricter
// new-account interval does not apply.
func oldUser(t *testing.T, s *Store, name string) *User {
	t.Helper()
	u := mustUser(t, s, name, RoleCustomer)
	u.CreatedAt = u.CreatedAt.Add(-48 * time.Hour)
	s.db.Model(&User{}).Where("id = ?", u.ID).Update("created_at", u.CreatedAt)
	return u
}

func mustThread(t *testing.T, s *Store, author *User, title, body string) *Thread {
	t.Helper()
	th, _, err := s.CreateThread(context.Background(), author, NewThread{Title: title, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// advance moves the store's clock forward past any posting interval.
func advance(s *Store, d time.Duration) {
	now := s.now().Add(d)
	s.Now = func() time.Time { return now }
}

func TestThreadAndReplyCounters(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice, bob := oldUser(t, s, "alice"), oldUser(t, s, "bob")
	th := mustThread(t, s, alice, "Mail is down", "Cannot send **anything**.")
	advance(s, time.Minute)
	p, created, err := s.CreateReply(ctx, bob, th.ID, NewPost{Body: "Same here"})
	if err != nil || !created {
		t.Fatal(err)
	}
	got, _ := s.ThreadByID(ctx, th.ID)
	if got.PostCount != 2 || got.AffectedCount != 1 || !got.LastActivityAt.Equal(p.CreatedAt) || got.Author.Name != "alice" {
		t.Fatalf("thread after reply: %+v", got)
	}
	posts, _ := s.ListPosts(ctx, PostQuery{ThreadID: th.ID}, Page{})
	if len(posts.Items) != 2 || !strings.Contains(string(posts.Items[0].HTML), "<strong>anything</strong>") || posts.Items[1].Author.Name != "bob" {
		t.Fatalf("posts: %+v", posts.Items)
	}
	for _, bad := range []NewThread{{Title: "", Body: "x"}, {Title: "Mail", Body: "x"}, {Title: "Mail is down", Body: "  "},
		{Title: strings.Repeat("t", 151), Body: "x"}, {Title: "Mail is\x00 down", Body: "x"}, {Title: "Mail is down", Body: strings.Repeat("x", 33<<10)}} {
		if _, _, err := s.CreateThread(ctx, alice, bad); err == nil {
			t.Errorf("accepted %.40q / %d bytes", bad.Title, len(bad.Body))
		}
	}
	if _, _, err := s.CreateReply(ctx, bob, 999, NewPost{Body: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("reply to a missing thread: %v", err)
	}
	bad := int64(999)
	var ve *ValidationError
	if _, _, err := s.CreateThread(ctx, alice, NewThread{Title: "Unknown service", Body: "x", ServiceID: &bad}); !errors.As(err, &ve) {
		t.Errorf("unknown service: %v", err)
	}
}

func TestPostingPace(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	fresh := mustUser(t, s, "fresh", RoleCustomer)
	old := oldUser(t, s, "old")
	staff := mustUser(t, s, "helper", RoleStaff)
	th := mustThread(t, s, old, "Calendar sync broken", "since 9:00")
	var rl *RateLimitError
	if _, _, err := s.CreateReply(ctx, old, th.ID, NewPost{Body: "more"}); !errors.As(err, &rl) || rl.RetryAfter > PostInterval {
		t.Fatalf("old account posting at once: %v", err)
	}
	advance(s, PostInterval)
	if _, _, err := s.CreateReply(ctx, old, th.ID, NewPost{Body: "more"}); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if _, _, err := s.CreateReply(ctx, fresh, th.ID, NewPost{Body: "me too"}); err != nil {
		t.Fatal(err)
	}
	advance(s, PostInterval)
	if _, _, err := s.CreateReply(ctx, fresh, th.ID, NewPost{Body: "again"}); !errors.As(err, &rl) {
		t.Fatalf("new account is held to the longer interval: %v", err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := s.CreateReply(ctx, staff, th.ID, NewPost{Body: fmt.Sprint("update ", i)}); err != nil {
			t.Fatalf("staff limited: %v", err)
		}
	}
}

func TestDuplicateSubmitCreatesOnePost(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	th1, created1, err1 := s.CreateThread(ctx, alice, NewThread{Title: "Web portal 502", Body: "x", SubmitKey: "k1"})
	th2, created2, err2 := s.CreateThread(ctx, alice, NewThread{Title: "Web portal 502", Body: "x", SubmitKey: "k1"})
	if err1 != nil || err2 != nil || !created1 || created2 || th1.ID != th2.ID {
		t.Fatalf("double thread submit: %v %v %v %v", err1, err2, created1, created2)
	}
	advance(s, time.Minute)
	var wg sync.WaitGroup
	results := make([]*Post, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _, _ = s.CreateReply(ctx, alice, th1.ID, NewPost{Body: "once", SubmitKey: "k2"})
		}()
	}
	wg.Wait()
	var n int64
	s.db.Model(&Post{}).Where("thread_id = ?", th1.ID).Count(&n)
	if n != 2 {
		t.Fatalf("%d posts after 5 identical submits, want 2", n)
	}
	for _, p := range results {
		if p == nil || p.ID != results[0].ID {
			t.Fatalf("submits answered with different posts: %v", results)
		}
	}
}

// TestAffectedConcurrent: 50 users marking at once give 51 (with the author);
// one user marking twice counts once; unmarking is idempotent.
func TestAffectedConcurrent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	author := oldUser(t, s, "author")
	th := mustThread(t, s, author, "Mail is down", "x")
	users := make([]*User, 50)
	for i := range users {
		users[i] = mustUser(t, s, fmt.Sprintf("user%02d", i), RoleCustomer)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, u := range users {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.SetAffected(ctx, u, th.ID, true); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := s.ThreadByID(ctx, th.ID)
	if got.AffectedCount != 51 {
		t.Fatalf("affected count %d, want 51", got.AffectedCount)
	}
	for range 2 {
		if n, err := s.SetAffected(ctx, users[0], th.ID, false); err != nil || n != 50 {
			t.Fatalf("unmark: %d %v", n, err)
		}
	}
	if m, _ := s.MarksOn(ctx, users[0].ID, th.ID); m.Affected {
		t.Error("still marked")
	}
	if _, err := s.SetAffected(ctx, users[0], 999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing thread: %v", err)
	}
}

func TestEditKeepsRevisions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice, bob := oldUser(t, s, "alice"), oldUser(t, s, "bob")
	mod := mustUser(t, s, "keeper", RoleModerator)
	th := mustThread(t, s, alice, "Mail is down", "first text")
	posts, _ := s.ListPosts(ctx, PostQuery{ThreadID: th.ID}, Page{})
	p := posts.Items[0]
	if _, err := s.EditPost(ctx, bob, p.ID, "vandalised"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another customer edited: %v", err)
	}
	if _, err := s.EditPost(ctx, alice, p.ID, "second text"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditPost(ctx, mod, p.ID, "third text"); err != nil {
		t.Fatalf("moderator edit: %v", err)
	}
	got, page, err := s.PostRevisions(ctx, p.ID, nil, Page{})
	revs := page.Items
	if err != nil || got.EditedAt == nil || got.Source != "third text" || len(revs) != 2 || page.HasNext ||
		revs[0].Source != "second text" || revs[1].Source != "first text" || revs[0].Editor.Name != "keeper" {
		t.Fatalf("revisions: %+v %+v %v", got, revs, err)
	}
	// The search index follows the edit.
	r, _ := s.Search(ctx, "third", nil, Page{})
	if len(r.Items) != 1 {
		t.Fatalf("edited text not found: %+v", r.Items)
	}
	if r, _ := s.Search(ctx, "first", nil, Page{}); len(r.Items) != 0 {
		t.Fatalf("old text still found: %+v", r.Items)
	}
	// However often a post is edited, its first text stays recoverable:
	// the history pages on to it.
	for i := range 120 {
		if _, err := s.EditPost(ctx, mod, p.ID, fmt.Sprintf("edit %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var oldest PostRevision
	for n := 1; ; n++ {
		_, page, err := s.PostRevisions(ctx, p.ID, nil, Page{Number: n})
		if err != nil || len(page.Items) == 0 {
			t.Fatalf("history page %d: %v, %d items", n, err, len(page.Items))
		}
		oldest = page.Items[len(page.Items)-1]
		if !page.HasNext {
			break
		}
	}
	if oldest.Source != "first text" {
		t.Fatalf("the last page of the history ends with %q, want the first text", oldest.Source)
	}
}

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

func TestLockedThreadRefusesReplies(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	th := mustThread(t, s, alice, "Mail is down", "x")
	s.db.Model(&Thread{}).Where("id = ?", th.ID).Updates(map[string]any{"locked": true, "lock_reason": "duplicate of #1"})
	advance(s, time.Minute)
	_, _, err := s.CreateReply(ctx, alice, th.ID, NewPost{Body: "hello?"})
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(le.Error(), "duplicate of #1") {
		t.Fatalf("reply to locked thread: %v", err)
	}
}

func TestListThreadsOrderAndPages(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	svc, _ := s.CreateService(ctx, nil, NewService{Name: "Mail"})
	var ids []int64
	for i := 0; i < 7; i++ {
		advance(s, time.Minute)
		in := NewThread{Title: fmt.Sprintf("Thread number %d", i), Body: "x"}
		if i%2 == 0 {
			in.ServiceID = &svc.ID
		}
		th, _, err := s.CreateThread(ctx, alice, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, th.ID)
	}
	p1, _ := s.ListThreads(ctx, ThreadFilter{}, Page{Number: 1, PerPage: 3})
	if len(p1.Items) != 3 || !p1.HasNext || p1.Items[0].ID != ids[6] || p1.Items[0].Author == nil {
		t.Fatalf("page 1: %+v", p1)
	}
	p3, _ := s.ListThreads(ctx, ThreadFilter{}, Page{Number: 3, PerPage: 3})
	if len(p3.Items) != 1 || p3.HasNext || p3.Items[0].ID != ids[0] {
		t.Fatalf("page 3: %+v", p3)
	}
	bySvc, _ := s.ListThreads(ctx, ThreadFilter{ServiceID: &svc.ID}, Page{})
	if len(bySvc.Items) != 4 || bySvc.Items[0].Service.Name != "Mail" {
		t.Fatalf("by service: %d", len(bySvc.Items))
	}
	// A reply moves a thread to the top.
	advance(s, time.Minute)
	s.CreateReply(ctx, alice, ids[0], NewPost{Body: "bump"})
	p1, _ = s.ListThreads(ctx, ThreadFilter{}, Page{Number: 1, PerPage: 3})
	if p1.Items[0].ID != ids[0] {
		t.Fatalf("bumped thread not first: %d", p1.Items[0].ID)
	}
}

func TestRerender(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	th := mustThread(t, s, alice, "Mail is down", "**bold**")
	s.db.Exec("UPDATE posts SET html = '<p>stale</p>' WHERE thread_id = ?", th.ID)
	n, err := s.RerenderPosts(ctx)
	if err != nil || n != 1 {
		t.Fatalf("rerender: %d %v", n, err)
	}
	posts, _ := s.ListPosts(ctx, PostQuery{ThreadID: th.ID}, Page{})
	if !strings.Contains(string(posts.Items[0].HTML), "<strong>bold</strong>") {
		t.Fatalf("html after rerender: %s", posts.Items[0].HTML)
	}
	if n, _ := s.RerenderPosts(ctx); n != 0 {
		t.Errorf("second rerender changed %d rows", n)
	}
}

// TestThreadPageQueries: a page of posts costs two queries whatever the
// number of posts and authors (posts, then their authors in one preload).
func TestThreadPageQueries(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	author := oldUser(t, s, "author")
	th := mustThread(t, s, author, "Mail is down", "x")
	for i := 0; i < 60; i++ {
		u := mustUser(t, s, fmt.Sprintf("staff%02d", i), RoleStaff)
		if _, _, err := s.CreateReply(ctx, u, th.ID, NewPost{Body: "reply"}); err != nil {
			t.Fatal(err)
		}
	}
	queries := 0
	if err := s.db.Callback().Query().After("gorm:query").Register("test:count", func(*gorm.DB) { queries++ }); err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{1, 2} {
		queries = 0
		posts, err := s.ListPosts(ctx, PostQuery{ThreadID: th.ID, Placeholders: true}, Page{Number: page})
		if err != nil || len(posts.Items) == 0 || posts.Items[0].Author == nil {
			t.Fatal(err)
		}
		if queries != 2 {
			t.Errorf("page %d of posts took %d queries, want 2", page, queries)
		}
	}
	queries = 0
	if _, err := s.ListThreads(ctx, ThreadFilter{}, Page{}); err != nil {
		t.Fatal(err)
	}
	if queries > 3 {
		t.Errorf("thread list took %d queries, want at most 3", queries)
	}
}

// benchStore is a migrated database in b's temporary folder with one user,
// for benchmarks that bulk-load rows.
func benchStore(b *testing.B) (*Store, *User) {
	s, err := Open(b.TempDir() + "/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	u := &User{Name: "author", Email: "a@example.com", PasswordHash: "x", Role: RoleCustomer}
	if err := s.db.Create(u).Error; err != nil {
		b.Fatal(err)
	}
	return s, u
}

// BenchmarkThreadListDeepPage lists page 1,000 of 25,000 threads: the page
// of ids comes from the index, so it costs about what page 1 costs.
func BenchmarkThreadListDeepPage(b *testing.B) {
	s, u := benchStore(b)
	ctx := context.Background()
	// Bulk rows straight into the table: the benchmark is about reading.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
		INSERT INTO threads (title, author_id, post_count, affected_count, last_activity_at, created_at, updated_at)
		SELECT 'Thread ' || i, ?, 1, 0, datetime(?, '+' || i || ' minutes'), ?, ? FROM n`, u.ID, start, start, start).Error
	if err != nil {
		b.Fatal(err)
	}
	for _, page := range []int{1, 1000} {
		b.Run(fmt.Sprintf("page%d", page), func(b *testing.B) {
			for b.Loop() {
				r, err := s.ListThreads(ctx, ThreadFilter{}, Page{Number: page})
				if err != nil || len(r.Items) != ThreadsPerPage {
					b.Fatal(err, len(r.Items))
				}
			}
		})
	}
}

// TestLineEndingsNormalized: a browser sends CRLF from a text box; the stored
// source is the same as the API's LF.
func TestLineEndingsNormalized(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	th := mustThread(t, s, alice, "Mail is down", "line one\r\nline two\r\n")
	posts, _ := s.ListPosts(ctx, PostQuery{ThreadID: th.ID}, Page{})
	if got := posts.Items[0].Source; got != "line one\nline two\n" {
		t.Fatalf("stored source %q", got)
	}
	p, err := s.EditPost(ctx, alice, posts.Items[0].ID, "line one\nline two\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, revs, _ := s.PostRevisions(ctx, p.ID, alice, Page{}); len(revs.Items) != 0 {
		t.Fatalf("an edit that only changes line endings made %d revision(s)", len(revs.Items))
	}
}

// TestThreadListPlans: every filter of the thread list reads its page in
// list order from an index, never sorting the matches (which would make a
// filtered page cost as much as all the threads it filters).
func TestThreadListPlans(t *testing.T) {
	s := newTestStore(t)
	svc, user := int64(1), int64(1)
	for name, f := range map[string]ThreadFilter{
		"all": {}, "service": {ServiceID: &svc}, "linked": {Linked: true}, "open": {OpenOnly: true},
		"service, open": {ServiceID: &svc, OpenOnly: true},
	} {
		sql := s.db.ToSQL(func(tx *gorm.DB) *gorm.DB { return threadPageIDs(tx, f, Page{Number: 1, PerPage: 25}).Find(&[]int64{}) })
		var plan []struct{ Detail string }
		if err := s.db.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		for _, step := range plan {
			if strings.Contains(step.Detail, "TEMP B-TREE") || strings.HasPrefix(step.Detail, "SCAN threads") && !strings.Contains(step.Detail, "INDEX") {
				t.Errorf("%s: the page is not read in order from an index: %+v", name, plan)
			}
		}
	}
	// One person's followed threads are few: they are found by key, then
	// sorted, never by a scan of all threads.
	sql := s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		return threadPageIDs(tx, ThreadFilter{FollowerID: &user}, Page{Number: 1, PerPage: 25}).Find(&[]int64{})
	})
	var plan []struct{ Detail string }
	if err := s.db.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.HasPrefix(step.Detail, "SCAN") {
			t.Errorf("following: %+v", plan)
		}
	}
}

// TestControlCharactersRefused: a post may hold tabs and line breaks but no
// other control character (search marks its hits with two of them).
func TestControlCharactersRefused(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	for _, body := range []string{"fake \x02hit\x03", "nul \x00 byte", "bell \a", "next line \u0085"} {
		_, _, err := s.CreateThread(ctx, alice, NewThread{Title: "Mail is down", Body: body})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields["body"] == "" {
			t.Errorf("%q: %v, want a message on body", body, err)
		}
	}
	if _, _, err := s.CreateThread(ctx, alice, NewThread{Title: "Mail is down", Body: "tab\there\r\nand a new line"}); err != nil {
		t.Errorf("tabs and line breaks refused: %v", err)
	}
}
