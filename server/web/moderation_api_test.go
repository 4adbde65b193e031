package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// modAPIPeople makes a moderator "mod", an admin "boss" and the customers
// named, each with an API token, and moves the clock on two days so that
// they post at the normal pace.
func modAPIPeople(e *testEnv, customers ...string) (users map[string]*models.User, tokens map[string]string) {
	users, tokens = map[string]*models.User{}, map[string]string{}
	add := func(name string, role models.Role) {
		users[name] = e.user(name, role)
		tokens[name] = e.token(users[name])
	}
	add("mod", models.RoleModerator)
	add("boss", models.RoleAdmin)
	for _, name := range customers {
		add(name, models.RoleCustomer)
	}
	e.clock.Advance(48 * time.Hour)
	return users, tokens
}

// apiThreadBy starts a thread through the API with the bearer token and
// returns it with its first post; the clock moves on a minute.
func apiThreadBy(e *testEnv, bearer, title, body string) apiThread {
	e.t.Helper()
	th := decodeAs[apiThread](e.t, e.must(http.StatusCreated, req{method: http.MethodPost, path: "/api/v1/threads", bearer: bearer,
		json: fmt.Sprintf(`{"title":%q,"body":%q}`, title, body)}))
	e.clock.Advance(time.Minute)
	return th
}

// apiReplyBy posts a reply through the API with the bearer token; the clock
// moves on a minute.
func apiReplyBy(e *testEnv, bearer string, threadID int64, body string) apiPost {
	e.t.Helper()
	p := decodeAs[apiPost](e.t, e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/posts", threadID),
		bearer: bearer, json: fmt.Sprintf(`{"body":%q}`, body)}))
	e.clock.Advance(time.Minute)
	return p
}

// auditLog is the whole audit log (newest first) as the bearer reads it,
// page by page.
func auditLog(e *testEnv, bearer, query string) []apiAuditEntry {
	e.t.Helper()
	var out []apiAuditEntry
	for page := 1; ; page++ {
		w := e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/audit?per_page=100&page=%d&%s", page, query), bearer: bearer})
		got := decodeAs[struct {
			Entries []apiAuditEntry `json:"entries"`
			Page    int             `json:"page"`
			HasNext bool            `json:"has_next"`
		}](e.t, w)
		if got.Page != page {
			e.t.Fatalf("audit page %d answered as page %d", page, got.Page)
		}
		out = append(out, got.Entries...)
		if !got.HasNext {
			return out
		}
	}
}

