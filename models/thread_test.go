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
	if m, _ := s.MarksOn(ctx, users[0], th.ID); m.Affected {
		t.Error("still marked")
	}
	if _, err := s.SetAffected(ctx, users[0], 999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing thread: %v", err)
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
	queries := countQueries(t, s)
	for _, page := range []int{1, 2} {
		*queries = 0
		posts, err := s.ListPosts(ctx, PostQuery{ThreadID: th.ID, Placeholders: true}, Page{Number: page})
		if err != nil || len(posts.Items) == 0 || posts.Items[0].Author == nil {
			t.Fatal(err)
		}
		if *queries != 2 {
			t.Errorf("page %d of posts took %d queries, want 2", page, *queries)
		}
	}
	*queries = 0
	if _, err := s.ListThreads(ctx, ThreadFilter{}, Page{}); err != nil {
		t.Fatal(err)
	}
	if *queries > 3 {
		t.Errorf("thread list took %d queries, want at most 3", *queries)
	}
}

// TestThreadListPlans: every filter of the thread list reads its page in
// list order from an index, never sorting the matches (which would make a
// filtered page cost as much as all the threads it filters).
func TestThreadListPlans(t *testing.T) {
	s := newSQLiteStore(t)
	svc, user := int64(1), int64(1)
	for name, f := range map[string]ThreadFilter{
		"all": {}, "service": {ServiceID: &svc}, "linked": {Linked: true}, "open": {OpenOnly: true},
		"service, open":  {ServiceID: &svc, OpenOnly: true},
		"after a thread": {After: &ThreadKey{LastActivityAt: time.Now(), ID: 9}},
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

// BenchmarkThreadListDeepPage lists page 1,000 of 25,000 threads: the page
// of ids comes from the index, so it costs about what page 1 costs.
func BenchmarkThreadListDeepPage(b *testing.B) {
	s := newTestStore(b)
	u := mustUser(b, s, "author", RoleCustomer)
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
