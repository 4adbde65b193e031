package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sitrep/models"
	"strings"
	"testing"
	"time"
)

// TestFollowThreads: a customer follows a thread from its page and through
// the API, at a level, finds it under the forum's "Threads I follow" filter
// (page and JSON), and stops following; visitors are asked to log in.
func TestFollowThreads(t *testing.T) {
	e := newTestEnv(t)
	f := newFixture(e)
	cust := f.users[customer]
	cookie, token := e.session(cust), e.token(cust)
	followedIDs := func() []int64 {
		t.Helper()
		out := decodeAs[struct {
			Threads []apiThread `json:"threads"`
		}](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/threads?following=true", bearer: token}))
		var ids []int64
		for _, th := range out.Threads {
			ids = append(ids, th.ID)
		}
		return ids
	}
	// The customer started the locked thread and replied in owner's: they
	// follow both already.
	if got := followedIDs(); len(got) != 2 {
		t.Fatalf("before: follows %v, want the locked thread and the one replied to", got)
	}
	quiet := e.thread(f.users[owner], "Calendar sync is slow", "Since Monday.")
	thread := fmt.Sprintf("/threads/%d", quiet.ID)
	w := e.do(req{method: http.MethodPost, path: thread + "/following", form: url.Values{"following": {"1"}, "level": {"official"}}, cookie: cookie})
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != thread+"#following" {
		t.Fatalf("redirect to %q", loc)
	}
	body := e.page(thread, cookie)
	mustContain(t, "thread page of a followed thread", body, `<option value="official" selected>`, "Stop following")
	body = e.page("/threads?following=1", cookie)
	if !strings.Contains(body, `href="`+thread+`"`) || !strings.Contains(body, `id="following" name="following" value="1" checked`) {
		t.Fatal("followed thread missing from the filtered forum page")
	}
	if got := followedIDs(); len(got) != 3 {
		t.Fatalf("after follow: %v", got)
	}

	api := fmt.Sprintf("/api/v1/threads/%d/following", quiet.ID)
	for _, c := range []struct{ body, want string }{
		{`{"level":"muted"}`, `{"following":true,"level":"muted"}`},
		{``, `{"following":true,"level":"all"}`}, // no body: every reply
	} {
		w = e.must(http.StatusOK, req{method: http.MethodPut, path: api, bearer: token, json: c.body})
		if got := strings.TrimSpace(w.Body.String()); got != c.want {
			t.Errorf("PUT %s answered %s, want %s", c.body, got, c.want)
		}
	}
	for range 2 { // idempotent
		w = e.must(http.StatusOK, req{method: http.MethodDelete, path: api, bearer: token})
		if got := strings.TrimSpace(w.Body.String()); got != `{"following":false,"level":""}` {
			t.Fatalf("DELETE answered %s", got)
		}
	}
	if got := followedIDs(); len(got) != 2 {
		t.Fatalf("after unfollow: %v", got)
	}

	// Nobody else's list changed; visitors must log in; bad input is 4xx.
	other := e.token(f.users[owner])
	w = e.do(req{method: http.MethodGet, path: "/api/v1/threads?following=true", bearer: other})
	if strings.Contains(w.Body.String(), fmt.Sprintf(`"id":%d,`, f.lockedID)) {
		t.Fatal("another customer's follow leaked into owner's list")
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/threads?following=true"}), http.StatusUnauthorized)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/threads?following=1"}), http.StatusUnauthorized)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/threads?following=maybe", bearer: token}), http.StatusBadRequest)
	wantStatus(t, e.do(req{method: http.MethodPut, path: "/api/v1/threads/999999/following", bearer: token}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodPut, path: "/api/v1/threads/abc/following", bearer: token}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodPut, path: api, bearer: token, json: `{"level":"loud"}`}), http.StatusUnprocessableEntity)
}

// TestAccountListsOwnPosts: the account page shows the user's own posts,
// their hidden ones with the reason, and nobody else's.
func TestAccountListsOwnPosts(t *testing.T) {
	e := newTestEnv(t)
	f := newFixture(e)
	w := e.do(req{method: http.MethodGet, path: "/account", cookie: e.session(f.users[customer])})
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	for _, id := range []int64{f.hiddenPostID, f.replyID} {
		if !strings.Contains(body, fmt.Sprintf(`href="/posts/%d"`, id)) {
			t.Errorf("own post %d missing from the account page", id)
		}
	}
	if !strings.Contains(body, "hidden: off-topic") {
		t.Error("own hidden post does not say why it is hidden")
	}
	if strings.Contains(body, fmt.Sprintf(`href="/posts/%d"`, f.postID)) {
		t.Error("another customer's post on the account page")
	}
}

// TestReadPositionOnTheThreadPage: a follower who comes back sees where the
// posts they have not read begin; having seen the page, they have read it,
// and the notifications about it are read too.
func TestReadPositionOnTheThreadPage(t *testing.T) {
	e := newTestEnv(t)
	alice, bob := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	e.clock.Advance(time.Minute)
	reply := e.reply(bob, th.ID, "Same here.")
	e.runJobs()
	cookie := e.session(alice)
	if body := e.page("/notifications", cookie); !strings.Contains(body, "bob replied in") {
		t.Fatal("no notification of the reply")
	}
	path := fmt.Sprintf("/threads/%d", th.ID)
	body := e.page(path, cookie)
	mustContain(t, "thread page with an unread reply", body, fmt.Sprintf(`data-first-unread="%d"`, reply.ID),
		fmt.Sprintf(`<a href="/posts/%d">New since you last read`, reply.ID))
	body = e.page(path, cookie)
	if strings.Contains(body, "data-first-unread") {
		t.Error("the page still says the reply is unread after showing it")
	}
	if strings.Contains(body, `id="unread-count" data-count="1"`) {
		t.Error("the notification about the thread is still unread")
	}
	// "Threads I follow" says what is unread, and the link leads to it.
	e.clock.Advance(time.Minute)
	next := e.reply(bob, th.ID, "Still down.")
	body = e.page("/threads?following=1", cookie)
	mustContain(t, "followed threads", body, fmt.Sprintf(`<a class="tag tag-unread" href="/posts/%d">1 unread</a>`, next.ID))
	// Once the incident it is tracked in is resolved, the list says so.
	sam := e.user("sam", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail outage", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	ctx := context.Background()
	if _, err := e.store.LinkThread(ctx, sam, th.ID, inc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PostUpdate(ctx, sam, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "followed threads after the resolution", e.page("/threads?following=1", cookie),
		fmt.Sprintf(`href="/incidents/%d">incident %d: resolved ✓</a>`, inc.ID, inc.ID))
}
