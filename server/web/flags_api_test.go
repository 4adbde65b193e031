package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestModerationAPIFlags: one flag per person, the queue, auto-hide after
// three distinct people with standing, and resolution.
func TestModerationAPIFlags(t *testing.T) {
	e := newTestEnv(t)
	_, tok := modAPIPeople(e, "alice", "bob", "carol", "dave", "erin")
	// The flaggers have standing: accounts older than a day, each with a
	// post everyone may read.
	for _, name := range []string{"bob", "carol", "dave"} {
		apiThreadBy(e, tok[name], "Hello from "+name, "First time here.")
	}
	th := apiThreadBy(e, tok["alice"], "Buy cheap watches", "Visit my shop.")
	p := th.Posts[0]
	flags := fmt.Sprintf("/api/v1/posts/%d/flags", p.ID)
	wantJSONError(t, e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: flags,
		json: `{"reason":"spam"}`, bearer: tok["alice"]}), "invalid", "your own post")
	e.must(http.StatusUnauthorized, req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`})

	w := e.must(http.StatusCreated, req{method: http.MethodPost, path: flags, json: `{"reason":"spam","state":"dismissed","user_id":1}`, bearer: tok["bob"]})
	f := decodeAs[apiFlag](t, w)
	if f.ID == 0 || f.PostID != p.ID || f.ThreadID != th.ID || f.Reason != "spam" || f.User != "bob" || !f.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("flag: %s", w.Body.String())
	}
	wantJSONError(t, e.must(http.StatusConflict, req{method: http.MethodPost, path: flags,
		json: `{"reason":"abuse"}`, bearer: tok["bob"]}), "conflict", "flagged this post already")
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: flags, json: `{"reason":"rude"}`, bearer: tok["carol"]})
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: flags, json: `{"reason":"other"}`, bearer: tok["carol"]})
	e.must(http.StatusCreated, req{method: http.MethodPost, path: flags, json: `{"reason":"other","note":"Same shop in every thread"}`, bearer: tok["carol"]})

	type queue struct {
		Flags   []apiFlag `json:"flags"`
		Page    int       `json:"page"`
		HasNext bool      `json:"has_next"`
	}
	q := decodeAs[queue](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/flags", bearer: tok["mod"]}))
	if len(q.Flags) != 2 || q.Page != 1 || q.HasNext || q.Flags[0].User != "bob" || q.Flags[1].User != "carol" ||
		q.Flags[1].Note != "Same shop in every thread" || q.Flags[1].ThreadID != th.ID || q.Flags[1].PostID != p.ID {
		t.Fatalf("queue: %+v", q)
	}
	// Two flags, one of them repeated: the post is still up.
	if _, ok := postsAs(e, tok["erin"], th.ID)[p.ID]; !ok {
		t.Fatal("the post was hidden before three people flagged it")
	}
	w = e.must(http.StatusCreated, req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`, bearer: tok["dave"]})
	if _, ok := postsAs(e, tok["erin"], th.ID)[p.ID]; ok {
		t.Fatal("the post is still up after three people flagged it")
	}
	if got, ok := postsAs(e, tok["mod"], th.ID)[p.ID]; !ok || !got.Hidden {
		t.Fatal("moderators cannot see the post hidden by flags")
	}
	e.must(http.StatusNotFound, req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`, bearer: tok["erin"]})
	log := auditLog(e, tok["mod"], "action=post.auto_hide")
	if len(log) != 1 || log[0].Actor != nil || log[0].TargetType != "post" || log[0].TargetID != p.ID ||
		log[0].RequestID != w.Header().Get("X-Request-Id") || log[0].RequestID == "" {
		t.Fatalf("auto-hide entry: %+v (request %s)", log, w.Header().Get("X-Request-Id"))
	}
	if raw := e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/audit?action=post.auto_hide", bearer: tok["mod"]}).Body.String(); !strings.Contains(raw, `"actor":null`) {
		t.Errorf("the system is not shown as a null actor: %s", raw)
	}

	// Dismissing restores a post that flags alone hid, and empties the queue.
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID),
		json: `{"action":"dismiss","note":"It is a real shop"}`, bearer: tok["mod"]})
	if got := decodeAs[apiPost](t, w); got.ID != p.ID || got.Hidden {
		t.Fatalf("dismiss answer: %s", w.Body.String())
	}
	if q := decodeAs[queue](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/flags", bearer: tok["mod"]})); len(q.Flags) != 0 {
		t.Fatalf("queue after dismiss: %+v", q)
	}
	if _, ok := postsAs(e, tok["erin"], th.ID)[p.ID]; !ok {
		t.Fatal("dismissing did not restore the post")
	}
	wantJSONError(t, e.must(http.StatusConflict, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID),
		json: `{"action":"dismiss"}`, bearer: tok["mod"]}), "conflict", "handled already")

	// A new flag, resolved by hiding: a reason is required.
	w = e.must(http.StatusCreated, req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`, bearer: tok["erin"]})
	f = decodeAs[apiFlag](t, w)
	resolve := fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID)
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: resolve, json: `{"action":"hide"}`, bearer: tok["mod"]})
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: resolve, json: `{"action":"delete","reason":"Spam"}`, bearer: tok["mod"]})
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: resolve, json: `{"action":"hide","reason":"Spam"}`, bearer: tok["boss"]})
	if !decodeAs[apiPost](t, w).Hidden {
		t.Fatalf("hide answer: %s", w.Body.String())
	}
	e.must(http.StatusNotFound, req{method: http.MethodPost, path: "/api/v1/flags/999/resolve", json: `{"action":"dismiss"}`, bearer: tok["mod"]})
	e.must(http.StatusBadRequest, req{method: http.MethodGet, path: "/api/v1/flags?page=abc", bearer: tok["mod"]})
}

// TestThrowawayFlagsDoNotHide is the reproduction of moderation steered by
// throwaway accounts: three accounts signed up a moment earlier flag a
// customer's post; the flags reach the queue but the post stays up. A
// silenced account cannot flag at all, and is told so.
func TestThrowawayFlagsDoNotHide(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "alice", "quiet")
	th := apiThreadBy(e, tok["alice"], "Mail is down", "Since nine.")
	flags := fmt.Sprintf("/api/v1/posts/%d/flags", th.Posts[0].ID)
	for i := range 3 {
		name := fmt.Sprint("throwaway", i)
		w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/signup", form: url.Values{
			"name": {name}, "email": {name + "@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}})
		e.must(http.StatusCreated, req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`, cookie: findCookie(w, e.app.sessionCookieName())})
	}
	if _, ok := postsAs(e, "", th.ID)[th.Posts[0].ID]; !ok {
		t.Fatal("three new accounts hid a customer's post")
	}
	type queue struct {
		Flags []apiFlag `json:"flags"`
	}
	if q := decodeAs[queue](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/flags", bearer: tok["mod"]})); len(q.Flags) != 3 {
		t.Fatalf("%d flags in the queue, want 3", len(q.Flags))
	}
	e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/silence", users["quiet"].ID), bearer: tok["mod"],
		json: `{"reason":"flooding the queue","until":"2030-01-01T00:00:00Z"}`})
	w := e.do(req{method: http.MethodPost, path: flags, json: `{"reason":"spam"}`, bearer: tok["quiet"]})
	wantStatus(t, w, http.StatusForbidden)
	wantJSONError(t, w, "silenced", "flag", "flooding the queue")
}