// postsAs is a thread's posts by id, as the bearer (a visitor when empty)
// reads them.
func postsAs(e *testEnv, bearer string, threadID int64) map[int64]apiPost {
	e.t.Helper()
	th := decodeAs[apiThread](e.t, e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", threadID), bearer: bearer}))
	out := map[int64]apiPost{}
	for _, p := range th.Posts {
		out[p.ID] = p
	}
	return out
}

// TestModerationAPISanctionHierarchy: nobody sanctions an equal or higher
// role, nor themselves; refusals say why and leave nothing in the log.
func TestModerationAPISanctionHierarchy(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "carol")
	for _, extra := range []struct {
		name string
		role models.Role
	}{{"mod2", models.RoleModerator}, {"boss2", models.RoleAdmin}} {
		users[extra.name] = e.user(extra.name, extra.role)
	}
	until := e.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	body := fmt.Sprintf(`{"reason":"Rude replies","until":%q}`, until)
	for _, c := range []struct {
		who, tool, target, message string
	}{
		{"mod", "warn", "mod2", "equal to or higher"},
		{"mod", "silence", "mod2", "equal to or higher"},
		{"mod", "suspend", "boss", "equal to or higher"},
		{"mod", "lift", "boss", "equal to or higher"},
		{"mod", "warn", "mod", "yourself"},
		{"mod", "suspend", "mod", "yourself"},
		{"boss", "silence", "boss", "yourself"},
		{"boss", "warn", "boss2", "equal to or higher"},
	} {
		wantJSONError(t, e.must(http.StatusForbidden, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/%s", users[c.target].ID, c.tool),
			json: body, bearer: tok[c.who]}), "forbidden", c.message)
	}
	if got := auditLog(e, tok["mod"], ""); len(got) != 0 {
		t.Fatalf("refused sanctions were logged: %+v", got)
	}

	// Down the ladder it works: the answer is the sanction.
	w := e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/silence", users["carol"].ID),
		json: body, bearer: tok["mod"]})
	x := decodeAs[apiSanction](t, w)
	if x.ID == 0 || x.UserID != users["carol"].ID || x.Kind != models.SanctionSilence || x.Reason != "Rude replies" ||
		x.CreatedBy != "mod" || x.EndsAt == nil || x.EndsAt.Format(time.RFC3339) != until || !x.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("sanction: %s", w.Body.String())
	}
	if !strings.Contains(w.Body.String(), `"ends_at":"`+until+`"`) {
		t.Errorf("ends_at is not RFC 3339 UTC: %s", w.Body.String())
	}
	w = e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/warn", users["mod2"].ID),
		json: `{"reason":"Too quick on the hide button","until":"2030-01-01T00:00:00Z","kind":"suspension","user_id":1}`, bearer: tok["boss"]})
	if x := decodeAs[apiSanction](t, w); x.Kind != models.SanctionWarning || x.EndsAt != nil || x.UserID != users["mod2"].ID {
		t.Fatalf("a warning took fields from the body: %s", w.Body.String())
	}
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/lift", users["carol"].ID),
		json: `{"reason":"Apologised"}`, bearer: tok["mod"]})
	if strings.TrimSpace(w.Body.String()) != `{"lifted":true}` {
		t.Fatalf("lift: %s", w.Body.String())
	}
	wantJSONError(t, e.must(http.StatusConflict, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/lift", users["carol"].ID),
		json: `{"reason":"Again"}`, bearer: tok["mod"]}), "conflict", "neither silenced nor suspended")
	e.must(http.StatusNotFound, req{method: http.MethodPost, path: "/api/v1/users/999/warn", json: `{"reason":"Who?"}`, bearer: tok["mod"]})
}

// TestModerationAPISuspendedAndSilenced: a suspended user's token stops
// working at once; a silenced user reads and says "affected" but cannot post.
func TestModerationAPISuspendedAndSilenced(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "carol", "dave")
	th := apiThreadBy(e, tok["carol"], "Mail is down for me", "Since 9:00.")
	until := e.clock.Now().Add(time.Hour)
	sanction := func(tool, who, reason string) {
		e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/%s", users[who].ID, tool),
			json: fmt.Sprintf(`{"reason":%q,"until":%q}`, reason, until.Format(time.RFC3339)), bearer: tok["mod"]})
	}

	cookie := e.session(users["dave"])
	e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/me", bearer: tok["dave"]})
	sanction("suspend", "dave", "Spam links")
	wantJSONError(t, e.must(http.StatusForbidden, req{method: http.MethodGet, path: "/api/v1/me", bearer: tok["dave"]}), "suspended", "Spam links")
	wantJSONError(t, e.must(http.StatusForbidden, req{method: http.MethodGet, path: "/api/v1/me", cookie: cookie}), "suspended", "Spam links")
	e.must(http.StatusForbidden, req{method: http.MethodPut, path: fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), bearer: tok["dave"]})

	sanction("silence", "carol", "Shouting")
	posts := fmt.Sprintf("/api/v1/threads/%d/posts", th.ID)
	wantJSONError(t, e.must(http.StatusForbidden, req{method: http.MethodPost, path: posts,
		json: `{"body":"STILL DOWN"}`, bearer: tok["carol"]}), "silenced", "Shouting")
	wantJSONError(t, e.must(http.StatusForbidden, req{method: http.MethodPost, path: "/api/v1/threads",
		json: `{"title":"Nobody answers","body":"Hello?"}`, bearer: tok["carol"]}), "silenced", "Shouting")
	e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", th.ID), bearer: tok["carol"]})
	e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/me", bearer: tok["carol"]})
	e.must(http.StatusOK, req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), bearer: tok["carol"]})
	w := e.must(http.StatusOK, req{method: http.MethodPut, path: fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), bearer: tok["carol"]})
	if !strings.Contains(w.Body.String(), `"affected":true`) {
		t.Fatalf("affected: %s", w.Body.String())
	}

	// Lifting lets carol post again.
	e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/users/%d/lift", users["carol"].ID),
		json: `{"reason":"Calmer now"}`, bearer: tok["mod"]})
	apiReplyBy(e, tok["carol"], th.ID, "Thanks, it works again.")
}

