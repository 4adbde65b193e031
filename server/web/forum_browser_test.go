package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserForumJourney: a customer opens a thread written in Markdown,
// logs in from it, previews and posts a reply, edits the reply and reads its
// history, says they are affected, and finds the reply with the search form.
func TestBrowserForumJourney(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	bg := context.Background()

	// Another customer started the thread; its body uses a heading, bold, a
	// list, a link and a fenced code block with characters that are markup
	// in HTML.
	bob := e.user("bob", models.RoleCustomer)
	const title = "Outgoing mail stuck in the queue"
	const threadBody = "## What happens\n\n" +
		"Since 09:00 the **outbound relay** keeps every message.\n\n" +
		"- open the outbox\n" +
		"- press Send again\n\n" +
		"See [the relay docs](https://docs.example.com/relay).\n\n" +
		"```\n<b>queued</b> & deferred\n```\n"
	th := e.thread(bob, title, threadBody)

	// The customer's account is two days old, so one reply a minute later
	// is within the posting pace.
	const name = "carol"
	carol := e.user(name, models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)

	srv := e.server()
	threadPath := fmt.Sprintf("/threads/%d", th.ID)
	threadAt := srv.URL + threadPath

	// The thread as a visitor sees it: the Markdown is rendered, and the
	// code block shows the angle brackets and the ampersand as text.
	open(t, ctx, threadAt)
	if got := textOf(t, ctx, chromedp.CSS("main h1")); got != title {
		t.Errorf("thread heading is %q, want %q", got, title)
	}
	first := `ol.posts > li:first-child .post-body`
	if got := textOf(t, ctx, chromedp.CSS(first+" h2")); got != "What happens" {
		t.Errorf("the Markdown heading renders as %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(first+" strong")); got != "outbound relay" {
		t.Errorf("the bold text renders as %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(first+" ul")); got != "open the outbox\npress Send again" {
		t.Errorf("the list renders as %q", got)
	}
	if href := fetch(t, ctx, chromedp.AttributeValue(chromedp.CSS(first+" a"), "href")); href.Value != "https://docs.example.com/relay" {
		t.Errorf("the link goes to %q", href.Value)
	}
	if got := textOf(t, ctx, chromedp.CSS(first+" pre code")); got != "<b>queued</b> & deferred" {
		t.Errorf("the code block shows %q, want the literal <b>queued</b> & deferred", got)
	}
	browse(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(first+" pre b")))
	if got := textOf(t, ctx, chromedp.CSS("#affected .affected-count")); got != "1" {
		t.Errorf("a new thread has %q affected, want 1 (its author)", got)
	}

	// Log in from the thread: the form brings the customer back to it.
	follow(t, ctx, srv.URL+"/login?next="+threadPath, chromedp.Click(chromedp.CSS(`#affected a[href^="/login"]`)))
	browse(t, ctx,
		chromedp.SendKeys(chromedp.ID("login"), name),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	follow(t, ctx, threadAt, chromedp.Click(button("Log in")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "You are logged in as "+name+"."; got != want {
		t.Errorf("after logging in the flash says %q, want %q", got, want)
	}
	if got := textOf(t, ctx, chromedp.CSS(`.nav a[href="/account"]`)); got != name {
		t.Errorf("after logging in the nav shows %q, want %q", got, name)
	}

	// Preview a reply: the rendering appears and the text stays in the form.
	e.clock.Advance(time.Minute)
	const reply = "Same on the **kestrel** gateway, every message bounced:\n\n" +
		"1. write a message\n" +
		"2. wait for the bounce"
	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(".reply #body"), reply))
	follow(t, ctx, threadAt+"/posts", chromedp.Click(button("Preview")))
	if got := textOf(t, ctx, chromedp.CSS(".preview h3")); got != "Preview" {
		t.Errorf("the preview heading says %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(".preview .post-body strong")); got != "kestrel" {
		t.Errorf("the preview's bold text is %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(".preview .post-body ol")); got != "write a message\nwait for the bounce" {
		t.Errorf("the preview's list is %q", got)
	}
	if draft := fetch(t, ctx, chromedp.Value(chromedp.CSS(".reply #body"))); draft != reply {
		t.Errorf("after the preview the form holds %q, want the draft %q", draft, reply)
	}
	if n := len(e.posts(th.ID)); n != 1 {
		t.Fatalf("the preview stored a post: %d posts", n)
	}

	// Post it: the page shows the reply, rendered, as the customer's.
	follow(t, ctx, threadAt, chromedp.Click(button("Post reply")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "Your reply is posted."; got != want {
		t.Errorf("after posting the flash says %q, want %q", got, want)
	}
	// A browser sends a text area's line breaks as CRLF (HTML's form
	// submission rules); the stored source has LF, as from the API.
	posts := e.posts(th.ID)
	if len(posts) != 2 || posts[1].AuthorID != carol.ID || posts[1].Source != reply {
		t.Fatalf("after posting the thread has %d posts, want the reply from %s second", len(posts), name)
	}
	postID := posts[1].ID
	mine := fmt.Sprintf("#post-%d", postID)
	if got := textOf(t, ctx, chromedp.CSS(mine+" .author")); got != name {
		t.Errorf("the reply is shown by %q, want %q", got, name)
	}
	if got := textOf(t, ctx, chromedp.CSS(mine+" .post-body strong")); got != "kestrel" {
		t.Errorf("the reply's bold text is %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(mine+" .post-body ol")); got != "write a message\nwait for the bounce" {
		t.Errorf("the reply's list is %q", got)
	}
	browse(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(mine+` a[href$="/revisions"]`)))

	// Edit the reply: the form holds the Markdown source; after saving the
	// post shows the new text and is marked edited.
	e.clock.Advance(time.Minute)
	editPath := fmt.Sprintf("/posts/%d/edit", postID)
	follow(t, ctx, srv.URL+editPath, chromedp.Click(chromedp.CSS(mine+` a[href="`+editPath+`"]`)))
	if got := textOf(t, ctx, chromedp.CSS("main h1")); got != "Edit post" {
		t.Errorf("edit page heading is %q", got)
	}
	if source := fetch(t, ctx, chromedp.Value(chromedp.ID("body"))); source != reply {
		t.Errorf("the edit form holds %q, want the reply's source %q", source, reply)
	}
	const edited = "Same on the **kestrel** gateway.\n\nUpdate: restarting `smtp-out` fixed it."
	browse(t, ctx,
		chromedp.Clear(chromedp.ID("body")),
		chromedp.SendKeys(chromedp.ID("body"), edited),
	)
	follow(t, ctx, threadAt, chromedp.Click(button("Save changes")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "Your changes are saved; the earlier text is kept in the post's history."; got != want {
		t.Errorf("after saving the flash says %q, want %q", got, want)
	}
	body := textOf(t, ctx, chromedp.CSS(mine+" .post-body"))
	if !strings.Contains(body, "Update: restarting smtp-out fixed it.") || strings.Contains(body, "bounce") {
		t.Errorf("after the edit the reply reads %q", body)
	}
	if got := textOf(t, ctx, chromedp.CSS(mine+" .post-body code")); got != "smtp-out" {
		t.Errorf("the edited reply's code is %q", got)
	}

	// The history keeps the text before the edit, rendered and as source.
	revisionsPath := fmt.Sprintf("/posts/%d/revisions", postID)
	follow(t, ctx, srv.URL+revisionsPath, chromedp.Click(chromedp.CSS(mine+" .post-meta "+`a[href="`+revisionsPath+`"]`)))
	if got := textOf(t, ctx, chromedp.CSS("main h1")); got != "History of a post" {
		t.Errorf("history page heading is %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS("main .card:not(.revision) .post-body")); !strings.Contains(got, "restarting smtp-out") {
		t.Errorf("the history's current text is %q", got)
	}
	old := textOf(t, ctx, chromedp.CSS(".revision .post-body"))
	if !strings.Contains(old, "every message bounced") || !strings.Contains(old, "wait for the bounce") {
		t.Errorf("the history's earlier text is %q, want the reply as first posted", old)
	}
	if got := textOf(t, ctx, chromedp.CSS(".revision h2 .author")); got != name {
		t.Errorf("the history names the editor %q, want %q", got, name)
	}
	browse(t, ctx, chromedp.Click(chromedp.Search(`//summary[normalize-space()="Markdown source"]`)))
	if got := textOf(t, ctx, chromedp.CSS(".revision pre.source")); got != reply {
		t.Errorf("the history's earlier source is %q, want %q", got, reply)
	}

	// Back to the thread, and say "I'm affected": the count goes up and the
	// button turns into an undo.
	follow(t, ctx, threadAt, chromedp.Click(link(title)))
	follow(t, ctx, threadAt, chromedp.Click(button("I'm affected too")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "You are marked as affected."; got != want {
		t.Errorf("after pressing the button the flash says %q, want %q", got, want)
	}
	if got := textOf(t, ctx, chromedp.CSS("#affected p")); got != "2 people are affected." {
		t.Errorf("after pressing the button the count reads %q, want 2 people", got)
	}
	undo := `#affected button[aria-pressed="true"]`
	if got := textOf(t, ctx, chromedp.CSS(undo)); got != "I'm affected ✓ (undo)" {
		t.Errorf("after pressing the button it says %q", got)
	}
	browse(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(`#affected button[aria-pressed="false"]`)))
	if marks, err := e.store.MarksOn(bg, carol, th.ID); err != nil || !marks.Affected {
		t.Errorf("the store has the customer affected: %v (%v)", marks.Affected, err)
	}

	// Replying made her follow the thread, for every reply; she keeps to
	// official updates. The forum's "Threads I follow" filter lists it.
	if got := textOf(t, ctx, chromedp.CSS(`#following label`)); got != "Following:" {
		t.Errorf("after replying the follow form says %q", got)
	}
	browse(t, ctx, chromedp.SetValue(chromedp.ID("follow-level"), "official"))
	follow(t, ctx, threadAt, chromedp.Click(button("Change")))
	if got := textOf(t, ctx, chromedp.CSS(".flash")); !strings.HasPrefix(got, "You follow this thread for official updates") {
		t.Errorf("after changing the level the flash says %q", got)
	}

	img := screenshot(t, ctx, "thread")
	// The page is taller than the viewport, so the vertical scroll bar
	// (15 pixels in headless Chromium) takes its width from the capture;
	// wider than the viewport would mean the page scrolls sideways.
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < browserWidth-20 || w > browserWidth || h < 300 || h > 20000 {
		t.Errorf("thread page screenshot is %dx%d, want %d wide less a scroll bar and 300 to 20000 high", w, h, browserWidth)
	}
	if n := colours(img); n < 8 {
		t.Errorf("thread page screenshot has %d colours: blank or unstyled?", n)
	}

	follow(t, ctx, srv.URL+"/threads", chromedp.Click(link("Forum")))
	browse(t, ctx, chromedp.Click(chromedp.ID("following")))
	follow(t, ctx, srv.URL+"/threads?service=&following=1", chromedp.Click(button("Filter")))
	if got := textOf(t, ctx, chromedp.CSS(".threads .thread-title")); got != title {
		t.Errorf("threads followed: %q, want %q", got, title)
	}

	// Search for a word of the reply: the thread is a result, the word is
	// highlighted, and the result leads back to the reply.
	follow(t, ctx, srv.URL+"/search", chromedp.Click(link("Search")))
	browse(t, ctx, chromedp.SendKeys(chromedp.ID("q"), "kestrel"))
	follow(t, ctx, srv.URL+"/search?q=kestrel", chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	result := fmt.Sprintf(`.results .result:has(a.result-title[href="/posts/%d"])`, postID)
	if got := textOf(t, ctx, chromedp.CSS(result+" .result-title")); got != title {
		t.Errorf("the search result is titled %q, want the thread's title %q", got, title)
	}
	if got := textOf(t, ctx, chromedp.CSS(result+" .tag")); got != "reply" {
		t.Errorf("the search result is marked %q, want reply", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(result+" .snippet mark")); got != "kestrel" {
		t.Errorf("the search result highlights %q, want kestrel", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(result+" .snippet")); !strings.Contains(got, "restarting smtp-out") {
		t.Errorf("the search snippet is %q, want the edited text", got)
	}
	follow(t, ctx, threadAt, chromedp.Click(chromedp.CSS(result+" .result-title")))
	browse(t, ctx, chromedp.WaitVisible(chromedp.CSS(mine)))

	// A word only the earlier text had is no longer found.
	open(t, ctx, srv.URL+"/search?q=bounced")
	if got := textOf(t, ctx, chromedp.CSS("main p")); got != "Nothing matches “bounced”." {
		t.Errorf("searching for a word the edit removed shows %q", got)
	}
}
