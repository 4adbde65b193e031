package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// apiModDecode decodes a JSON answer.
func apiModDecode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v: %.400s", err, w.Body.String())
	}
	return v
}

// apiModEnv is a forum with a moderator, an admin and customers old enough
// to post at the normal pace, each with an API token.
type apiModEnv struct {
	*testEnv
	users  map[string]*models.User
	tokens map[string]string
}

func newAPIModEnv(t *testing.T, customers ...string) *apiModEnv {
	e := &apiModEnv{testEnv: newTestEnv(t), users: map[string]*models.User{}, tokens: map[string]string{}}
	add := func(name string, role models.Role) {
		e.users[name] = e.user(name, role)
		e.tokens[name] = e.token(e.users[name])
	}
	add("mod", models.RoleModerator)
	add("boss", models.RoleAdmin)
	for _, name := range customers {
		add(name, models.RoleCustomer)
	}
	e.clock.Advance(48 * time.Hour)
	return e
}

// call sends a JSON request (an empty body for GET) with who's token.
func (e *apiModEnv) call(who, method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := req{method: method, path: path, json: body}
	if who != "" {
		r.bearer = e.tokens[who]
	}
	return e.do(r)
}

// must sends a request and fails unless it answers want.
func (e *apiModEnv) must(want int, who, method, path, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.call(who, method, path, body)
	wantStatus(e.t, w, want)
	return w
}

// thread starts a thread as who and returns it with its first post.
func (e *apiModEnv) thread(who, title, body string) apiThread {
	e.t.Helper()
	th := apiModDecode[apiThread](e.t, e.must(http.StatusCreated, who, http.MethodPost, "/api/v1/threads",
		fmt.Sprintf(`{"title":%q,"body":%q}`, title, body)))
	e.clock.Advance(time.Minute)
	return th
}

// reply posts a reply as who.
func (e *apiModEnv) reply(who string, threadID int64, body string) apiPost {
	e.t.Helper()
	p := apiModDecode[apiPost](e.t, e.must(http.StatusCreated, who, http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/posts", threadID),
		fmt.Sprintf(`{"body":%q}`, body)))
	e.clock.Advance(time.Minute)
	return p
}

