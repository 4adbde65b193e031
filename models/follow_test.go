package models

import (
	"context"
	"errors"
	"testing"
)

// followed lists the ids of the threads u follows, latest activity first.
func followed(t *testing.T, s *Store, u *User) []int64 {
	t.Helper()
	list, err := s.ListThreads(context.Background(), ThreadFilter{FollowerID: &u.ID}, Page{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, th := range list.Items {
		ids = append(ids, th.ID)
	}
	return ids
}

func TestFollowThreads(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	// alice started f.thread and follows it; carol follows nothing yet.
	if got := followed(t, f.s, f.alice); len(got) != 1 || got[0] != f.thread.ID {
		t.Fatalf("author follows %v, want [%d]", got, f.thread.ID)
	}
	if got := followed(t, f.s, f.bob); len(got) != 1 {
		t.Fatalf("bob replied and follows %v, want [%d]", got, f.thread.ID)
	}
	if got := followed(t, f.s, f.carol); len(got) != 0 {
		t.Fatalf("carol follows %v before following", got)
	}
	for range 2 { // idempotent
		if _, err := f.s.SetFollowing(ctx, f.carol, f.thread.ID, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := f.s.MarksOn(ctx, f.carol, f.thread.ID); err != nil || !m.Following || m.Affected {
		t.Fatalf("marks after follow: %+v %v", m, err)
	}
	if got := followed(t, f.s, f.carol); len(got) != 1 {
		t.Fatalf("carol follows %v", got)
	}
	for range 2 {
		if _, err := f.s.SetFollowing(ctx, f.carol, f.thread.ID, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := f.s.MarksOn(ctx, f.carol, f.thread.ID); m.Following {
		t.Fatal("still following after unfollow")
	}
	if _, err := f.s.SetFollowing(ctx, f.carol, 999999, true, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("follow a missing thread: %v", err)
	}
}

// TestMergeCarriesFollowers: a follower of either thread follows the merged
// one, once; the merged-away thread can no longer be followed.
func TestMergeCarriesFollowers(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	dup := mustThread(t, f.s, f.carol, "Mail down for me too", "Same.") // carol follows dup
	for _, u := range []*User{f.alice, f.bob} {                         // alice on both
		if _, err := f.s.SetFollowing(ctx, u, dup.ID, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.MergeThread(ctx, f.mod, dup.ID, f.thread.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := f.s.db.Model(&Follow{}).Where("thread_id = ?", f.thread.ID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("followers after merge: %d, want 3 (alice, bob, carol)", n)
	}
	for _, u := range []*User{f.alice, f.bob, f.carol} {
		if got := followed(t, f.s, u); len(got) != 1 || got[0] != f.thread.ID {
			t.Fatalf("%s follows %v after merge, want [%d]", u.Name, got, f.thread.ID)
		}
	}
	if _, err := f.s.SetFollowing(ctx, f.bob, dup.ID, true, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("follow a merged thread: %v", err)
	}
}
