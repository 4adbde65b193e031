package models

import (
	"context"
	"errors"
	"testing"
)

func TestFlagsAutoHideAndQueue(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	var ve *ValidationError
	if _, err := f.s.FlagPost(ctx, f.bob, f.reply.ID, "spam", ""); !errors.As(err, &ve) {
		t.Fatalf("flagging one's own post: %v", err)
	}
	if _, err := f.s.FlagPost(ctx, f.alice, f.reply.ID, "other", ""); !errors.As(err, &ve) {
		t.Fatalf("other without a note: %v", err)
	}
	if _, err := f.s.FlagPost(ctx, f.alice, f.reply.ID, "spam", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.FlagPost(ctx, f.alice, f.reply.ID, "abuse", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second flag by the same person: %v", err)
	}
	if _, err := f.s.FlagPost(ctx, f.carol, f.reply.ID, "spam", ""); err != nil {
		t.Fatal(err)
	}
	p, _ := f.s.PostByID(ctx, f.reply.ID, f.mod)
	if p.HiddenAt != nil {
		t.Fatal("hidden after two distinct flags; the threshold is three")
	}
	if _, err := f.s.FlagPost(ctx, f.staff, f.reply.ID, "off_topic", ""); err != nil {
		t.Fatal(err)
	}
	p, _ = f.s.PostByID(ctx, f.reply.ID, f.mod)
	if p.HiddenAt == nil || p.HiddenByID != nil {
		t.Fatalf("not hidden pending review after three flags: %+v", p)
	}
	if th, _ := f.s.ThreadByID(ctx, f.thread.ID); th.PostCount != 1 {
		t.Fatalf("post count with a hidden reply: %d", th.PostCount)
	}
	if f.auditCount(t, "post.auto_hide") != 1 {
		t.Fatal("auto-hide not audited once")
	}
	q, err := f.s.FlagQueue(ctx, false, Page{})
	if err != nil || len(q.Items) != 1 || len(q.Items[0].Flags) != 3 || q.Items[0].Thread.ID != f.thread.ID || q.Items[0].Post.Author.Name != "bob" {
		t.Fatalf("queue: %v %+v", err, q.Items)
	}
	// Dismissing restores a post that flags alone hid.
	if _, err := f.s.ResolveFlags(ctx, f.alice, q.Items[0].Flags[0].ID, "dismiss", "", ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("customer resolves: %v", err)
	}
	p, err = f.s.ResolveFlags(ctx, f.mod, q.Items[0].Flags[0].ID, "dismiss", "", "not spam, a joke")
	if err != nil || p.HiddenAt != nil {
		t.Fatalf("dismiss: %v %+v", err, p)
	}
	if _, err := f.s.ResolveFlags(ctx, f.mod, q.Items[0].Flags[0].ID, "dismiss", "", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second dismiss: %v", err)
	}
	if q, _ := f.s.FlagQueue(ctx, false, Page{}); len(q.Items) != 0 {
		t.Fatalf("queue after dismiss: %+v", q.Items)
	}
	flags, _ := f.s.UserFlags(ctx, f.bob.ID)
	if len(flags) != 3 || flags[0].State != "dismissed" || flags[0].PrivateNote != "not spam, a joke" || flags[0].HandledBy.Name != "morgan" {
		t.Fatalf("handled flags: %+v", flags)
	}
	// A staff member's post (official updates included) waits for a
	// moderator however many people flag it.
	staffPost, _, err := f.s.CreateReply(ctx, f.staff, f.thread.ID, NewPost{Body: "We are on it."})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*User{f.alice, f.bob, f.carol} {
		if _, err := f.s.FlagPost(ctx, u, staffPost.ID, "spam", ""); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := f.s.PostByID(ctx, staffPost.ID, f.mod); p.HiddenAt != nil {
		t.Fatal("three customers' flags hid a staff post")
	}
}