// audit lists the whole audit log (newest first) as the moderator sees it.
func (e *apiModEnv) audit(query string) []apiAuditEntry {
	e.t.Helper()
	var out []apiAuditEntry
	for page := 1; ; page++ {
		w := e.must(http.StatusOK, "mod", http.MethodGet, fmt.Sprintf("/api/v1/audit?per_page=100&page=%d&%s", page, query), "")
		got := apiModDecode[struct {
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

// postIDs lists the ids of a thread's posts as who reads them.
func (e *apiModEnv) postIDs(who string, threadID int64) map[int64]apiPost {
	e.t.Helper()
	th := apiModDecode[apiThread](e.t, e.must(http.StatusOK, who, http.MethodGet, fmt.Sprintf("/api/v1/threads/%d", threadID), ""))
	out := map[int64]apiPost{}
	for _, p := range th.Posts {
		out[p.ID] = p
	}
	return out
}

func wantErrorMessage(t *testing.T, w *httptest.ResponseRecorder, status int, code, message string) {
	t.Helper()
	wantStatus(t, w, status)
	assertJSONError(t, w, code)
	got := apiModDecode[struct {
		Error struct{ Message string } `json:"error"`
	}](t, w)
	if !strings.Contains(got.Error.Message, message) {
		t.Errorf("message %q does not say %q", got.Error.Message, message)
	}
}

// TestModerationAPISanctionHierarchy: nobody sanctions an equal or higher
// role, nor themselves; refusals say why and leave nothing in the log.
func TestModerationAPISanctionHierarchy(t *testing.T) {
	e := newAPIModEnv(t, "carol")
	for _, extra := range []struct {
		name string
		role models.Role
	}{{"mod2", models.RoleModerator}, {"boss2", models.RoleAdmin}} {
		e.users[extra.name] = e.user(extra.name, extra.role)
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
		w := e.call(c.who, http.MethodPost, fmt.Sprintf("/api/v1/users/%d/%s", e.users[c.target].ID, c.tool), body)
		wantErrorMessage(t, w, http.StatusForbidden, "forbidden", c.message)
	}
	if got := e.audit(""); len(got) != 0 {
		t.Fatalf("refused sanctions were logged: %+v", got)
	}

	// Down the ladder it works: the answer is the sanction.
	w := e.must(http.StatusCreated, "mod", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/silence", e.users["carol"].ID), body)
	x := apiModDecode[apiSanction](t, w)
	if x.ID == 0 || x.UserID != e.users["carol"].ID || x.Kind != models.SanctionSilence || x.Reason != "Rude replies" ||
		x.CreatedBy != "mod" || x.EndsAt == nil || x.EndsAt.Format(time.RFC3339) != until || !x.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("sanction: %s", w.Body.String())
	}
	if !strings.Contains(w.Body.String(), `"ends_at":"`+until+`"`) {
		t.Errorf("ends_at is not RFC 3339 UTC: %s", w.Body.String())
	}
	w = e.must(http.StatusCreated, "boss", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/warn", e.users["mod2"].ID),
		`{"reason":"Too quick on the hide button","until":"2030-01-01T00:00:00Z","kind":"suspension","user_id":1}`)
	if x := apiModDecode[apiSanction](t, w); x.Kind != models.SanctionWarning || x.EndsAt != nil || x.UserID != e.users["mod2"].ID {
		t.Fatalf("a warning took fields from the body: %s", w.Body.String())
	}
	w = e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/lift", e.users["carol"].ID), `{"reason":"Apologised"}`)
	if strings.TrimSpace(w.Body.String()) != `{"lifted":true}` {
		t.Fatalf("lift: %s", w.Body.String())
	}
	wantErrorMessage(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/lift", e.users["carol"].ID), `{"reason":"Again"}`),
		http.StatusConflict, "conflict", "neither silenced nor suspended")
	wantStatus(t, e.call("mod", http.MethodPost, "/api/v1/users/999/warn", `{"reason":"Who?"}`), http.StatusNotFound)
}

// TestModerationAPISuspendedAndSilenced: a suspended user's token stops
// working at once; a silenced user reads and says "affected" but cannot post.
func TestModerationAPISuspendedAndSilenced(t *testing.T) {
	e := newAPIModEnv(t, "carol", "dave")
	th := e.thread("carol", "Mail is down for me", "Since 9:00.")
	until := e.clock.Now().Add(time.Hour)
	sanction := func(tool, who, reason string) {
		e.must(http.StatusCreated, "mod", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/%s", e.users[who].ID, tool),
			fmt.Sprintf(`{"reason":%q,"until":%q}`, reason, until.Format(time.RFC3339)))
	}

	cookie := e.session(e.users["dave"])
	e.must(http.StatusOK, "dave", http.MethodGet, "/api/v1/me", "")
	sanction("suspend", "dave", "Spam links")
	wantErrorMessage(t, e.call("dave", http.MethodGet, "/api/v1/me", ""), http.StatusForbidden, "suspended", "Spam links")
	wantErrorMessage(t, e.do(req{method: http.MethodGet, path: "/api/v1/me", cookie: cookie}), http.StatusForbidden, "suspended", "Spam links")
	wantStatus(t, e.call("dave", http.MethodPut, fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), ""), http.StatusForbidden)

	sanction("silence", "carol", "Shouting")
	posts := fmt.Sprintf("/api/v1/threads/%d/posts", th.ID)
	wantErrorMessage(t, e.call("carol", http.MethodPost, posts, `{"body":"STILL DOWN"}`), http.StatusForbidden, "silenced", "Shouting")
	wantErrorMessage(t, e.call("carol", http.MethodPost, "/api/v1/threads", `{"title":"Nobody answers","body":"Hello?"}`),
		http.StatusForbidden, "silenced", "Shouting")
	e.must(http.StatusOK, "carol", http.MethodGet, fmt.Sprintf("/api/v1/threads/%d", th.ID), "")
	e.must(http.StatusOK, "carol", http.MethodGet, "/api/v1/me", "")
	e.must(http.StatusOK, "carol", http.MethodDelete, fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), "")
	w := e.must(http.StatusOK, "carol", http.MethodPut, fmt.Sprintf("/api/v1/threads/%d/affected", th.ID), "")
	if !strings.Contains(w.Body.String(), `"affected":true`) {
		t.Fatalf("affected: %s", w.Body.String())
	}

	// Lifting lets carol post again.
	e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/users/%d/lift", e.users["carol"].ID), `{"reason":"Calmer now"}`)
	e.reply("carol", th.ID, "Thanks, it works again.")
}

// TestModerationAPIHiddenPostVisibility: a hidden post is gone from the
// thread JSON, revisions, search and the feed for other customers and
// visitors, and stays readable for its author and moderators.
func TestModerationAPIHiddenPostVisibility(t *testing.T) {
	e := newAPIModEnv(t, "alice", "bob")
	th := e.thread("alice", "Mail is down for me", "Since 9:00.")
	p := e.reply("alice", th.ID, "Try the zanzibarquux workaround.")
	e.must(http.StatusOK, "alice", http.MethodPatch, fmt.Sprintf("/api/v1/posts/%d", p.ID), `{"body":"Try the zanzibarquux workaround, it helps."}`)
	searchHits := func(who string) int {
		t.Helper()
		got := apiModDecode[struct {
			Results []searchHit `json:"results"`
		}](t, e.must(http.StatusOK, who, http.MethodGet, "/api/v1/search?q=zanzibarquux", ""))
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
		return e.must(http.StatusOK, "", http.MethodGet, fmt.Sprintf("/threads/%d/feed.atom", th.ID), "").Body.String()
	}
	revisions := fmt.Sprintf("/api/v1/posts/%d/revisions", p.ID)
	// Before: everyone sees it everywhere.
	if _, ok := e.postIDs("bob", th.ID)[p.ID]; !ok || searchHits("bob") != 1 || !strings.Contains(feed(), "zanzibarquux") {
		t.Fatal("the post is not visible before it is hidden")
	}
	e.must(http.StatusOK, "bob", http.MethodGet, revisions, "")

	w := e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/hide", p.ID), `{"reason":"Unsafe advice"}`)
	if got := apiModDecode[apiPost](t, w); got.ID != p.ID || !got.Hidden || got.Author != "alice" {
		t.Fatalf("hide answer: %s", w.Body.String())
	}
	for _, who := range []string{"bob", ""} {
		if _, ok := e.postIDs(who, th.ID)[p.ID]; ok {
			t.Errorf("%q reads the hidden post in the thread JSON", who)
		}
		wantStatus(t, e.call(who, http.MethodGet, revisions, ""), http.StatusNotFound)
		if n := searchHits(who); n != 0 {
			t.Errorf("%q finds the hidden post by search", who)
		}
	}
	if strings.Contains(feed(), "zanzibarquux") {
		t.Error("the thread feed carries the hidden post")
	}
	for _, who := range []string{"mod", "boss", "alice"} {
		got, ok := e.postIDs(who, th.ID)[p.ID]
		if !ok || !got.Hidden || !strings.Contains(got.Body, "zanzibarquux") {
			t.Errorf("%s cannot read the hidden post: %+v", who, got)
		}
		e.must(http.StatusOK, who, http.MethodGet, revisions, "")
	}
	// Hiding twice is a conflict; unhiding brings it back for everyone.
	wantErrorMessage(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/hide", p.ID), `{"reason":"Again"}`),
		http.StatusConflict, "conflict", "hidden already")
	w = e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/unhide", p.ID), `{"reason":"Checked, it is fine"}`)
	if apiModDecode[apiPost](t, w).Hidden {
		t.Fatalf("unhide answer: %s", w.Body.String())
	}
	if _, ok := e.postIDs("bob", th.ID)[p.ID]; !ok || searchHits("bob") != 1 {
		t.Error("the restored post is still hidden")
	}
}

// TestModerationAPIMerge: merging carries posts and affected marks over,
// counting a person affected on both threads once, and the old address
// redirects.
func TestModerationAPIMerge(t *testing.T) {
	e := newAPIModEnv(t, "alice", "bob", "carol", "dave", "erin")
	a := e.thread("alice", "Mail is down", "Since 9:00.")
	b := e.thread("bob", "Cannot send mail", "Since 9:05.")
	for who, ids := range map[string][]int64{"carol": {a.ID, b.ID}, "dave": {b.ID}, "erin": {a.ID}} {
		for _, id := range ids {
			e.must(http.StatusOK, who, http.MethodPut, fmt.Sprintf("/api/v1/threads/%d/affected", id), "")
		}
	}
	w := e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/merge", a.ID),
		fmt.Sprintf(`{"into_id":%d,"reason":"Same outage"}`, b.ID))
	into := apiModDecode[apiThread](t, w)
	// alice, bob, carol (on both), dave, erin.
	if into.ID != b.ID || into.AffectedCount != 5 || into.PostCount != 2 {
		t.Fatalf("merge answer: %s", w.Body.String())
	}
	shown := apiModDecode[apiThread](t, e.must(http.StatusOK, "", http.MethodGet, fmt.Sprintf("/api/v1/threads/%d", b.ID), ""))
	if shown.AffectedCount != 5 || len(shown.Posts) != 2 || shown.Posts[0].ID != a.Posts[0].ID || shown.Posts[1].ID != b.Posts[0].ID {
		t.Fatalf("merged thread: %+v", shown)
	}
	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", a.ID)})
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != fmt.Sprintf("/threads/%d", b.ID) {
		t.Errorf("old thread page: %d to %q, want 301 to /threads/%d", w.Code, w.Header().Get("Location"), b.ID)
	}
	wantStatus(t, e.call("carol", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/posts", a.ID), `{"body":"Here?"}`), http.StatusConflict)
	wantErrorMessage(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/merge", a.ID), fmt.Sprintf(`{"into_id":%d}`, b.ID)),
		http.StatusConflict, "conflict", "merged already")
	wantStatus(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/merge", b.ID), fmt.Sprintf(`{"into_id":%d}`, b.ID)),
		http.StatusUnprocessableEntity)
	wantStatus(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/merge", b.ID), `{"into_id":999}`),
		http.StatusUnprocessableEntity)
}

// TestModerationAPIFlags: one flag per person, the queue, auto-hide after
// three distinct people, and resolution.
func TestModerationAPIFlags(t *testing.T) {
	e := newAPIModEnv(t, "alice", "bob", "carol", "dave", "erin")
	th := e.thread("alice", "Buy cheap watches", "Visit my shop.")
	p := th.Posts[0]
	flags := fmt.Sprintf("/api/v1/posts/%d/flags", p.ID)
	wantErrorMessage(t, e.call("alice", http.MethodPost, flags, `{"reason":"spam"}`), http.StatusUnprocessableEntity, "invalid", "your own post")
	wantStatus(t, e.call("", http.MethodPost, flags, `{"reason":"spam"}`), http.StatusUnauthorized)

	w := e.must(http.StatusCreated, "bob", http.MethodPost, flags, `{"reason":"spam","state":"dismissed","user_id":1}`)
	f := apiModDecode[apiFlag](t, w)
	if f.ID == 0 || f.PostID != p.ID || f.ThreadID != th.ID || f.Reason != "spam" || f.User != "bob" || !f.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("flag: %s", w.Body.String())
	}
	wantErrorMessage(t, e.call("bob", http.MethodPost, flags, `{"reason":"abuse"}`), http.StatusConflict, "conflict", "flagged this post already")
	wantStatus(t, e.call("carol", http.MethodPost, flags, `{"reason":"rude"}`), http.StatusUnprocessableEntity)
	wantStatus(t, e.call("carol", http.MethodPost, flags, `{"reason":"other"}`), http.StatusUnprocessableEntity)
	e.must(http.StatusCreated, "carol", http.MethodPost, flags, `{"reason":"other","note":"Same shop in every thread"}`)

	type queue struct {
		Flags   []apiFlag `json:"flags"`
		Page    int       `json:"page"`
		HasNext bool      `json:"has_next"`
	}
	q := apiModDecode[queue](t, e.must(http.StatusOK, "mod", http.MethodGet, "/api/v1/flags", ""))
	if len(q.Flags) != 2 || q.Page != 1 || q.HasNext || q.Flags[0].User != "bob" || q.Flags[1].User != "carol" ||
		q.Flags[1].Note != "Same shop in every thread" || q.Flags[1].ThreadID != th.ID || q.Flags[1].PostID != p.ID {
		t.Fatalf("queue: %+v", q)
	}
	// Two flags, one of them repeated: the post is still up.
	if _, ok := e.postIDs("erin", th.ID)[p.ID]; !ok {
		t.Fatal("the post was hidden before three people flagged it")
	}
	w = e.must(http.StatusCreated, "dave", http.MethodPost, flags, `{"reason":"spam"}`)
	if _, ok := e.postIDs("erin", th.ID)[p.ID]; ok {
		t.Fatal("the post is still up after three people flagged it")
	}
	if got, ok := e.postIDs("mod", th.ID)[p.ID]; !ok || !got.Hidden {
		t.Fatal("moderators cannot see the post hidden by flags")
	}
	wantStatus(t, e.call("erin", http.MethodPost, flags, `{"reason":"spam"}`), http.StatusNotFound)
	log := e.audit("action=post.auto_hide")
	if len(log) != 1 || log[0].Actor != nil || log[0].TargetType != "post" || log[0].TargetID != p.ID ||
		log[0].RequestID != w.Header().Get("X-Request-Id") || log[0].RequestID == "" {
		t.Fatalf("auto-hide entry: %+v (request %s)", log, w.Header().Get("X-Request-Id"))
	}
	if raw := e.must(http.StatusOK, "mod", http.MethodGet, "/api/v1/audit?action=post.auto_hide", "").Body.String(); !strings.Contains(raw, `"actor":null`) {
		t.Errorf("the system is not shown as a null actor: %s", raw)
	}

	// Dismissing restores a post that flags alone hid, and empties the queue.
	w = e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID), `{"action":"dismiss","note":"It is a real shop"}`)
	if got := apiModDecode[apiPost](t, w); got.ID != p.ID || got.Hidden {
		t.Fatalf("dismiss answer: %s", w.Body.String())
	}
	if q := apiModDecode[queue](t, e.must(http.StatusOK, "mod", http.MethodGet, "/api/v1/flags", "")); len(q.Flags) != 0 {
		t.Fatalf("queue after dismiss: %+v", q)
	}
	if _, ok := e.postIDs("erin", th.ID)[p.ID]; !ok {
		t.Fatal("dismissing did not restore the post")
	}
	wantErrorMessage(t, e.call("mod", http.MethodPost, fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID), `{"action":"dismiss"}`),
		http.StatusConflict, "conflict", "handled already")

	// A new flag, resolved by hiding: a reason is required.
	w = e.must(http.StatusCreated, "erin", http.MethodPost, flags, `{"reason":"spam"}`)
	f = apiModDecode[apiFlag](t, w)
	resolve := fmt.Sprintf("/api/v1/flags/%d/resolve", f.ID)
	wantStatus(t, e.call("mod", http.MethodPost, resolve, `{"action":"hide"}`), http.StatusUnprocessableEntity)
	wantStatus(t, e.call("mod", http.MethodPost, resolve, `{"action":"delete","reason":"Spam"}`), http.StatusUnprocessableEntity)
	w = e.must(http.StatusOK, "boss", http.MethodPost, resolve, `{"action":"hide","reason":"Spam"}`)
	if !apiModDecode[apiPost](t, w).Hidden {
		t.Fatalf("hide answer: %s", w.Body.String())
	}
	wantStatus(t, e.call("mod", http.MethodPost, "/api/v1/flags/999/resolve", `{"action":"dismiss"}`), http.StatusNotFound)
	wantStatus(t, e.call("mod", http.MethodGet, "/api/v1/flags?page=abc", ""), http.StatusBadRequest)
}

