package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

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
