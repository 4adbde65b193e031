package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

type modFixture struct {
	s                 *Store
	mod, admin, staff *User
	alice, bob, carol *User
	thread            *Thread
	first, reply      *Post
}

func newModFixture(t *testing.T) *modFixture {
	t.Helper()
	s := newTestStore(t)
	f := &modFixture{s: s, mod: mustUser(t, s, "morgan", RoleModerator), admin: mustUser(t, s, "root", RoleAdmin),
		staff: mustUser(t, s, "sam", RoleStaff), alice: oldUser(t, s, "alice"), bob: oldUser(t, s, "bob"), carol: oldUser(t, s, "carol")}
	f.thread = mustThread(t, s, f.alice, "Mail is down", "Since nine.")
	advance(s, time.Minute)
	var err error
	if f.reply, _, err = s.CreateReply(context.Background(), f.bob, f.thread.ID, NewPost{Body: "Buy cheap watches"}); err != nil {
		t.Fatal(err)
	}
	posts, _ := s.ListPosts(context.Background(), PostQuery{ThreadID: f.thread.ID}, Page{})
	f.first = &posts.Items[0]
	advance(s, time.Minute)
	return f
}

func (f *modFixture) auditCount(t *testing.T, action string) int {
	t.Helper()
	list, err := f.s.ListAudit(context.Background(), AuditFilter{Action: action}, Page{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

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

func TestSanctionRules(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	other := mustUser(t, f.s, "mira", RoleModerator)
	until := f.s.now().Add(24 * time.Hour)
	for _, tt := range []struct {
		name   string
		actor  *User
		target *User
	}{
		{"moderator on moderator", f.mod, other},
		{"moderator on admin", f.mod, f.admin},
		{"moderator on self", f.mod, f.mod},
		{"admin on self", f.admin, f.admin},
		{"moderator on staff", f.mod, f.staff},
	} {
		for _, kind := range []string{SanctionWarning, SanctionSilence, SanctionSuspension} {
			if _, err := f.s.SanctionUser(ctx, tt.actor, tt.target.ID, kind, "because", &until); !errors.Is(err, ErrForbidden) {
				t.Errorf("%s %s: %v, want forbidden", tt.name, kind, err)
			}
		}
	}
	if _, err := f.s.SanctionUser(ctx, f.alice, f.bob.ID, SanctionWarning, "x", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer sanctions: %v", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.admin, f.staff.ID, SanctionWarning, "tone", nil); err != nil {
		t.Errorf("admin warns staff: %v", err)
	}
	// A silence and a suspension at once keep their own reasons; a shorter
	// silence cannot quietly end a longer one.
	dora := oldUser(t, f.s, "dora")
	long, brief := f.s.now().Add(48*time.Hour), f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, dora.ID, SanctionSilence, "calm down", &long); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SanctionUser(ctx, f.mod, dora.ID, SanctionSilence, "oops", &brief); !errors.Is(err, ErrConflict) {
		t.Errorf("a shorter silence over a longer one: %v, want a conflict", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.admin, dora.ID, SanctionSuspension, "spamming", &brief); err != nil {
		t.Fatal(err)
	}
	dora, _ = f.s.UserByID(ctx, dora.ID)
	var dse *SanctionedError
	if err := dora.Silenced(f.s.now()); !errors.As(err, &dse) || dse.Reason != "calm down" || !dse.Until.Equal(long) {
		t.Errorf("silence beside a suspension: %v", err)
	}
	if err := dora.Suspended(f.s.now()); !errors.As(err, &dse) || dse.Reason != "spamming" {
		t.Errorf("suspension: %v", err)
	}
	var ve *ValidationError
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionSilence, "spam", nil); !errors.As(err, &ve) {
		t.Errorf("silence without an end: %v", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionWarning, "", nil); !errors.As(err, &ve) {
		t.Errorf("warning without a reason: %v", err)
	}
	// Silence: reading and "affected" still work, posting does not.
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionSilence, "spam links", &until); err != nil {
		t.Fatal(err)
	}
	bob, _ := f.s.UserByID(ctx, f.bob.ID)
	var se *SanctionedError
	if _, _, err := f.s.CreateReply(ctx, bob, f.thread.ID, NewPost{Body: "more spam"}); !errors.As(err, &se) || se.Reason != "spam links" {
		t.Fatalf("silenced reply: %v", err)
	}
	if _, err := f.s.EditPost(ctx, bob, f.reply.ID, "edited spam"); !errors.As(err, &se) {
		t.Fatalf("silenced edit: %v", err)
	}
	if _, err := f.s.SetAffected(ctx, bob, f.thread.ID, true); err != nil {
		t.Fatalf("silenced affected: %v", err)
	}
	// Suspension: log-in, sessions and tokens are refused at once.
	secret, _ := f.s.CreateSession(ctx, f.carol.ID)
	_, token, _ := f.s.CreateToken(ctx, f.carol.ID, "script")
	if _, err := f.s.SanctionUser(ctx, f.admin, f.carol.ID, SanctionSuspension, "abuse", &until); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UserBySession(ctx, secret); !errors.As(err, &se) || se.Kind != SanctionSuspension {
		t.Fatalf("suspended session: %v", err)
	}
	if _, err := f.s.UserByToken(ctx, token); !errors.As(err, &se) {
		t.Fatalf("suspended token: %v", err)
	}
	if _, err := f.s.Authenticate(ctx, "carol", "long enough password"); !errors.As(err, &se) {
		t.Fatalf("suspended log-in: %v", err)
	}
	if err := f.s.LiftSanctions(ctx, f.mod, f.carol.ID, "appeal"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UserBySession(ctx, secret); err != nil {
		t.Fatalf("session after lift: %v", err)
	}
	if err := f.s.LiftSanctions(ctx, f.mod, f.carol.ID, "again"); !errors.Is(err, ErrConflict) {
		t.Fatalf("lift twice: %v", err)
	}
	// A suspension ends by itself.
	short := f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, f.carol.ID, SanctionSuspension, "cool off", &short); err != nil {
		t.Fatal(err)
	}
	advance(f.s, 2*time.Hour)
	if _, err := f.s.UserBySession(ctx, secret); err != nil {
		t.Fatalf("session after the suspension ended: %v", err)
	}
	list, _ := f.s.Sanctions(ctx, f.carol.ID)
	if len(list) != 2 || list[1].LiftedAt == nil {
		t.Fatalf("sanction history: %+v", list)
	}
	// bob and dora silenced (the refused shorter silence leaves none), carol
	// and dora suspended.
	for action, n := range map[string]int{"user.silence": 2, "user.suspension": 3, "user.lift": 1} {
		if got := f.auditCount(t, action); got != n {
			t.Errorf("%s audited %d times, want %d", action, got, n)
		}
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	f := newModFixture(t)
	ctx := WithRequestID(context.Background(), "req-42")
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	list, _ := f.s.ListAudit(context.Background(), AuditFilter{ActorID: f.mod.ID}, Page{})
	if len(list.Items) != 1 || list.Items[0].RequestID != "req-42" || list.Items[0].Actor.Name != "morgan" ||
		list.Items[0].TargetType != "post" || list.Items[0].TargetID != f.reply.ID || list.Items[0].Reason != "spam" {
		t.Fatalf("audit entry: %+v", list.Items)
	}
	if err := f.s.db.Model(&AuditEntry{}).Where("id = ?", list.Items[0].ID).Update("reason", "nothing").Error; err == nil {
		t.Fatal("an audit entry was updated")
	}
	if err := f.s.db.Delete(&AuditEntry{}, list.Items[0].ID).Error; err == nil {
		t.Fatal("an audit entry was deleted")
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