// TestModerationAPIHiddenPostVisibility: a hidden post is gone from the
// thread JSON, revisions, search and the feed for other customers and
// visitors, and stays readable for its author and moderators.
func TestModerationAPIHiddenPostVisibility(t *testing.T) {
	e := newTestEnv(t)
	_, tok := modAPIPeople(e, "alice", "bob")
	th := apiThreadBy(e, tok["alice"], "Mail is down for me", "Since 9:00.")
	p := apiReplyBy(e, tok["alice"], th.ID, "Try the zanzibarquux workaround.")
	e.must(http.StatusOK, req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", p.ID),
		json: `{"body":"Try the zanzibarquux workaround, it helps."}`, bearer: tok["alice"]})
	searchHits := func(who string) int {
		t.Helper()
		got := decodeAs[struct {
			Results []searchHit `json:"results"`
		}](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/search?q=zanzibarquux", bearer: tok[who]}))
		n := 0
		for _, r := range got.Results {
			if r.Type == "post" && r.ID == p.ID {
				n++
			}
		}
		return n
	}
	feed := func() string {
		t.Helper()
		return e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d/feed.atom", th.ID)}).Body.String()
	}
	revisions := fmt.Sprintf("/api/v1/posts/%d/revisions", p.ID)
	// Before: everyone sees it everywhere.
	if _, ok := postsAs(e, tok["bob"], th.ID)[p.ID]; !ok || searchHits("bob") != 1 || !strings.Contains(feed(), "zanzibarquux") {
		t.Fatal("the post is not visible before it is hidden")
	}
	e.must(http.StatusOK, req{method: http.MethodGet, path: revisions, bearer: tok["bob"]})

	w := e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/posts/%d/hide", p.ID),
		json: `{"reason":"Unsafe advice"}`, bearer: tok["mod"]})
	if got := decodeAs[apiPost](t, w); got.ID != p.ID || !got.Hidden || got.Author != "alice" {
		t.Fatalf("hide answer: %s", w.Body.String())
	}
	for _, who := range []string{"bob", ""} {
		if _, ok := postsAs(e, tok[who], th.ID)[p.ID]; ok {
			t.Errorf("%q reads the hidden post in the thread JSON", who)
		}
		e.must(http.StatusNotFound, req{method: http.MethodGet, path: revisions, bearer: tok[who]})
		if n := searchHits(who); n != 0 {
			t.Errorf("%q finds the hidden post by search", who)
		}
	}
	if strings.Contains(feed(), "zanzibarquux") {
		t.Error("the thread feed carries the hidden post")
	}
	for _, who := range []string{"mod", "boss", "alice"} {
		got, ok := postsAs(e, tok[who], th.ID)[p.ID]
		if !ok || !got.Hidden || !strings.Contains(got.Body, "zanzibarquux") {
			t.Errorf("%s cannot read the hidden post: %+v", who, got)
		}
		e.must(http.StatusOK, req{method: http.MethodGet, path: revisions, bearer: tok[who]})
	}
	// Hiding twice is a conflict; unhiding brings it back for everyone.
	wantJSONError(t, e.must(http.StatusConflict, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/posts/%d/hide", p.ID),
		json: `{"reason":"Again"}`, bearer: tok["mod"]}), "conflict", "hidden already")
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/posts/%d/unhide", p.ID),
		json: `{"reason":"Checked, it is fine"}`, bearer: tok["mod"]})
	if decodeAs[apiPost](t, w).Hidden {
		t.Fatalf("unhide answer: %s", w.Body.String())
	}
	if _, ok := postsAs(e, tok["bob"], th.ID)[p.ID]; !ok || searchHits("bob") != 1 {
		t.Error("the restored post is still hidden")
	}
}

