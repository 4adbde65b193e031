package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReplyNotifications: followers at "all" hear of each reply, grouped
// per thread while unread; "official" and "muted" followers do not; the
// author is not told of their own post; repliers follow the thread.
func TestReplyNotifications(t *testing.T) {
	f := newModFixture(t) // alice's thread with bob's reply
	ctx := context.Background()
	runNotifications(t, f.s)
	if got := notificationsOf(t, f.s, f.alice); !reflect.DeepEqual(got, []string{"reply 1 bob replied in “Mail is down”"}) {
		t.Fatalf("alice: %q", got)
	}
	if got := notificationsOf(t, f.s, f.bob); len(got) != 0 {
		t.Fatalf("bob was told of his own reply: %q", got)
	}
	// carol follows at official, the moderator mutes: neither hears of
	// plain replies.
	if _, err := f.s.SetFollowing(ctx, f.carol, f.thread.ID, true, FollowOfficial); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetFollowing(ctx, f.mod, f.thread.ID, true, FollowMuted); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		advance(f.s, time.Minute)
		if _, _, err := f.s.CreateReply(ctx, f.bob, f.thread.ID, NewPost{Body: "More " + strings.Repeat("!", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	runNotifications(t, f.s)
	if got := notificationsOf(t, f.s, f.alice); !reflect.DeepEqual(got, []string{"reply 4 4 new replies in “Mail is down”"}) {
		t.Fatalf("alice after three more: %q", got)
	}
	for _, u := range []*User{f.carol, f.mod} {
		if got := notificationsOf(t, f.s, u); len(got) != 0 {
			t.Errorf("%s (official or muted) heard of replies: %q", u.Name, got)
		}
	}
	// Once read, the next reply starts a new notification.
	if unread, err := f.s.MarkNotificationsRead(ctx, f.alice.ID, nil, true); err != nil || unread != 0 {
		t.Fatalf("mark all read: %d %v", unread, err)
	}
	advance(f.s, time.Minute)
	if _, _, err := f.s.CreateReply(ctx, f.bob, f.thread.ID, NewPost{Body: "And again"}); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	list, _ := f.s.Notifications(ctx, f.alice.ID, Page{})
	if len(list.Items) != 2 || list.Items[0].Count != 1 || list.Items[0].ReadAt != nil || list.Items[1].ReadAt == nil {
		t.Fatalf("after reading: %+v", list.Items)
	}
	// A muted follower who replies stays muted.
	advance(f.s, time.Minute)
	if _, _, err := f.s.CreateReply(ctx, f.mod, f.thread.ID, NewPost{Body: "Moderator here"}); err != nil {
		t.Fatal(err)
	}
	states, err := f.s.FollowStates(ctx, f.mod, []int64{f.thread.ID})
	if err != nil || states[f.thread.ID].Level != FollowMuted {
		t.Fatalf("a muted replier: %+v %v", states, err)
	}
}

// TestOfficialNotifications: an official update reaches the followers of
// the incident's thread and of the threads linked to it, at "all" or
// "official"; a link and a resolution say so.
func TestOfficialNotifications(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	svc, err := f.s.CreateService(ctx, nil, NewService{Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := f.s.DeclareIncident(ctx, f.staff, NewIncident{Kind: KindIncident, Title: "Mail delays", Impact: "minor",
		Status: StatusInvestigating, Body: "Looking.", Services: []ServiceChange{{ServiceID: svc.ID, Status: DegradedPerformance}}})
	if err != nil {
		t.Fatal(err)
	}
	// carol follows the incident (its default level: official).
	if level, err := f.s.SetFollowing(ctx, f.carol, inc.ThreadID, true, ""); err != nil || level != FollowOfficial {
		t.Fatalf("default level on an incident: %q %v", level, err)
	}
	if _, err := f.s.LinkThread(ctx, f.staff, f.thread.ID, inc.ID); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	for _, u := range []*User{f.alice, f.bob} {
		if got := notificationsOf(t, f.s, u); len(got) == 0 || got[0] != "linked 1 “Mail is down” is now tracked in the incident “Mail delays”" {
			t.Errorf("%s after the link: %q", u.Name, got)
		}
	}
	advance(f.s, time.Minute)
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusIdentified, Body: "Found it, @carol."}); err != nil {
		t.Fatal(err)
	}
	advance(f.s, time.Minute)
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	want := []string{"resolved 1 “Mail delays” is resolved", "official 1 Official update on “Mail delays”: Identified"}
	for _, u := range []*User{f.alice, f.bob} {
		if got := notificationsOf(t, f.s, u); !reflect.DeepEqual(got[:2], want) {
			t.Errorf("%s: %q", u.Name, got)
		}
	}
	// carol was mentioned in the first update: that notice replaces the
	// official one.
	if got := notificationsOf(t, f.s, f.carol); !reflect.DeepEqual(got, []string{want[0], "mention 1 sam mentioned you in “Mail delays”"}) {
		t.Errorf("carol: %q", got)
	}
	if got := notificationsOf(t, f.s, f.staff); len(got) != 0 {
		t.Errorf("staff told of their own updates: %q", got)
	}
}

// TestMentions: a mention of an existing name notifies that person once,
// a mention of an unknown name, of oneself or inside code nobody.
func TestMentions(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	if got := mentionedNames("Hi @carol and @Carol, `@bob` in code,\n```\n@alice\n```\nmail me@example.com, @nobody-here."); !reflect.DeepEqual(got, []string{"carol", "nobody-here"}) {
		t.Fatalf("mentioned names: %q", got)
	}
	runNotifications(t, f.s)
	advance(f.s, time.Minute)
	if _, _, err := f.s.CreateReply(ctx, f.bob, f.thread.ID, NewPost{Body: "@carol @bob @ghost-user see this"}); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	if got := notificationsOf(t, f.s, f.carol); !reflect.DeepEqual(got, []string{"mention 1 bob mentioned you in “Mail is down”"}) {
		t.Errorf("carol: %q", got)
	}
	if got := notificationsOf(t, f.s, f.bob); len(got) != 0 {
		t.Errorf("bob mentioned himself: %q", got)
	}
}

// TestMergeFlagAndSanctionNotifications: the kinds that go to given people.
func TestMergeFlagAndSanctionNotifications(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	dup := mustThread(t, f.s, f.carol, "Mail down again", "Same as before.")
	if _, err := f.s.FlagPost(ctx, f.alice, f.reply.ID, "spam", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MergeThread(ctx, f.mod, dup.ID, f.thread.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	until := f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionSilence, "spam", &until); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	if got := notificationsOf(t, f.s, f.carol); len(got) != 1 || got[0] != "merged 1 “Mail down again” was merged into “Mail is down”" {
		t.Errorf("carol: %q", got)
	}
	if got := notificationsOf(t, f.s, f.alice); len(got) == 0 || !strings.HasPrefix(got[0], "flag_handled 1 Your flag on a post in “Mail is down” was handled: the post is hidden") {
		t.Errorf("alice: %q", got)
	}
	if got := notificationsOf(t, f.s, f.bob); len(got) != 1 || !strings.HasPrefix(got[0], "sanction 1 You were silenced until ") || !strings.HasSuffix(got[0], "Reason: spam") {
		t.Errorf("bob: %q", got)
	}
}

// TestNotificationsForAReplyThatWasHidden: a post hidden before its job ran
// is not announced.
func TestNotificationsForAReplyThatWasHidden(t *testing.T) {
	f := newModFixture(t)
	if _, err := f.s.HidePost(context.Background(), f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	runNotifications(t, f.s)
	if got := notificationsOf(t, f.s, f.alice); len(got) != 0 {
		t.Errorf("alice heard of a hidden reply: %q", got)
	}
}

// TestReadPositions: FollowStates counts what a follower has not read, and
// MarkRead moves the position forward only.
func TestReadPositions(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	states, err := f.s.FollowStates(ctx, f.alice, []int64{f.thread.ID})
	if err != nil {
		t.Fatal(err)
	}
	if st := states[f.thread.ID]; st.Unread != 1 || st.FirstUnread != f.reply.ID || st.Level != FollowAll {
		t.Fatalf("alice, one reply unread: %+v", st)
	}
	runNotifications(t, f.s)
	if err := f.s.MarkRead(ctx, f.alice.ID, f.thread.ID, f.reply.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkRead(ctx, f.alice.ID, f.thread.ID, f.first.ID); err != nil {
		t.Fatal(err)
	}
	states, _ = f.s.FollowStates(ctx, f.alice, []int64{f.thread.ID})
	if st := states[f.thread.ID]; st.Unread != 0 || st.FirstUnread != 0 {
		t.Fatalf("alice after reading: %+v", st)
	}
	if n, _ := f.s.UnreadCounts(ctx, f.alice.ID); n[f.alice.ID] != 0 {
		t.Errorf("reading the thread left %d notifications unread", n[f.alice.ID])
	}
}

// BenchmarkReplyWithFollowers is a reply to a thread followed by 10 people
// and by 10,000: the request writes one notify job whatever the number, so
// its cost should not grow (compare the two ns/op). The job that writes the
// notifications in bulk is measured apart (notify-job), per reply.
func BenchmarkReplyWithFollowers(b *testing.B) {
	for _, n := range []int{10, 10000} {
		s := newTestStore(b)
		ctx := context.Background()
		staff := mustUser(b, s, "sam", RoleStaff)
		author := mustUser(b, s, "alice", RoleCustomer)
		th, _, err := s.CreateThread(ctx, author, NewThread{Title: "Mail is down", Body: "Since nine."})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		// Bulk rows straight into the tables: the benchmark is about the
		// reply.
		for _, q := range []string{
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO users (name, email, password_hash, role, created_at, updated_at)
			SELECT 'follower' || i, 'follower' || i || '@example.com', 'x', 'customer', ?, ? FROM n`,
			`INSERT INTO follows (thread_id, user_id, level, last_read_post_id, created_at)
			SELECT ?, id, 'all', 0, ? FROM users WHERE name LIKE 'follower%'`,
		} {
			args := []any{n, now, now}
			if strings.HasPrefix(strings.TrimSpace(q), "INSERT INTO follows") {
				args = []any{th.ID, now}
			}
			if err := s.db.Exec(q, args...).Error; err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("followers=%d/reply", n), func(b *testing.B) {
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, _, err := s.CreateReply(ctx, staff, th.ID, NewPost{Body: fmt.Sprintf("Update %d: still looking.", i)}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		})
		b.Run(fmt.Sprintf("followers=%d/notify-job", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if _, _, err := s.CreateReply(ctx, staff, th.ID, NewPost{Body: fmt.Sprintf("Note %d.", i)}); err != nil {
					b.Fatal(err)
				}
				jobs, err := s.ClaimJobs(ctx, 1000, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for _, j := range jobs {
					var nj NotifyJob
					if err := json.Unmarshal([]byte(j.Payload), &nj); err != nil {
						b.Fatal(err)
					}
					if err := s.DoJob(ctx, j.ID, func(tx *Tx) error { return tx.WriteNotifications(nj) }); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
