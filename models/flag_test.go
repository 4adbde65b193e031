package models

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
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
	// Flags count towards hiding from people with standing: carol, old
	// enough, needs a post everyone may read.
	mustThread(t, f.s, f.carol, "Calendar is slow", "Since ten.")
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

// TestFlagStanding: only flags from people with standing count towards
// hiding a post: new accounts, accounts without a post everyone may read
// and silenced accounts do not; their flags still reach the queue, and a
// silenced person cannot flag at all.
func TestFlagStanding(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	flag := func(u *User) {
		t.Helper()
		if _, err := f.s.FlagPost(ctx, u, f.first.ID, "spam", ""); err != nil {
			t.Fatal(err)
		}
	}
	hidden := func() bool {
		p, _ := f.s.PostByID(ctx, f.first.ID, f.mod)
		return p.HiddenAt != nil
	}
	// New accounts with a post each, and an old account without one.
	for _, name := range []string{"new1", "new2"} {
		u := mustUser(t, f.s, name, RoleCustomer)
		mustThread(t, f.s, u, "Hello from "+name, "First post.")
		flag(u)
	}
	flag(oldUser(t, f.s, "lurker"))
	// An old account whose only post is hidden.
	hiddenAuthor := oldUser(t, f.s, "spammer")
	spam := mustThread(t, f.s, hiddenAuthor, "Cheap watches here", "Buy now.")
	if _, err := f.s.HidePost(ctx, f.mod, mustFirstPost(t, f.s, spam.ID).ID, "spam"); err != nil {
		t.Fatal(err)
	}
	flag(hiddenAuthor)
	if hidden() {
		t.Fatal("hidden by four flags without standing")
	}
	if q, _ := f.s.FlagQueue(ctx, false, Page{}); len(q.Items) != 1 || len(q.Items[0].Flags) != 4 {
		t.Fatalf("flags without standing are not in the queue: %+v", q.Items)
	}
	// A silenced person cannot flag.
	until := f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, f.carol.ID, SanctionSilence, "cool down", &until); err != nil {
		t.Fatal(err)
	}
	carol, _ := f.s.UserByID(ctx, f.carol.ID)
	var se *SanctionedError
	if _, err := f.s.FlagPost(ctx, carol, f.first.ID, "spam", ""); !errors.As(err, &se) {
		t.Fatalf("a silenced person flags: %v", err)
	}
	// Two with standing (bob posted the reply; staff) are not three...
	flag(f.bob)
	flag(f.staff)
	if hidden() {
		t.Fatal("hidden by two flags with standing")
	}
	// ...a third is.
	dora := oldUser(t, f.s, "dora")
	mustThread(t, f.s, dora, "Calendar is slow", "Since ten.")
	flag(dora)
	p, _ := f.s.PostByID(ctx, f.first.ID, f.mod)
	if p.HiddenAt == nil || p.HiddenReason != "flagged by 3 people" {
		t.Fatalf("after three flags with standing: %+v", p)
	}
}

// TestOpenFlagCount: the navigation's count of flags awaiting review is
// one count on an index, and follows the queue.
func TestOpenFlagCount(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	for _, u := range []*User{f.alice, f.carol} {
		if _, err := f.s.FlagPost(ctx, u, f.reply.ID, "spam", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.s.OpenFlagCount(ctx); err != nil || n != 2 {
		t.Fatalf("open flags: %d %v, want 2", n, err)
	}
	list, _ := f.s.FlagQueue(ctx, false, Page{})
	if _, err := f.s.ResolveFlags(ctx, f.mod, list.Items[0].Flags[0].ID, "dismiss", "", ""); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.s.OpenFlagCount(ctx); n != 0 {
		t.Fatalf("open flags after dismissing: %d", n)
	}
	if f.s.pg {
		return // the plan below is SQLite's, checked on the SQLite pass
	}
	sql := f.s.db.ToSQL(func(tx *gorm.DB) *gorm.DB { return tx.Model(&Flag{}).Where("state = 'open'").Count(new(int64)) })
	var plan []struct{ Detail string }
	if err := f.s.db.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !strings.Contains(plan[0].Detail, "COVERING INDEX flags_state") {
		t.Errorf("counting open flags: %+v, want a search of the flags_state index alone", plan)
	}
}
