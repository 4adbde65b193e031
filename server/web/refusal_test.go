package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// TestTooSoonShownBesideTheForm: a form refused for coming too soon comes
// back with the text, the reason inside the form that was refused (a reply
// lands on the reply form, at the bottom of a long thread) and how long to
// wait, which the page counts down.
func TestTooSoonShownBesideTheForm(t *testing.T) {
	e := newTestEnv(t)
	alice, cookie := forumCustomer(e)
	staff := e.user("sam", models.RoleStaff)
	th := e.thread(alice, "Mail is down", "Since nine.")
	for i := range models.PostsPerPage + 5 {
		e.reply(staff, th.ID, fmt.Sprintf("Update %d.", i)) // staff are not paced
	}
	slow := e.thread(staff, "Mail: one post every 5 minutes", "Please keep it short.")
	if _, err := e.store.SetSlowMode(context.Background(), e.user("morgan", models.RoleModerator), slow.ID, 5*time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.reply(alice, slow.ID, "First.")
	e.clock.Advance(time.Minute)
	own := e.posts(slow.ID)[1].ID
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d", own), cookie: cookie, form: url.Values{"body": {"First, edited."}}})
	e.reply(alice, th.ID, "Still down here.")
	e.clock.Advance(3 * time.Second)
	for _, tc := range []struct {
		name, path, form string        // form: where the refused form starts
		later            time.Duration // sent this much later than the one before
		want             []string
	}{
		{name: "reply", path: threadURL(th.ID) + "/posts", form: fmt.Sprintf(`<form method="post" action="/threads/%d/posts#reply"`, th.ID),
			want: []string{"You are posting too fast.", `data-countdown="7"`, "You can send it again in <span data-countdown-left>7 seconds</span>.",
				fmt.Sprintf(`data-live-page="/threads/%d"`, th.ID), fmt.Sprintf(`href="/threads/%d?page=2"`, th.ID)}},
		{name: "new thread", path: "/threads", form: `<form method="post" action="/threads"`,
			want: []string{"You are posting too fast.", `data-countdown="7"`}},
		{name: "edit", path: fmt.Sprintf("/posts/%d", own), form: fmt.Sprintf(`<form method="post" action="/posts/%d"`, own),
			want: []string{"You are editing too fast.", `data-countdown="7"`}},
		{name: "reply in slow mode", path: threadURL(slow.ID) + "/posts", form: fmt.Sprintf(`action="/threads/%d/posts#reply"`, slow.ID),
			later: models.PostInterval, // past the pace, within slow mode
			want:  []string{"This thread is in slow mode: one post every 5m0s.", `data-countdown="227"`}},
	} {
		e.clock.Advance(tc.later)
		w := e.do(req{method: http.MethodPost, path: tc.path, cookie: cookie, form: url.Values{"title": {"Still down"}, "body": {"my draft, kept"}}})
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q", tc.name, w.Code, w.Header().Get("Retry-After"))
			continue
		}
		page := w.Body.String()
		mustContain(t, tc.name, page, tc.want...)
		form := strings.Index(page, tc.form)
		alert := strings.Index(page, `<p class="form-error" id="form-message" role="alert">`)
		draft := strings.Index(page, "my draft, kept</textarea>")
		if form < 0 || form > alert || alert > draft {
			t.Errorf("%s: the form at %d, its message at %d, the draft at %d: the message is not in the form, above the text", tc.name, form, alert, draft)
		}
	}
}

// TestFlagFeedback: after flagging, the post says so to the flagger and
// offers no second flag; a second flag sent anyway goes back to the post
// saying so; a flag refused for its input comes back open under its post,
// on the post's page, with the message and what was chosen.
func TestFlagFeedback(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	staff := e.user("sam", models.RoleStaff)
	for i := range models.PostsPerPage {
		e.reply(staff, f.threadID, fmt.Sprintf("Update %d.", i))
	}
	late := e.reply(staff, f.threadID, "The last word.").ID // on page 2
	carol := e.session(f.carol)
	flags := func(id int64) string { return fmt.Sprintf("/posts/%d/flags", id) }
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		post   int64
		form   url.Values
		status int
		want   []string
	}{
		{"a flag", carol, f.spamID, url.Values{"reason": {"spam"}}, http.StatusSeeOther,
			[]string{"Thank you: moderators will review the post.", "You flagged this post; moderators will review it."}},
		{"the same flag again", carol, f.spamID, url.Values{"reason": {"abuse"}}, http.StatusSeeOther,
			[]string{"You have flagged this post already; moderators will look at it.", "You flagged this post"}},
		{"other without a note", carol, late, url.Values{"reason": {"other"}, "note": {"  "}}, http.StatusUnprocessableEntity,
			[]string{"The last word.", `<details class="tool" open>`, fmt.Sprintf(`action="/posts/%d/flags#post-%d"`, late, late),
				`<option value="other" selected>`, `role="alert">With “Other”, say in the note what is wrong: moderators read it.</p>`}},
		{"an unknown reason", carol, late, url.Values{"reason": {"boring"}}, http.StatusUnprocessableEntity,
			[]string{"Choose a reason", `<details class="tool" open>`}},
		{"one's own post", e.session(f.bob), f.spamID, url.Values{"reason": {"spam"}}, http.StatusUnprocessableEntity,
			[]string{"You cannot flag your own post; edit it instead."}},
	} {
		w := e.do(req{method: http.MethodPost, path: flags(tc.post), cookie: tc.cookie, form: tc.form})
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		page := w.Body.String()
		if w.Code == http.StatusSeeOther {
			page = e.landing(w, tc.cookie)
		}
		mustContain(t, tc.name, page, tc.want...)
	}
	page := e.page(threadURL(f.threadID), carol)
	if strings.Contains(page, `action="`+flags(f.spamID)) {
		t.Error("the flag form is offered again on a post the reader flagged")
	}
	if strings.Contains(e.page(threadURL(f.threadID), e.session(f.alice)), "You flagged this") {
		t.Error("someone who did not flag is told they did")
	}
	if n, err := e.store.FlaggedBy(context.Background(), f.carol.ID, []int64{f.spamID, late}); err != nil || len(n) != 1 {
		t.Errorf("carol's flags: %v %v, want the spam only", n, err)
	}
}