// TestModerationAPIAuditEntries: every moderation action leaves exactly one
// audit entry naming its actor, target and request; a refused one leaves
// none.
func TestModerationAPIAuditEntries(t *testing.T) {
	e := newAPIModEnv(t, "alice", "bob", "carol", "dave")
	a := e.thread("alice", "Mail is down", "Since 9:00.")
	b := e.thread("bob", "Cannot send mail", "Since 9:05.")
	r := e.reply("alice", a.ID, "Still down.")
	flag := func(who string, postID int64) int64 {
		w := e.must(http.StatusCreated, who, http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), `{"reason":"abuse"}`)
		return apiModDecode[apiFlag](t, w).ID
	}
	dismissFlag, hideFlag := flag("carol", a.Posts[0].ID), flag("dave", b.Posts[0].ID)
	until := fmt.Sprintf("%q", e.clock.Now().Add(time.Hour).Format(time.RFC3339))
	carol := e.users["carol"].ID

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
	before := len(e.audit(""))
	for _, row := range rows {
		w := e.must(row.status, row.who, http.MethodPost, row.path, row.body)
		log := e.audit("")
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
	entries := e.audit("")
	for i := 1; i < len(entries); i++ {
		if entries[i-1].ID <= entries[i].ID {
			t.Fatal("the audit log is not newest first")
		}
	}
	count := func(query string) int { return len(e.audit(query)) }
	if n := count("action=thread.lock"); n != 1 {
		t.Errorf("action filter: %d", n)
	}
	if n := count(fmt.Sprintf("actor_id=%d", e.users["boss"].ID)); n != 4 {
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
		wantStatus(t, e.call("mod", http.MethodGet, "/api/v1/audit?"+bad, ""), http.StatusBadRequest)
	}
	got := apiModDecode[struct {
		Entries []apiAuditEntry `json:"entries"`
		HasNext bool            `json:"has_next"`
	}](t, e.must(http.StatusOK, "mod", http.MethodGet, "/api/v1/audit?per_page=5&page=2", ""))
	if len(got.Entries) != 5 || !got.HasNext || got.Entries[0].ID != entries[5].ID {
		t.Errorf("second page of 5: %+v", got)
	}
}

