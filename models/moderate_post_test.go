package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHideRestoreVisibility(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	var ve *ValidationError
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, ""); !errors.As(err, &ve) {
		t.Fatalf("hide without a reason: %v", err)
	}
	if _, err := f.s.HidePost(ctx, f.staff, f.reply.ID, "spam"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("staff hides: %v", err)
	}
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []*User{nil, f.alice, f.carol} {
		if _, err := f.s.PostByID(ctx, f.reply.ID, who); !errors.Is(err, ErrNotFound) {
			t.Errorf("hidden post readable by %v: %v", who, err)
		}
		posts, _ := f.s.ListPosts(ctx, PostQuery{ThreadID: f.thread.ID, Viewer: who}, Page{})
		if len(posts.Items) != 1 {
			t.Errorf("hidden post listed for %v", who)
		}
		if _, _, err := f.s.PostRevisions(ctx, f.reply.ID, who, Page{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("revisions of a hidden post for %v: %v", who, err)
		}
		if res, _ := f.s.Search(ctx, "watches", who, Page{}); len(res.Items) != 0 {
			t.Errorf("hidden post found by search for %v", who)
		}
	}
	for _, who := range []*User{f.bob, f.mod} {
		if _, err := f.s.PostByID(ctx, f.reply.ID, who); err != nil {
			t.Errorf("hidden post not readable by %s: %v", who.Name, err)
		}
	}
	if _, err := f.s.UnhidePost(ctx, f.mod, f.reply.ID, "appeal accepted"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PostByID(ctx, f.reply.ID, nil); err != nil {
		t.Fatalf("restored post: %v", err)
	}
	if f.auditCount(t, "post.hide") != 1 || f.auditCount(t, "post.unhide") != 1 {
		t.Fatal("hide and restore not audited once each")
	}
}

func TestMovePost(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	other := mustThread(t, f.s, f.carol, "Watches for sale?", "Off-topic corner.")
	var ve *ValidationError
	if _, err := f.s.MovePost(ctx, f.mod, f.first.ID, other.ID, ""); !errors.As(err, &ve) {
		t.Fatalf("moving a first post: %v", err)
	}
	if _, err := f.s.MovePost(ctx, f.mod, f.reply.ID, other.ID, ""); !errors.As(err, &ve) {
		t.Fatalf("moving a post into a thread newer than itself: %v", err)
	}
	advance(f.s, time.Minute)
	var err error
	if f.reply, _, err = f.s.CreateReply(ctx, f.bob, f.thread.ID, NewPost{Body: "Watches, cheap, again"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MovePost(ctx, f.mod, f.reply.ID, 999, ""); !errors.As(err, &ve) {
		t.Fatalf("moving to nowhere: %v", err)
	}
	p, err := f.s.MovePost(ctx, f.mod, f.reply.ID, other.ID, "off-topic")
	if err != nil || p.ThreadID != other.ID {
		t.Fatalf("move: %v %+v", err, p)
	}
	a, _ := f.s.ThreadByID(ctx, f.thread.ID)
	b, _ := f.s.ThreadByID(ctx, other.ID)
	if a.PostCount != 2 || b.PostCount != 2 {
		t.Fatalf("counts after move: %d %d", a.PostCount, b.PostCount)
	}
	// Moving back restores it.
	if _, err := f.s.MovePost(ctx, f.mod, f.reply.ID, f.thread.ID, "back"); err != nil {
		t.Fatal(err)
	}
	if f.auditCount(t, "post.move") != 2 {
		t.Fatal("moves not audited")
	}
}