// TestModerationAPIMerge: merging carries posts and affected marks over,
// counting a person affected on both threads once, and the old address
// redirects.
func TestModerationAPIMerge(t *testing.T) {
	e := newTestEnv(t)
	_, tok := modAPIPeople(e, "alice", "bob", "carol", "dave", "erin")
	a := apiThreadBy(e, tok["alice"], "Mail is down", "Since 9:00.")
	b := apiThreadBy(e, tok["bob"], "Cannot send mail", "Since 9:05.")
	for who, ids := range map[string][]int64{"carol": {a.ID, b.ID}, "dave": {b.ID}, "erin": {a.ID}} {
		for _, id := range ids {
			e.must(http.StatusOK, req{method: http.MethodPut, path: fmt.Sprintf("/api/v1/threads/%d/affected", id), bearer: tok[who]})
		}
	}
	w := e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/merge", a.ID),
		json: fmt.Sprintf(`{"into_id":%d,"reason":"Same outage"}`, b.ID), bearer: tok["mod"]})
	into := decodeAs[apiThread](t, w)
	// alice, bob, carol (on both), dave, erin.
	if into.ID != b.ID || into.AffectedCount != 5 || into.PostCount != 2 {
		t.Fatalf("merge answer: %s", w.Body.String())
	}
	shown := decodeAs[apiThread](t, e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", b.ID)}))
	if shown.AffectedCount != 5 || len(shown.Posts) != 2 || shown.Posts[0].ID != a.Posts[0].ID || shown.Posts[1].ID != b.Posts[0].ID {
		t.Fatalf("merged thread: %+v", shown)
	}
	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", a.ID)})
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != fmt.Sprintf("/threads/%d", b.ID) {
		t.Errorf("old thread page: %d to %q, want 301 to /threads/%d", w.Code, w.Header().Get("Location"), b.ID)
	}
	e.must(http.StatusConflict, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/posts", a.ID),
		json: `{"body":"Here?"}`, bearer: tok["carol"]})
	wantJSONError(t, e.must(http.StatusConflict, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/merge", a.ID),
		json: fmt.Sprintf(`{"into_id":%d}`, b.ID), bearer: tok["mod"]}), "conflict", "merged already")
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/merge", b.ID),
		json: fmt.Sprintf(`{"into_id":%d}`, b.ID), bearer: tok["mod"]})
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/merge", b.ID),
		json: `{"into_id":999}`, bearer: tok["mod"]})
}

