package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserModerationJourney: a customer flags a post, a moderator sees
// it counted in the navigation, opens the queue and hides the post with a
// reason, merges a duplicate thread with the picker, and the customer sees
// the placeholder.
func TestBrowserModerationJourney(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	alice, bob := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleCustomer)
	e.user("morgan", models.RoleModerator)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	spam := e.reply(bob, th.ID, "Cheap watches at example.com")
	e.clock.Advance(time.Minute)
	cal := e.thread(bob, "Calendar is down", "Since ten.")
	dup := e.thread(alice, "Calendar down here too", "Same.")
	e.clock.Advance(time.Minute)
	srv := e.server()
	threadPath := threadURL(th.ID)
	post := fmt.Sprintf("#post-%d", spam.ID)

	// The customer flags the spam.
	logIn(t, ctx, srv.URL, "alice", threadPath)
	browse(t, ctx,
		chromedp.Click(chromedp.CSS(post+" details.tool summary")),
		chromedp.SetValue(chromedp.CSS(post+" select[name=reason]"), "spam"),
	)
	follow(t, ctx, srv.URL+threadPath, chromedp.Click(chromedp.CSS(post+" details.tool button")))
	if got := textOf(t, ctx, chromedp.CSS(".flash")); !strings.Contains(got, "moderators will review") {
		t.Errorf("after flagging the flash says %q", got)
	}
	logOut(t, ctx, srv.URL)

	// The moderator sees a flag waiting in the navigation, opens the queue
	// from there and hides the post.
	logIn(t, ctx, srv.URL, "morgan", "/")
	nav := chromedp.CSS(`.nav a[href="/mod/flags"]`)
	if got := textOf(t, ctx, nav); !strings.HasPrefix(got, "Flags 1") {
		t.Errorf("the navigation's link to the queue says %q, want the open flags counted", got)
	}
	follow(t, ctx, srv.URL+"/mod/flags", chromedp.Click(nav))
	group := fmt.Sprintf("#flagged-%d", spam.ID)
	if got := textOf(t, ctx, chromedp.CSS(group+" .post-body")); got != "Cheap watches at example.com" {
		t.Errorf("the queue shows %q", got)
	}
	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(group+` input[name=reason]`), "advertising"))
	follow(t, ctx, srv.URL+"/mod/flags", chromedp.Click(chromedp.CSS(group+" button.danger")))
	if got := textOf(t, ctx, chromedp.CSS(".notice")); !strings.Contains(got, "No open flags") {
		t.Errorf("the queue after hiding says %q", got)
	}

	// A duplicate is merged with the picker: the thread page's tool finds
	// threads by title, and typing other words lists other threads to
	// choose from while the moderator types.
	picker := fmt.Sprintf("/mod/threads/%d/merge", dup.ID)
	open(t, ctx, srv.URL+threadURL(dup.ID))
	browse(t, ctx, chromedp.Click(chromedp.CSS(".staff-tools summary")), chromedp.SendKeys(chromedp.ID("merge-q"), "mail"))
	follow(t, ctx, srv.URL+picker+"?q=mail", chromedp.Click(button("Find a thread to merge into")))
	if got := textOf(t, ctx, chromedp.CSS("#pick-candidates")); !strings.Contains(got, "Mail is down") || strings.Contains(got, "Calendar") {
		t.Errorf("the picker for %q lists %q", "mail", got)
	}
	fetch(t, ctx, chromedp.Evaluate[string](`document.getElementById("pick-q").value = ""`))
	browse(t, ctx, chromedp.SendKeys(chromedp.ID("pick-q"), "calendar"))
	choice := chromedp.CSS(fmt.Sprintf(`#pick-candidates input[value="%d"]`, cal.ID))
	browse(t, ctx, chromedp.WaitVisible(choice), chromedp.Click(choice))
	follow(t, ctx, srv.URL+threadURL(cal.ID), chromedp.Click(button("Merge into the chosen thread")))
	if got := textOf(t, ctx, chromedp.CSS(".posts .tag")); got != "merged from “Calendar down here too”" {
		t.Errorf("the moved post says %q", got)
	}
	logOut(t, ctx, srv.URL)

	// The customer sees the placeholder with the reason, not the text.
	logIn(t, ctx, srv.URL, "alice", threadPath)
	if got := textOf(t, ctx, chromedp.CSS(post+" .placeholder")); got != "Hidden by a moderator: advertising" {
		t.Errorf("the placeholder says %q", got)
	}
	browse(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(post+" .post-body")))
	screenshot(t, ctx, "placeholder")
}
