package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMergeCountsUnion(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	dup := mustThread(t, f.s, f.carol, "Mail down for me too", "Same.")    // carol affected there
	if _, err := f.s.SetAffected(ctx, f.alice, dup.ID, true); err != nil { // alice on both
		t.Fatal(err)
	}
	if _, err := f.s.SetAffected(ctx, f.bob, f.thread.ID, true); err != nil {
		t.Fatal(err)
	}
	into, err := f.s.MergeThread(ctx, f.mod, dup.ID, f.thread.ID, "duplicate")
	if err != nil {
		t.Fatal(err)
	}
	// alice, bob, carol: three people, alice once.
	if into.AffectedCount != 3 || into.PostCount != 3 {
		t.Fatalf("after merge: affected %d posts %d", into.AffectedCount, into.PostCount)
	}
	old, _ := f.s.ThreadByID(ctx, dup.ID)
	if old.MergedIntoID == nil || *old.MergedIntoID != f.thread.ID || old.PostCount != 0 {
		t.Fatalf("merged thread: %+v", old)
	}
	list, _ := f.s.ListThreads(ctx, ThreadFilter{}, Page{})
	if len(list.Items) != 1 {
		t.Fatalf("merged thread still listed: %d threads", len(list.Items))
	}
	posts, _ := f.s.ListPosts(ctx, PostQuery{ThreadID: f.thread.ID}, Page{})
	if len(posts.Items) != 3 || posts.Items[2].AuthorID != f.carol.ID {
		t.Fatalf("posts not in time order after merge: %+v", posts.Items)
	}
	// A moved post says where it came from; the others came from nowhere.
	if from := posts.Items[2].MergedFrom; from == nil || from.Title != "Mail down for me too" || posts.Items[0].MergedFrom != nil {
		t.Fatalf("where the posts came from: %+v, %+v", from, posts.Items[0].MergedFrom)
	}
	var ve *ValidationError
	if _, err := f.s.MergeThread(ctx, f.mod, f.thread.ID, f.thread.ID, ""); !errors.As(err, &ve) {
		t.Fatalf("merge into itself: %v", err)
	}
	if _, err := f.s.MergeThread(ctx, f.mod, dup.ID, f.thread.ID, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("merge twice: %v", err)
	}
	if _, _, err := f.s.CreateReply(ctx, f.carol, dup.ID, NewPost{Body: "hello?"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("reply to a merged thread: %v", err)
	}
}

// TestUnmergeRestores: undoing a merge gives the thread back its posts (not
// one a moderator moved on since), its counts and its own marks, and leaves
// one audit entry.
func TestUnmergeRestores(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	other := mustThread(t, f.s, f.bob, "Calendar is slow", "Very.")
	advance(f.s, time.Minute)
	dup := mustThread(t, f.s, f.carol, "Mail down for me too", "Same.")
	advance(f.s, time.Minute)
	second, _, err := f.s.CreateReply(ctx, f.alice, dup.ID, NewPost{Body: "And for me."})
	if err != nil {
		t.Fatal(err)
	}
	moved, _, err := f.s.CreateReply(ctx, f.bob, dup.ID, NewPost{Body: "Calendar too."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MergeThread(ctx, f.mod, dup.ID, f.thread.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MovePost(ctx, f.mod, moved.ID, other.ID, "belongs there"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UnmergeThread(ctx, f.alice, dup.ID, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("customer unmerges: %v", err)
	}
	if _, err := f.s.UnmergeThread(ctx, f.mod, f.thread.ID, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("unmerge a thread that is not merged: %v", err)
	}
	back, err := f.s.UnmergeThread(ctx, f.mod, dup.ID, "not a duplicate after all")
	if err != nil {
		t.Fatal(err)
	}
	if back.MergedIntoID != nil || back.PostCount != 2 || back.AffectedCount != 1 {
		t.Fatalf("unmerged thread: merged %v posts %d affected %d", back.MergedIntoID, back.PostCount, back.AffectedCount)
	}
	posts, _ := f.s.ListPosts(ctx, PostQuery{ThreadID: dup.ID}, Page{})
	if len(posts.Items) != 2 || posts.Items[1].ID != second.ID || posts.Items[1].MergedFromID != nil {
		t.Fatalf("posts back in the unmerged thread: %+v", posts.Items)
	}
	if into, _ := f.s.ThreadByID(ctx, f.thread.ID); into.PostCount != 2 {
		t.Fatalf("thread merged into keeps %d posts, want its own 2", into.PostCount)
	}
	if p, _ := f.s.PostByID(ctx, moved.ID, f.mod); p.ThreadID != other.ID {
		t.Fatalf("the moved post was taken back from thread %d", other.ID)
	}
	if _, err := f.s.SetAffected(ctx, f.bob, dup.ID, true); err != nil {
		t.Fatalf("affected on the unmerged thread: %v", err)
	}
	if f.auditCount(t, "thread.unmerge") != 1 {
		t.Fatal("unmerge not audited once")
	}
}

func TestLockPinSlowMode(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	th, err := f.s.SetLocked(ctx, f.mod, f.thread.ID, true, "resolved, see the incident")
	if err != nil || !th.Locked || th.LockReason != "resolved, see the incident" {
		t.Fatalf("lock: %v %+v", err, th)
	}
	if _, err := f.s.SetLocked(ctx, f.mod, f.thread.ID, true, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("lock twice: %v", err)
	}
	if th, _ = f.s.SetLocked(ctx, f.mod, f.thread.ID, false, ""); th.Locked {
		t.Fatal("unlock")
	}
	until := f.s.now().Add(time.Hour)
	if th, err = f.s.SetPinned(ctx, f.mod, f.thread.ID, true, &until, ""); err != nil || !th.Pinned {
		t.Fatalf("pin: %v", err)
	}
	advance(f.s, 2*time.Hour)
	if n, err := f.s.ExpirePins(ctx); err != nil || n != 1 {
		t.Fatalf("expire pins: %d %v", n, err)
	}
	if th, _ = f.s.ThreadByID(ctx, f.thread.ID); th.Pinned {
		t.Fatal("pin did not expire")
	}
	if _, err := f.s.SetSlowMode(ctx, f.mod, f.thread.ID, 5*time.Minute, "cool down"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.CreateReply(ctx, f.alice, f.thread.ID, NewPost{Body: "one"}); err != nil {
		t.Fatal(err)
	}
	advance(f.s, time.Minute)
	var rl *RateLimitError
	if _, _, err := f.s.CreateReply(ctx, f.alice, f.thread.ID, NewPost{Body: "two"}); !errors.As(err, &rl) {
		t.Fatalf("second post within slow mode: %v", err)
	}
	if _, _, err := f.s.CreateReply(ctx, f.bob, f.thread.ID, NewPost{Body: "bob's turn"}); err != nil {
		t.Fatalf("slow mode is per person: %v", err)
	}
	for action, n := range map[string]int{"thread.lock": 1, "thread.unlock": 1, "thread.pin": 1, "thread.unpin": 1, "thread.slow_mode": 1} {
		if got := f.auditCount(t, action); got != n {
			t.Errorf("%s audited %d times, want %d", action, got, n)
		}
	}
}