// TestModerationAPIAuditEntries: every moderation action leaves exactly one
// audit entry naming its actor, target and request; a refused one leaves
// none.
func TestModerationAPIAuditEntries(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "alice", "bob", "carol", "dave")
	a := apiThreadBy(e, tok["alice"], "Mail is down", "Since 9:00.")
	b := apiThreadBy(e, tok["bob"], "Cannot send mail", "Since 9:05.")
	r := apiReplyBy(e, tok["alice"], a.ID, "Still down.")
	flag := func(who string, postID int64) int64 {
		w := e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/posts/%d/flags", postID),
			json: `{"reason":"abuse"}`, bearer: tok[who]})
		return decodeAs[apiFlag](t, w).ID
	}
	dismissFlag, hideFlag := flag("carol", a.Posts[0].ID), flag("dave", b.Posts[0].ID)
	until := fmt.Sprintf("%q", e.clock.Now().Add(time.Hour).Format(time.RFC3339))
	carol := users["carol"].ID

	rows := []struct {
		who, path, body string
		status          int
		action, target  string // action "" when nothing may be logged
		targetID        int64
	}{
		{"mod", fmt.Sprintf("/api/v1/threads/%d/lock", a.ID), `{"reason":"Heated"}`, 200, "thread.lock", "thread", a.ID},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/lock", a.ID), `{"reason":"Heated"}`, 409, "", "", 0},
		{"boss", fmt.Sprintf("/api/v1/threads/%d/unlock", a.ID), `{}`, 200, "thread.unlock", "thread", a.ID},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/pin", a.ID), `{"until":` + until + `}`, 200, "thread.pin", "thread", a.ID},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/unpin", a.ID), `{}`, 200, "thread.unpin", "thread", a.ID},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/unpin", a.ID), `{}`, 409, "", "", 0},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/slow-mode", a.ID), `{"seconds":30,"reason":"Busy"}`, 200, "thread.slow_mode", "thread", a.ID},
		{"mod", fmt.Sprintf("/api/v1/posts/%d/hide", r.ID), `{"reason":"Rude"}`, 200, "post.hide", "post", r.ID},
		{"boss", fmt.Sprintf("/api/v1/posts/%d/unhide", r.ID), `{}`, 200, "post.unhide", "post", r.ID},
		{"mod", fmt.Sprintf("/api/v1/posts/%d/move", r.ID), fmt.Sprintf(`{"thread_id":%d}`, b.ID), 200, "post.move", "post", r.ID},
		{"mod", fmt.Sprintf("/api/v1/posts/%d/move", a.Posts[0].ID), fmt.Sprintf(`{"thread_id":%d}`, b.ID), 422, "", "", 0},
		{"mod", fmt.Sprintf("/api/v1/flags/%d/resolve", dismissFlag), `{"action":"dismiss"}`, 200, "flags.dismiss", "post", a.Posts[0].ID},
		{"boss", fmt.Sprintf("/api/v1/flags/%d/resolve", hideFlag), `{"action":"hide","reason":"Abuse"}`, 200, "flags.hide", "post", b.Posts[0].ID},
		{"mod", fmt.Sprintf("/api/v1/users/%d/warn", carol), `{"reason":"Be civil"}`, 201, "user.warning", "user", carol},
		{"mod", fmt.Sprintf("/api/v1/users/%d/silence", carol), `{"reason":"Cool down","until":` + until + `}`, 201, "user.silence", "user", carol},
		{"boss", fmt.Sprintf("/api/v1/users/%d/suspend", carol), `{"reason":"Spam","until":` + until + `}`, 201, "user.suspension", "user", carol},
		{"mod", fmt.Sprintf("/api/v1/users/%d/lift", carol), `{"reason":"Appeal granted"}`, 200, "user.lift", "user", carol},
		{"mod", fmt.Sprintf("/api/v1/users/%d/lift", carol), `{"reason":"Twice"}`, 409, "", "", 0},
		{"mod", fmt.Sprintf("/api/v1/threads/%d/merge", a.ID), fmt.Sprintf(`{"into_id":%d,"reason":"Same outage"}`, b.ID), 200, "thread.merge", "thread", a.ID},
	}
	before := len(auditLog(e, tok["mod"], ""))
	for _, row := range rows {
		w := e.must(row.status, req{method: http.MethodPost, path: row.path, json: row.body, bearer: tok[row.who]})
		log := auditLog(e, tok["mod"], "")
		if row.action == "" {
			if len(log) != before {
				t.Errorf("refused %s logged %+v", row.path, log[0])
			}
			continue
		}
		if len(log) != before+1 {
			t.Fatalf("%s left %d entries, want 1", row.path, len(log)-before)
		}
		before++
		got := log[0]
		if got.Actor == nil || *got.Actor != row.who || got.Action != row.action || got.TargetType != row.target || got.TargetID != row.targetID {
			t.Errorf("%s logged %+v, want %s by %s on %s %d", row.path, got, row.action, row.who, row.target, row.targetID)
		}
		if got.RequestID == "" || got.RequestID != w.Header().Get("X-Request-Id") {
			t.Errorf("%s: entry request_id %q, response X-Request-Id %q", row.path, got.RequestID, w.Header().Get("X-Request-Id"))
		}
		if !got.CreatedAt.Equal(e.clock.Now()) {
			t.Errorf("%s: created_at %s", row.path, got.CreatedAt)
		}
	}

	// Filters, alone and together; the log is newest first.
	entries := auditLog(e, tok["mod"], "")
	for i := 1; i < len(entries); i++ {
		if entries[i-1].ID <= entries[i].ID {
			t.Fatal("the audit log is not newest first")
		}
	}
	count := func(query string) int { return len(auditLog(e, tok["mod"], query)) }
	if n := count("action=thread.lock"); n != 1 {
		t.Errorf("action filter: %d", n)
	}
	if n := count(fmt.Sprintf("actor_id=%d", users["boss"].ID)); n != 4 {
		t.Errorf("actor filter: %d", n)
	}
	if n := count("target_type=user"); n != 4 {
		t.Errorf("target_type filter: %d", n)
	}
	if n := count(fmt.Sprintf("target_type=post&target_id=%d", r.ID)); n != 3 {
		t.Errorf("target filter: %d", n)
	}
	if n := count("action=thread.lock'%20OR%201=1--"); n != 0 {
		t.Errorf("a quoted action matched %d entries", n)
	}
	for _, bad := range []string{"actor_id=x", "target_id=-1", "page=0", "per_page=abc"} {
		e.must(http.StatusBadRequest, req{method: http.MethodGet, path: "/api/v1/audit?" + bad, bearer: tok["mod"]})
	}
	got := decodeAs[struct {
		Entries []apiAuditEntry `json:"entries"`
		HasNext bool            `json:"has_next"`
	}](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/audit?per_page=5&page=2", bearer: tok["mod"]}))
	if len(got.Entries) != 5 || !got.HasNext || got.Entries[0].ID != entries[5].ID {
		t.Errorf("second page of 5: %+v", got)
	}
}

