package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// draftFields parses a page and returns the form fields it offers (inputs
// and text areas by name), so a test can check what a person gets back.
func draftFields(t *testing.T, page string) map[string]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "textarea":
				var text strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					text.WriteString(c.Data)
				}
				out[attrOf(n, "name")+attrOf(n, "id")] = text.String()
			case "input":
				out[attrOf(n, "name")] = attrOf(n, "value")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// TestRefusedPostsKeepTheDraft: whatever refuses a reply (a thread locked or
// merged while the person typed, a tampered field, an ended session, an
// overloaded server), the page that says so gives the text back.
func TestRefusedPostsKeepTheDraft(t *testing.T) {
	e := newTestEnv(t)
	f := newFixture(e)
	ctx := context.Background()
	cookie := e.session(f.users[owner])
	const text = "My long reply <b>with</b> & details\nand a second line"
	reply := func(path string, form url.Values, c *http.Cookie) *httptest.ResponseRecorder {
		t.Helper()
		form.Set("body", text)
		return e.do(req{method: http.MethodPost, path: path, form: form, cookie: c})
	}
	kept := func(what string, w *httptest.ResponseRecorder, status int) map[string]string {
		t.Helper()
		if w.Code != status {
			t.Fatalf("%s: status %d, want %d; %.300s", what, w.Code, status, w.Body.String())
		}
		fields := draftFields(t, w.Body.String())
		for name, v := range fields {
			if strings.Contains(name, "body") && v == text {
				return fields
			}
		}
		t.Fatalf("%s: the text is not given back; fields %q", what, fields)
		return nil
	}

	// Locked: the thread page says so and keeps the text.
	kept("locked thread", reply(fmt.Sprintf("/threads/%d/posts", f.lockedID), url.Values{}, cookie), http.StatusForbidden)

	// Merged while typing: 409 with the text.
	dup := e.thread(f.users[customer], "Mail down again", "Same.")
	if _, err := e.store.MergeThread(ctx, f.users[moderator], dup.ID, f.threadID, ""); err != nil {
		t.Fatal(err)
	}
	kept("merged thread", reply(fmt.Sprintf("/threads/%d/posts", dup.ID), url.Values{}, cookie), http.StatusConflict)

	// A tampered field on the new-thread form: 400 with title and text.
	w := e.do(req{method: http.MethodPost, path: "/threads", cookie: cookie,
		form: url.Values{"title": {"Calendar lost my invites"}, "body": {text}, "service_id": {"abc"}, "password": {"never echoed"}}})
	fields := kept("bad field", w, http.StatusBadRequest)
	if fields["titledraft-title"] != "Calendar lost my invites" {
		t.Errorf("the title is not given back: %q", fields)
	}
	if strings.Contains(w.Body.String(), "never echoed") {
		t.Error("a password field was echoed on the error page")
	}

	// The session ended while the person typed.
	kept("ended session", reply(fmt.Sprintf("/threads/%d/posts", f.threadID), url.Values{}, &http.Cookie{Name: e.app.sessionCookieName(), Value: "expired"}), http.StatusUnauthorized)

	// Overloaded: 503 with the text and every other field, ready to send again.
	e2 := newTestEnvConfig(t, func(c *Config) { c.MaxInFlight = 1 })
	busy, entered, release := holdRoute(e2)
	held := make(chan int)
	go func() { held <- busy.do(req{method: http.MethodGet, path: "/test/hold"}).Code }()
	<-entered
	body := url.Values{"body": {text}, "submit_key": {"k-123"}}
	// Sent without Sec-Fetch-Site, as a client that is not a browser does.
	w = busy.do(req{method: http.MethodPost, path: "/threads/1/posts", form: body, header: map[string]string{"Sec-Fetch-Site": ""}})
	fields = kept("overloaded", w, http.StatusServiceUnavailable)
	if fields["submit_key"] != "k-123" || !strings.Contains(w.Body.String(), `action="/threads/1/posts"`) ||
		!strings.Contains(w.Body.String(), "Send again") {
		t.Errorf("the 503 page does not offer to send the same form again: %q", fields)
	}
	// Another site's form gets no draft back, even when the server sheds it
	// before the cross-site check: no button to send it from here.
	w = busy.do(req{method: http.MethodPost, path: "/threads/1/posts", form: body, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	wantStatus(t, w, http.StatusServiceUnavailable)
	if strings.Contains(w.Body.String(), "My long reply") || strings.Contains(w.Body.String(), "Send again") {
		t.Error("a cross-site post's text is shown back, ready to send")
	}
	close(release)
	<-held
}
