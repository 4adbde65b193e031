package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

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