// TestModerationAPIBadInput: malformed or out-of-range bodies are refused
// with the right status, never a 500, and change nothing.
func TestModerationAPIBadInput(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "alice")
	th := apiThreadBy(e, tok["alice"], "Mail is down", "Since 9:00.")
	tool := func(name string) string { return fmt.Sprintf("/api/v1/threads/%d/%s", th.ID, name) }
	alice := fmt.Sprintf("/api/v1/users/%d/", users["alice"].ID)
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{tool("slow-mode"), `{}`, 422},
		{tool("slow-mode"), `{"seconds":-5}`, 422},
		{tool("slow-mode"), `{"seconds":86401}`, 422},
		{tool("slow-mode"), `{"seconds":9000000000000000000}`, 422}, // would wrap around as a Duration
		{tool("slow-mode"), `{"seconds":"10"}`, 422},
		{tool("pin"), `{"until":"2020-01-01T00:00:00Z"}`, 422},
		{tool("pin"), `{"until":"tomorrow"}`, 422},
		{tool("lock"), `{"reason":"` + strings.Repeat("x", 501) + `"}`, 422},
		{tool("lock"), `{"reason":"a\u0000b"}`, 422},
		{tool("lock"), `not json`, 400},
		{tool("lock"), `{"reason":"x"} {}`, 400},
		{"/api/v1/threads/999/lock", `{}`, 404},
		{"/api/v1/threads/abc/lock", `{}`, 404},
		{fmt.Sprintf("/api/v1/posts/%d/move", th.Posts[0].ID), `{"thread_id":999}`, 422},
		{fmt.Sprintf("/api/v1/posts/%d/hide", th.Posts[0].ID), `{}`, 422},
		{"/api/v1/posts/999/hide", `{"reason":"x"}`, 404},
		{alice + "warn", `{}`, 422},
		{alice + "silence", `{"reason":"x"}`, 422},
		{alice + "suspend", `{"reason":"x","until":"2020-01-01T00:00:00Z"}`, 422},
		{alice + "lift", `{}`, 422},
	} {
		w := e.do(req{method: http.MethodPost, path: c.path, json: c.body, bearer: tok["mod"]})
		if w.Code != c.status {
			t.Errorf("%s %.60s: %d, want %d: %s", c.path, c.body, w.Code, c.status, w.Body.String())
		}
	}
	if n := len(auditLog(e, tok["mod"], "")); n != 0 {
		t.Fatalf("refused actions left %d audit entries", n)
	}
	got := decodeAs[apiThread](t, e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", th.ID)}))
	if got.Locked || got.Pinned || len(got.Posts) != 1 || got.Posts[0].Hidden {
		t.Fatalf("refused actions changed the thread: %+v", got)
	}
	// The slow mode asked for is the one set.
	e.must(http.StatusOK, req{method: http.MethodPost, path: tool("slow-mode"), json: `{"seconds":86400}`, bearer: tok["mod"]})
	if th, err := e.store.ThreadByID(context.Background(), th.ID); err != nil || th.SlowModeSeconds != 86400 {
		t.Fatalf("slow mode: %v %+v", err, th)
	}
}

