package web

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"golang.org/x/net/html"

	"sitrep/models"
	"sitrep/static"
	"sitrep/templates"
)

// TestEveryPageRenders requests each page template through the router; a new
// template without a request here fails the test.
func TestEveryPageRenders(t *testing.T) {
	e := newTestEnv(t)
	boss := e.user("boss", models.RoleAdmin)
	svc := e.service(models.NewService{Name: "Mail <b>", Group: "Comms", Description: "Email & more"})
	alice := e.user("alice", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Calendar <i>broken</i>", "It is _broken_.")
	post := e.posts(th.ID)[0].ID
	if _, err := e.store.EditPost(context.Background(), alice, post, "It is **very** broken."); err != nil {
		t.Fatal(err)
	}
	sam := e.user("sam", models.RoleStaff)
	// A subscriber, so that the incident below is delivered (and, with
	// mail off, lands in the outbox).
	var confirm string
	if _, err := e.store.CreateSubscription(context.Background(), models.NewSubscription{Email: "reader@example.com"},
		func(_ *models.Subscription, token string) models.Mail {
			confirm = token
			return models.Mail{Subject: "Confirm <b>"}
		}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ConfirmSubscription(context.Background(), confirm); err != nil {
		t.Fatal(err)
	}
	next := e.clock.Now().Add(30 * time.Minute)
	e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail <script>down</script>",
		Impact: "major", Status: models.StatusInvestigating, Body: "We are *on it*.", NextUpdateAt: &next,
		Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	e.clock.Advance(time.Hour)
	mia := e.user("mia", models.RoleModerator)
	if _, err := e.store.FlagPost(context.Background(), sam, post, "other", "Looks <b>odd</b>"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.CreateReply(context.Background(), sam, th.ID, models.NewPost{Body: "Looking into <this>."}); err != nil {
		t.Fatal(err)
	}
	e.runJobs()
	pages := map[string]struct {
		r      req
		status int
		want   string
	}{
		"home":             {req{method: http.MethodGet, path: "/"}, http.StatusOK, "Major System Outage"},
		"record":           {req{method: http.MethodGet, path: "/record"}, http.StatusOK, "Mail &lt;script&gt;down&lt;/script&gt;</a>"},
		"signup":           {req{method: http.MethodGet, path: "/signup"}, http.StatusOK, "<h1>Create an account</h1>"},
		"login":            {req{method: http.MethodGet, path: "/login?next=/account"}, http.StatusOK, `name="next" value="/account"`},
		"account":          {req{method: http.MethodGet, path: "/account", cookie: e.session(boss)}, http.StatusOK, "<h1>Your account</h1>"},
		"admin_users":      {req{method: http.MethodGet, path: "/admin/users", cookie: e.session(boss)}, http.StatusOK, "boss@example.com"},
		"error":            {req{method: http.MethodGet, path: "/no/such/page"}, http.StatusNotFound, "Page not found"},
		"thread_list":      {req{method: http.MethodGet, path: "/threads"}, http.StatusOK, "Calendar &lt;i&gt;broken&lt;/i&gt;"},
		"thread_new":       {req{method: http.MethodGet, path: "/threads/new", cookie: e.session(alice)}, http.StatusOK, `name="submit_key"`},
		"thread_show":      {req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", th.ID)}, http.StatusOK, "<strong>very</strong>"},
		"post_edit":        {req{method: http.MethodGet, path: fmt.Sprintf("/posts/%d/edit", post), cookie: e.session(alice)}, http.StatusOK, "It is **very** broken."},
		"post_revisions":   {req{method: http.MethodGet, path: fmt.Sprintf("/posts/%d/revisions", post)}, http.StatusOK, "<em>broken</em>"},
		"search":           {req{method: http.MethodGet, path: "/search?q=broken"}, http.StatusOK, "<mark>broken</mark>"},
		"incident_new":     {req{method: http.MethodGet, path: "/incidents/new", cookie: e.session(sam)}, http.StatusOK, "Declare incident"},
		"incident_list":    {req{method: http.MethodGet, path: "/incidents"}, http.StatusOK, "Mail &lt;script&gt;down&lt;/script&gt;"},
		"incident_overdue": {req{method: http.MethodGet, path: "/incidents/overdue", cookie: e.session(sam)}, http.StatusOK, "30 min"},
		"report":           {req{method: http.MethodGet, path: "/report?title=mail+down"}, http.StatusOK, "Is it one of these?"},
		"mod_flags":        {req{method: http.MethodGet, path: "/mod/flags", cookie: e.session(mia)}, http.StatusOK, "Looks &lt;b&gt;odd&lt;/b&gt;"},
		"mod_user":         {req{method: http.MethodGet, path: fmt.Sprintf("/mod/users/%d", alice.ID), cookie: e.session(mia)}, http.StatusOK, "Record sanction"},
		"mod_audit":        {req{method: http.MethodGet, path: "/mod/audit", cookie: e.session(mia)}, http.StatusOK, "incident.declare"},
		"mod_pick_thread":  {req{method: http.MethodGet, path: fmt.Sprintf("/mod/threads/%d/merge", th.ID), cookie: e.session(mia)}, http.StatusOK, "Merge “Calendar &lt;i&gt;broken&lt;/i&gt;”"},
		"admin_services":   {req{method: http.MethodGet, path: "/admin/services", cookie: e.session(boss)}, http.StatusOK, "Email &amp; more"},
		"notifications":    {req{method: http.MethodGet, path: "/notifications", cookie: e.session(alice)}, http.StatusOK, "sam replied in “Calendar &lt;i&gt;broken&lt;/i&gt;”"},
		"user_show":        {req{method: http.MethodGet, path: "/users/ALICE"}, http.StatusOK, "Calendar &lt;i&gt;broken&lt;/i&gt;"},
		"subscribe":        {req{method: http.MethodGet, path: "/subscribe?incident=1"}, http.StatusOK, "Only the updates of incident 1: Mail &lt;script&gt;down&lt;/script&gt;"},
		"token_action":     {req{method: http.MethodGet, path: "/subscriptions/unsubscribe?token=nothing"}, http.StatusNotFound, "Nothing to unsubscribe"},
		"admin_subscriptions": {req{method: http.MethodGet, path: "/admin/subscriptions", cookie: e.session(boss)}, http.StatusOK,
			"incident.created</td><td>1</td><td>none</td>"},
		"admin_outbox": {req{method: http.MethodGet, path: "/admin/outbox", cookie: e.session(boss)}, http.StatusOK, "Confirm &lt;b&gt;"},
	}
	for _, name := range pageNames {
		p, ok := pages[name]
		if !ok {
			t.Errorf("page template %s is rendered by no test", name)
			continue
		}
		w := e.do(p.r)
		wantStatus(t, w, p.status)
		body := w.Body.String()
		if !strings.Contains(body, p.want) || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
			t.Errorf("%s: %q missing or page incomplete", name, p.want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: content type %q", name, ct)
		}
		checkAccessible(t, name, body)
	}
	// The pages with the most forms, as those who get them see them.
	resolved := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "API slow",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
	if _, err := e.store.PostUpdate(context.Background(), sam, resolved.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetPostmortem(context.Background(), sam, resolved.ID, "A disk filled up."); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{method: http.MethodGet, path: fmt.Sprintf("/incidents/%d", resolved.ID), cookie: e.session(sam)},
		{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", th.ID), cookie: e.session(mia)},
		{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", th.ID), cookie: e.session(sam)},
		{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", th.ID), cookie: e.session(e.user("carol", models.RoleCustomer))},
		{method: http.MethodGet, path: "/incidents/1", cookie: e.session(sam)},
		{method: http.MethodGet, path: "/incidents/1", cookie: e.session(mia)},
		{method: http.MethodGet, path: "/incidents/new?kind=maintenance", cookie: e.session(sam)},
		{method: http.MethodGet, path: "/threads", cookie: e.session(alice)},
		{method: http.MethodGet, path: "/report?title=mail", cookie: e.session(alice)},
	} {
		w := e.do(r)
		wantStatus(t, w, http.StatusOK)
		checkAccessible(t, r.path, w.Body.String())
	}
}

// checkAccessible fails on what breaks a page for assistive technology and
// for the browser: an id used twice, or a form control without a label.
func checkAccessible(t *testing.T, name, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	ids, labelled := map[string]int{}, map[string]bool{}
	var controls []*html.Node
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			if id := attrOf(n, "id"); id != "" {
				ids[id]++
			}
			switch n.Data {
			case "label":
				labelled[attrOf(n, "for")] = true
				inLabel = true
			case "input", "select", "textarea":
				if typ := attrOf(n, "type"); typ != "hidden" && typ != "submit" && !inLabel && attrOf(n, "aria-label") == "" {
					controls = append(controls, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: id %q is used %d times", name, id, n)
		}
	}
	for _, c := range controls {
		if id := attrOf(c, "id"); id == "" || !labelled[id] {
			t.Errorf("%s: a form control has no label: %s", name, render(c))
		}
	}
}

func TestEmbeddedFiles(t *testing.T) {
	for _, name := range []string{"css/site.css", "js/site.js", "img/favicon.svg"} {
		if b, err := fs.ReadFile(static.FS, name); err != nil || len(b) < 50 {
			t.Errorf("static %s: %d bytes, %v", name, len(b), err)
		}
	}
	for _, name := range append([]string{"layout.html", "partials/widgets.html"}, pageNamesAsFiles()...) {
		if b, err := fs.ReadFile(templates.FS, name); err != nil || len(b) == 0 {
			t.Errorf("template %s: %v", name, err)
		}
	}
}

func pageNamesAsFiles() []string {
	var out []string
	for _, n := range pageNames {
		out = append(out, "pages/"+n+".html")
	}
	return out
}

func TestStaticAssetsCacheBusting(t *testing.T) {
	e := newTestEnv(t)
	u, err := e.app.assets.url("css/site.css")
	if err != nil {
		t.Fatal(err)
	}
	w := e.do(req{method: http.MethodGet, path: u})
	wantStatus(t, w, http.StatusOK)
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned asset Cache-Control %q", cc)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("css served as %q", ct)
	}
	w = e.do(req{method: http.MethodGet, path: u, header: map[string]string{"If-None-Match": w.Header().Get("ETag")}})
	wantStatus(t, w, http.StatusNotModified)
	if w := e.do(req{method: http.MethodGet, path: "/static/css/site.css?v=old"}); w.Header().Get("Cache-Control") == "public, max-age=31536000, immutable" {
		t.Error("a stale version is cached forever")
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/static/nope.css"}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/static/../go.mod"}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/favicon.ico"}), http.StatusMovedPermanently)
	if _, err := e.app.assets.url("css/missing.css"); err == nil {
		t.Error("a missing asset got a URL")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t)
	cookie := e.session(e.user("alice", models.RoleCustomer))
	for _, r := range []req{
		{method: http.MethodGet, path: "/"},
		{method: http.MethodGet, path: "/account", cookie: cookie},
		{method: http.MethodGet, path: "/missing"},
		{method: http.MethodGet, path: "/api/v1/me"},
	} {
		w := e.do(r)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", r.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Request-ID") == "" {
			t.Errorf("%s: headers %v", r.path, h)
		}
		if body := w.Body.String(); strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, "style=") {
			t.Errorf("%s: inline script or style in the page", r.path)
		}
	}
	// Answers that read cookies never allow other origins to read them.
	for _, path := range []string{"/api/v1/me", "/api/v1/threads", "/account", "/"} {
		if h := e.do(req{method: http.MethodGet, path: path, cookie: cookie, header: map[string]string{"Origin": "https://evil.example"}}).Header(); h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: CORS headers %v", path, h)
		}
	}
	// Personal pages, errors (even a visitor's, which may echo the input)
	// and answers that set a cookie are never cached.
	for _, r := range []req{{method: http.MethodGet, path: "/account", cookie: cookie}, {method: http.MethodGet, path: "/missing"}, {method: http.MethodGet, path: "/api/v1/me"},
		{method: http.MethodPost, path: "/login", form: url.Values{"login": {"nobody"}, "password": {"wrong password"}}},
		{method: http.MethodPost, path: "/signup", form: url.Values{"name": {"a"}, "email": {"b"}, "password": {"c"}, "password_confirm": {"c"}}},
		{method: http.MethodPost, path: "/login", form: url.Values{"login": {"alice"}, "password": {testPassword}}},
	} {
		if cc := e.do(r).Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", r.path, cc)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	e := newTestEnv(t)
	r := e.handler.(*gin.Engine)
	r.GET("/test-panic", func(c *gin.Context) { panic("secret detail 42") })
	w := e.do(req{method: http.MethodGet, path: "/test-panic"})
	wantStatus(t, w, http.StatusInternalServerError)
	body := w.Body.String()
	if strings.Contains(body, "secret detail") || !strings.Contains(body, w.Header().Get("X-Request-ID")) {
		t.Errorf("500 page leaks the error or lacks the request id: %s", body)
	}

	wantStatus(t, e.do(req{method: http.MethodDelete, path: "/login"}), http.StatusMethodNotAllowed)
	// A page's form route refuses JSON rather than read it as an empty form.
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/login", json: `{"login":"alice","password":"x"}`}), http.StatusUnsupportedMediaType)
	w = e.do(req{method: http.MethodGet, path: "/api/v1/nothing"})
	wantStatus(t, w, http.StatusNotFound)
	wantJSONError(t, w, "not_found")

	// A database that does not answer is a 503 (try again soon) with a
	// request id, never the driver's text.
	e.store.Close()
	w = e.do(req{method: http.MethodGet, path: "/"})
	wantStatus(t, w, http.StatusServiceUnavailable)
	if strings.Contains(w.Body.String(), "sql:") || !strings.Contains(w.Body.String(), "Request id") {
		t.Errorf("500 body: %s", w.Body.String())
	}
}

func TestBodyLimit(t *testing.T) {
	e := newTestEnv(t)
	big := strings.Repeat("x", 2<<20)
	// Declared length over the limit.
	w := e.do(req{method: http.MethodPost, path: "/signup", form: url.Values{"name": {big}}})
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	// Undeclared length (chunked): refused while reading, not silently empty.
	w = e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {big}}, chunked: true})
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	// And in JSON.
	cookie := e.session(e.user("alice", models.RoleCustomer))
	w = e.do(req{method: http.MethodPatch, path: "/api/v1/me", cookie: cookie, json: `{"email":"` + big + `"}`})
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	wantJSONError(t, w, "too_large")
}

func TestFlashIsSignedAndShownOnce(t *testing.T) {
	e := newTestEnv(t)
	w := e.do(req{method: http.MethodPost, path: "/logout"})
	c := findCookie(w, flashCookie)
	if c == nil {
		t.Fatal("no flash cookie")
	}
	w = e.do(req{method: http.MethodGet, path: "/", cookie: c})
	if !strings.Contains(w.Body.String(), "You are logged out.") {
		t.Fatal("flash not shown")
	}
	if cleared := findCookie(w, flashCookie); cleared == nil || cleared.MaxAge >= 0 {
		t.Error("flash not cleared after showing")
	}
	forged := &http.Cookie{Name: flashCookie, Value: "c3VjY2VzcwpZb3Ugd29uIQ.AAAA"}
	if strings.Contains(e.do(req{method: http.MethodGet, path: "/", cookie: forged}).Body.String(), "You won") {
		t.Error("forged flash shown")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newTestEnv(t)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/healthz"}), http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/readyz"}), http.StatusOK)
	e.app.ready.Store(false)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/readyz"}), http.StatusServiceUnavailable)
	e.app.ready.Store(true)
	e.store.Close()
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/readyz"}), http.StatusServiceUnavailable)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/healthz"}), http.StatusOK)
}