// TestModerationAPIBadInput: malformed or out-of-range bodies are refused
// with the right status, never a 500, and change nothing.
func TestModerationAPIBadInput(t *testing.T) {
	e := newAPIModEnv(t, "alice")
	th := e.thread("alice", "Mail is down", "Since 9:00.")
	tool := func(name string) string { return fmt.Sprintf("/api/v1/threads/%d/%s", th.ID, name) }
	alice := fmt.Sprintf("/api/v1/users/%d/", e.users["alice"].ID)
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
		w := e.call("mod", http.MethodPost, c.path, c.body)
		if w.Code != c.status {
			t.Errorf("%s %.60s: %d, want %d: %s", c.path, c.body, w.Code, c.status, w.Body.String())
		}
	}
	if n := len(e.audit("")); n != 0 {
		t.Fatalf("refused actions left %d audit entries", n)
	}
	got := apiModDecode[apiThread](t, e.must(http.StatusOK, "", http.MethodGet, fmt.Sprintf("/api/v1/threads/%d", th.ID), ""))
	if got.Locked || got.Pinned || len(got.Posts) != 1 || got.Posts[0].Hidden {
		t.Fatalf("refused actions changed the thread: %+v", got)
	}
	// The slow mode asked for is the one set.
	e.must(http.StatusOK, "mod", http.MethodPost, tool("slow-mode"), `{"seconds":86400}`)
	if th, err := e.store.ThreadByID(context.Background(), th.ID); err != nil || th.SlowModeSeconds != 86400 {
		t.Fatalf("slow mode: %v %+v", err, th)
	}
}