// TestModerationAPIHostileReasons: attack strings given as reasons and notes
// come back in JSON unchanged (and escaped, so no raw markup travels), or
// are refused when they hold control characters.
func TestModerationAPIHostileReasons(t *testing.T) {
	e := newTestEnv(t)
	users, tok := modAPIPeople(e, "alice", "bob")
	target := fmt.Sprintf("/api/v1/users/%d/warn", users["alice"].ID)
	var kept []string
	for _, payload := range xssPayloads(t) {
		body, _ := json.Marshal(map[string]string{"reason": payload})
		w := e.do(req{method: http.MethodPost, path: target, json: string(body), bearer: tok["mod"]})
		if strings.ContainsFunc(payload, func(r rune) bool { return r < ' ' }) {
			wantStatus(t, w, http.StatusUnprocessableEntity)
			continue
		}
		wantStatus(t, w, http.StatusCreated)
		if x := decodeAs[apiSanction](t, w); x.Reason != payload {
			t.Errorf("reason changed: sent %q, got %q", payload, x.Reason)
		}
		if strings.ContainsAny(w.Body.String(), "<>") {
			t.Errorf("raw markup in JSON: %s", w.Body.String())
		}
		kept = append(kept, payload)
	}
	log := auditLog(e, tok["mod"], "action=user.warning")
	if len(log) != len(kept) {
		t.Fatalf("%d entries for %d warnings", len(log), len(kept))
	}
	for i, entry := range log {
		if want := kept[len(kept)-1-i]; entry.Reason != want {
			t.Errorf("audit reason: got %q, want %q", entry.Reason, want)
		}
	}

	// A flag note and a lock reason travel the same way.
	th := apiThreadBy(e, tok["alice"], "Mail is down", "Since 9:00.")
	hostile := `<img src=x onerror="alert(1)"> </script><script>alert(document.cookie)</script> "quoted" & 'single'`
	body, _ := json.Marshal(map[string]string{"reason": "other", "note": hostile})
	e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/posts/%d/flags", th.Posts[0].ID),
		json: string(body), bearer: tok["bob"]})
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/flags", bearer: tok["mod"]})
	if q := decodeAs[struct {
		Flags []apiFlag `json:"flags"`
	}](t, w); len(q.Flags) != 1 || q.Flags[0].Note != hostile || strings.ContainsAny(w.Body.String(), "<>") {
		t.Errorf("flag note: %s", w.Body.String())
	}
	body, _ = json.Marshal(map[string]string{"reason": hostile})
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/lock", th.ID), json: string(body), bearer: tok["mod"]})
	if got := decodeAs[apiThread](t, w); got.LockReason != hostile || !got.Locked {
		t.Errorf("lock reason: %s", w.Body.String())
	}
	if got := auditLog(e, tok["mod"], "action=thread.lock"); len(got) != 1 || got[0].Reason != hostile {
		t.Errorf("audit of the lock: %+v", got)
	}
}
