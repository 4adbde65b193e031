package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserModerationJourney: a customer flags a post, a moderator opens
// the queue and hides the post with a reason, and the customer sees the
// placeholder.
func TestBrowserModerationJourney(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	alice, bob := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleCustomer)
	e.user("morgan", models.RoleModerator)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	spam := e.reply(bob, th.ID, "Cheap watches at example.com")
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

	// The moderator opens the queue from the navigation and hides it.
	logIn(t, ctx, srv.URL, "morgan", "/")
	follow(t, ctx, srv.URL+"/mod/flags", chromedp.Click(link("Flags")))
	group := fmt.Sprintf("#flagged-%d", spam.ID)
	if got := textOf(t, ctx, chromedp.CSS(group+" .post-body")); got != "Cheap watches at example.com" {
		t.Errorf("the queue shows %q", got)
	}
	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(group+` input[name=reason]`), "advertising"))
	follow(t, ctx, srv.URL+"/mod/flags", chromedp.Click(chromedp.CSS(group+" button.danger")))
	if got := textOf(t, ctx, chromedp.CSS(".notice")); !strings.Contains(got, "No open flags") {
		t.Errorf("the queue after hiding says %q", got)
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