// TestModerationAPIHostileReasons: attack strings given as reasons and notes
// come back in JSON unchanged (and escaped, so no raw markup travels), or
// are refused when they hold control characters.
func TestModerationAPIHostileReasons(t *testing.T) {
	e := newAPIModEnv(t, "alice", "bob")
	target := fmt.Sprintf("/api/v1/users/%d/warn", e.users["alice"].ID)
	var kept []string
	for _, payload := range xssPayloads(t) {
		body, _ := json.Marshal(map[string]string{"reason": payload})
		w := e.call("mod", http.MethodPost, target, string(body))
		if strings.ContainsFunc(payload, func(r rune) bool { return r < ' ' }) {
			wantStatus(t, w, http.StatusUnprocessableEntity)
			continue
		}
		wantStatus(t, w, http.StatusCreated)
		if x := apiModDecode[apiSanction](t, w); x.Reason != payload {
			t.Errorf("reason changed: sent %q, got %q", payload, x.Reason)
		}
		if strings.ContainsAny(w.Body.String(), "<>") {
			t.Errorf("raw markup in JSON: %s", w.Body.String())
		}
		kept = append(kept, payload)
	}
	log := e.audit("action=user.warning")
	if len(log) != len(kept) {
		t.Fatalf("%d entries for %d warnings", len(log), len(kept))
	}
	for i, entry := range log {
		if want := kept[len(kept)-1-i]; entry.Reason != want {
			t.Errorf("audit reason: got %q, want %q", entry.Reason, want)
		}
	}

	// A flag note and a lock reason travel the same way.
	th := e.thread("alice", "Mail is down", "Since 9:00.")
	hostile := `<img src=x onerror="alert(1)"> </script><script>alert(document.cookie)</script> "quoted" & 'single'`
	body, _ := json.Marshal(map[string]string{"reason": "other", "note": hostile})
	e.must(http.StatusCreated, "bob", http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", th.Posts[0].ID), string(body))
	w := e.must(http.StatusOK, "mod", http.MethodGet, "/api/v1/flags", "")
	if q := apiModDecode[struct {
		Flags []apiFlag `json:"flags"`
	}](t, w); len(q.Flags) != 1 || q.Flags[0].Note != hostile || strings.ContainsAny(w.Body.String(), "<>") {
		t.Errorf("flag note: %s", w.Body.String())
	}
	body, _ = json.Marshal(map[string]string{"reason": hostile})
	w = e.must(http.StatusOK, "mod", http.MethodPost, fmt.Sprintf("/api/v1/threads/%d/lock", th.ID), string(body))
	if got := apiModDecode[apiThread](t, w); got.LockReason != hostile || !got.Locked {
		t.Errorf("lock reason: %s", w.Body.String())
	}
	if got := e.audit("action=thread.lock"); len(got) != 1 || got[0].Reason != hostile {
		t.Errorf("audit of the lock: %+v", got)
	}
}
