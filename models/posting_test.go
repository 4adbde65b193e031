package models

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sitrep/server/markup"
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

// countRenders counts the Markdown renderings from now on.
func countRenders(t *testing.T) *atomic.Int64 {
	t.Helper()
	n := new(atomic.Int64)
	real := renderMarkdown
	renderMarkdown = func(src string, isPerson func(string) bool) (template.HTML, error) {
		n.Add(1)
		return real(src, isPerson)
	}
	t.Cleanup(func() { renderMarkdown = real })
	return n
}

// TestRefusedBeforeRendering: a post refused for its pace, its author's
// silence, its title or its size costs no rendering, whatever its text.
func TestRefusedBeforeRendering(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	mod := mustUser(t, s, "morgan", RoleModerator)
	th := mustThread(t, s, alice, "Mail is down", "Since nine.")
	renders := countRenders(t)
	slow := strings.Repeat("[a](", markup.MaxSourceBytes/4)
	var rl *RateLimitError
	if _, _, err := s.CreateReply(ctx, alice, th.ID, NewPost{Body: slow}); !errors.As(err, &rl) {
		t.Fatalf("reply at once: %v, want too fast", err)
	}
	if _, _, err := s.CreateThread(ctx, alice, NewThread{Title: "Mail is down again", Body: slow, SubmitKey: "k"}); !errors.As(err, &rl) {
		t.Fatalf("thread at once: %v, want too fast", err)
	}
	advance(s, PostInterval)
	var ve *ValidationError
	for _, in := range []NewThread{{Title: "Mail", Body: slow}, {Title: "Mail is down", Body: slow + "x"}} {
		if _, _, err := s.CreateThread(ctx, alice, in); !errors.As(err, &ve) {
			t.Fatalf("bad title or size: %v", err)
		}
	}
	until := s.now().Add(time.Hour)
	if _, err := s.SanctionUser(ctx, mod, alice.ID, SanctionSilence, "cool down", &until); err != nil {
		t.Fatal(err)
	}
	alice, _ = s.UserByID(ctx, alice.ID)
	var se *SanctionedError
	if _, _, err := s.CreateReply(ctx, alice, th.ID, NewPost{Body: slow}); !errors.As(err, &se) {
		t.Fatalf("silenced reply: %v", err)
	}
	if _, err := s.EditPost(ctx, alice, mustFirstPost(t, s, th.ID).ID, slow); !errors.As(err, &se) {
		t.Fatalf("silenced edit: %v", err)
	}
	if n := renders.Load(); n != 0 {
		t.Fatalf("%d renderings for refused posts, want 0", n)
	}
}

func mustFirstPost(t *testing.T, s *Store, threadID int64) *Post {
	t.Helper()
	posts, err := s.ListPosts(context.Background(), PostQuery{ThreadID: threadID}, Page{})
	if err != nil || len(posts.Items) == 0 {
		t.Fatalf("posts of thread %d: %v", threadID, err)
	}
	return &posts.Items[0]
}

// TestConcurrentPostsRenderOnce: posts sent by one customer at the same
// moment, each its own form, take one turn: one is posted and rendered, the
// rest are refused before rendering.
func TestConcurrentPostsRenderOnce(t *testing.T) {
	s := newTestStore(t)
	alice := oldUser(t, s, "alice")
	renders := countRenders(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range 32 {
		wg.Go(func() {
			_, _, err := s.CreateThread(context.Background(), alice, NewThread{Title: "Mail is down", Body: "Since nine.", SubmitKey: fmt.Sprint("form-", i)})
			var rl *RateLimitError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				outcomes["posted"]++
			case errors.As(err, &rl):
				outcomes["too fast"]++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if outcomes["posted"] != 1 || outcomes["too fast"] != 31 || renders.Load() != 1 {
		t.Fatalf("32 posts at once: %v and %d renderings; want 1 posted, 31 too fast, 1 rendering", outcomes, renders.Load())
	}
}

// TestEditPace: customers' edits are paced as their posts are, longer for
// new accounts; staff and moderators are not; an edit that changes nothing
// and a second click on Save take no turn.
func TestEditPace(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	alice := oldUser(t, s, "alice")
	fresh := mustUser(t, s, "fresh", RoleCustomer)
	mod := mustUser(t, s, "morgan", RoleModerator)
	p := mustFirstPost(t, s, mustThread(t, s, alice, "Mail is down", "Since nine.").ID)
	q := mustFirstPost(t, s, mustThread(t, s, fresh, "Mail is slow", "Since ten.").ID)
	edit := func(u *User, p *Post, body string) error {
		_, err := s.EditPost(ctx, u, p.ID, body)
		return err
	}
	var rl *RateLimitError
	if err := edit(alice, p, "Since nine, UTC."); err != nil {
		t.Fatal(err)
	}
	if err := edit(alice, p, "Since nine, UTC."); err != nil {
		t.Fatalf("the same text again (a second click): %v", err)
	}
	if err := edit(alice, p, "Since nine UTC, still."); !errors.As(err, &rl) || rl.RetryAfter > EditInterval {
		t.Fatalf("second edit at once: %v", err)
	}
	for i := range 3 {
		if err := edit(mod, p, fmt.Sprint("Moderated ", i)); err != nil {
			t.Fatalf("moderator paced: %v", err)
		}
	}
	advance(s, EditInterval)
	if err := edit(alice, p, "Since nine UTC, still."); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if err := edit(fresh, q, "Since ten UTC."); err != nil {
		t.Fatal(err)
	}
	advance(s, EditInterval)
	if err := edit(fresh, q, "Since ten UTC, still."); !errors.As(err, &rl) {
		t.Fatalf("a new account is held to the longer interval: %v", err)
	}
	var n int64
	s.db.Model(&PostRevision{}).Where("post_id = ?", p.ID).Count(&n)
	if n != 5 {
		t.Fatalf("%d revisions, want 5", n)
	}
}