// TestHeadPreflightAndFeedCaching: monitors probe with HEAD; widgets send a
// CORS preflight to /api/v2; feed readers revalidate with ETags.
func TestHeadPreflightAndFeedCaching(t *testing.T) {
	e := newTestEnv(t)
	for _, path := range []string{"/healthz", "/readyz", "/", "/api/v2/status.json", "/history.atom"} {
		w := e.do(req{method: http.MethodHead, path: path})
		if w.Code != http.StatusOK {
			t.Errorf("HEAD %s: %d", path, w.Code)
		}
	}
	w := e.do(req{method: http.MethodOptions, path: "/api/v2/summary.json", header: map[string]string{
		"Origin": "https://widget.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"}})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	// A mistyped /api/v2 address is a 404 that a widget can read, not a 405.
	for _, path := range []string{"/api/v2/", "/api/v2/summary", "/api/v2/incidents/5.json"} {
		w := e.do(req{method: http.MethodGet, path: path})
		if w.Code != http.StatusNotFound || w.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: %d, CORS %q; want 404 readable from any origin", path, w.Code, w.Header().Get("Access-Control-Allow-Origin"))
		}
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		w := e.do(req{method: http.MethodGet, path: path})
		etag := w.Header().Get("ETag")
		if w.Code != http.StatusOK || etag == "" || w.Header().Get("Cache-Control") != "public, max-age=60" {
			t.Fatalf("%s: %d %v", path, w.Code, w.Header())
		}
		if w := e.do(req{method: http.MethodGet, path: path, header: map[string]string{"If-None-Match": etag}}); w.Code != http.StatusNotModified {
			t.Errorf("%s revalidated: %d, want 304", path, w.Code)
		}
	}
}

// TestSiteName: the configured name is on pages, in feeds and in the
// Statuspage page object.
func TestSiteName(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.SiteName = "Example <Status>" })
	for path, want := range map[string]string{
		"/":                   "<title>Service status · Example &lt;Status&gt;</title>",
		"/history.atom":       "<title>Example &lt;Status&gt; incident history</title>",
		"/api/v2/status.json": `"name":"Example \u003cStatus\u003e"`,
	} {
		w := e.do(req{method: http.MethodGet, path: path})
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s lacks %s: %.300s", path, want, w.Body.String())
		}
	}
}
