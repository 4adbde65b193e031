package web

// The helpers every test of the package uses: one environment (testEnv),
// one way to make people and data, one way to send a request, and one way
// each to read an answer; then the page checks and the data sets that
// several files start from. Browser helpers are in browser_test.go; a data
// set only one file uses is in that file.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"sitrep/models"
	"sitrep/server/markup"
	"sitrep/server/notify"
)

func init() { gin.SetMode(gin.TestMode) }

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// testEnv is one app on its own migrated SQLite file, on an injected clock.
type testEnv struct {
	t       testing.TB
	app     *App
	store   *models.Store
	handler http.Handler
	clock   *testClock
	dbPath  string // the SQLite file
}

// testClock is an injectable clock for the app and the store; the
// background work reads it while a test moves it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestEnv is an app with the default test configuration: shedding and
// the micro-cache off.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, func(*Config) {})
}

// newTestEnvConfig is an app whose configuration adjust changes first.
func newTestEnvConfig(t testing.TB, adjust func(*Config)) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	store, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	store.Now = clock.Now
	store.PasswordCost = bcrypt.MinCost
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{MaxBodyBytes: 1 << 20}
	adjust(&cfg)
	a, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.now = clock.Now
	h, err := a.router()
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, app: a, store: store, handler: h, clock: clock, dbPath: path}
}

// People and their credentials.

// user creates an account with testPassword.
func (e *testEnv) user(name string, role models.Role) *models.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), models.NewUser{
		Name: name, Email: name + "@example.com", Password: testPassword, Role: role, AllowReserved: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// session logs u in on the server side and returns the cookie to send.
func (e *testEnv) session(u *models.User) *http.Cookie {
	e.t.Helper()
	secret, err := e.store.CreateSession(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: e.app.sessionCookieName(), Value: secret}
}

// token makes an API token for u and returns the bearer secret.
func (e *testEnv) token(u *models.User) string {
	e.t.Helper()
	_, secret, err := e.store.CreateToken(context.Background(), u.ID, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// Data made through the Store, for what a test starts from.

// thread starts a thread by author.
func (e *testEnv) thread(author *models.User, title, body string) *models.Thread {
	e.t.Helper()
	th, _, err := e.store.CreateThread(context.Background(), author, models.NewThread{Title: title, Body: body})
	if err != nil {
		e.t.Fatalf("thread %q: %v", title, err)
	}
	return th
}

// reply posts a reply by author.
func (e *testEnv) reply(author *models.User, threadID int64, body string) *models.Post {
	e.t.Helper()
	p, _, err := e.store.CreateReply(context.Background(), author, threadID, models.NewPost{Body: body})
	if err != nil {
		e.t.Fatalf("reply to thread %d: %v", threadID, err)
	}
	return p
}

// posts is a thread's posts, oldest first: the first page of
// models.MaxPerPage.
func (e *testEnv) posts(threadID int64) []models.Post {
	e.t.Helper()
	posts, err := e.store.ListPosts(context.Background(), models.PostQuery{ThreadID: threadID}, models.Page{PerPage: models.MaxPerPage})
	if err != nil {
		e.t.Fatal(err)
	}
	return posts.Items
}

// service adds a service to the catalogue.
func (e *testEnv) service(in models.NewService) *models.Service {
	e.t.Helper()
	s, err := e.store.CreateService(context.Background(), nil, in)
	if err != nil {
		e.t.Fatalf("service %q: %v", in.Name, err)
	}
	return s
}

// incident declares an incident or a maintenance window by staff.
func (e *testEnv) incident(staff *models.User, in models.NewIncident) *models.Incident {
	e.t.Helper()
	inc, err := e.store.DeclareIncident(context.Background(), staff, in)
	if err != nil {
		e.t.Fatalf("declare %q: %v", in.Title, err)
	}
	return inc
}

// Requests.

// req describes one request through the router.
type req struct {
	method, path string
	form         url.Values // sent as application/x-www-form-urlencoded
	json         string     // sent as application/json
	chunked      bool       // the body without a declared length
	cookie       *http.Cookie
	bearer       string
	// header is set last; an empty value removes the header (for example
	// the Sec-Fetch-Site that do sends with every request but a GET).
	header map[string]string
}

// do serves r. A request other than a GET carries Sec-Fetch-Site:
// same-origin, as a browser's form post does.
func (e *testEnv) do(r req) *httptest.ResponseRecorder {
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.json != "":
		body = strings.NewReader(r.json)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.chunked {
		hr.ContentLength = -1
	}
	switch {
	case r.form != nil:
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.json != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.method != http.MethodGet {
		hr.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, hr)
	return w
}

// must serves r and fails the test unless it answers want.
func (e *testEnv) must(want int, r req) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(r)
	wantStatus(e.t, w, want)
	return w
}

// landing follows the redirect that w answered, as a browser does with the
// flash message w set, signed in with cookie (nil for a visitor); it must
// answer 200, and landing returns the page.
func (e *testEnv) landing(w *httptest.ResponseRecorder, cookie *http.Cookie) string {
	e.t.Helper()
	wantStatus(e.t, w, http.StatusSeeOther)
	to, _, _ := strings.Cut(w.Header().Get("Location"), "#")
	hr := httptest.NewRequest(http.MethodGet, to, nil)
	for _, c := range []*http.Cookie{cookie, findCookie(w, flashCookie)} {
		if c != nil {
			hr.AddCookie(c)
		}
	}
	page := httptest.NewRecorder()
	e.handler.ServeHTTP(page, hr)
	wantStatus(e.t, page, http.StatusOK)
	return page.Body.String()
}

// page GETs path with cookie (nil for a visitor); it must answer 200, and
// page returns the body.
func (e *testEnv) page(path string, cookie *http.Cookie) string {
	e.t.Helper()
	return e.must(http.StatusOK, req{method: http.MethodGet, path: path, cookie: cookie}).Body.String()
}

// server starts a real HTTP server for multi-step flows and browsers.
func (e *testEnv) server() *httptest.Server {
	e.t.Helper()
	srv := httptest.NewServer(e.handler)
	e.t.Cleanup(func() {
		// Open pages hold live-update streams, which never go idle: end
		// them, as a server shutting down does, or Close waits for them.
		e.app.CloseStreams()
		srv.Close()
	})
	return srv
}

// holdRoute gives e's app a second router with /test/hold added, sharing
// its shedder and cache: a request there takes its slot, says so on entered
// and stays until release closes. busy sends requests through that router.
func holdRoute(e *testEnv) (busy *testEnv, entered, release chan struct{}) {
	e.t.Helper()
	r, err := e.app.router()
	if err != nil {
		e.t.Fatal(err)
	}
	entered, release = make(chan struct{}), make(chan struct{})
	hold := route{method: http.MethodGet, path: "/test/hold", access: public, cache: noCache, shed: sheds, handle: func(c *gin.Context) error {
		entered <- struct{}{}
		<-release
		c.String(http.StatusOK, "done")
		return nil
	}}
	if err := e.app.handle(r, hold); err != nil {
		e.t.Fatal(err)
	}
	busy = &testEnv{t: e.t, app: e.app, store: e.store, handler: r, clock: e.clock}
	return busy, entered, release
}

// Answers.

func wantStatus(t testing.TB, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d; body: %.400s", w.Code, want, w.Body.String())
	}
}

// mustContain fails for each of want that body lacks; where names the page.
func mustContain(t testing.TB, where, body string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("%s: %q missing", where, s)
		}
	}
}

// decodeAs decodes a JSON answer into a T.
func decodeAs[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v: %.400s", err, w.Body.String())
	}
	return v
}

// wantJSONError checks that w is the API's JSON error with code, and that
// its message says each of says.
func wantJSONError(t testing.TB, w *httptest.ResponseRecorder, code string, says ...string) {
	t.Helper()
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(string(body), `"error":{"code":"`+code+`","message":"`) {
		t.Errorf("want JSON error %q, got %s %s", code, res.Header.Get("Content-Type"), body)
	}
	if len(says) == 0 {
		return
	}
	got := decodeAs[struct {
		Error struct{ Message string } `json:"error"`
	}](t, w)
	for _, s := range says {
		if !strings.Contains(got.Error.Message, s) {
			t.Errorf("message %q does not say %q", got.Error.Message, s)
		}
	}
}

// findCookie is the cookie called name that w sets, or nil.
func findCookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// idFrom reads the id out of a path such as a redirect's Location, by a
// format such as "/threads/%d".
func idFrom(t testing.TB, format, path string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(path, format, &id); err != nil {
		t.Fatalf("%q is not %s: %v", path, format, err)
	}
	return id
}

// Pages checked as a browser would parse them.

// xssPayloads reads the repository's corpus of attack strings.
func xssPayloads(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/xss-payloads.txt")
	if err != nil {
		t.Fatalf("the XSS corpus is missing: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkPage parses a whole page as a browser would and fails on anything
// script-capable: a script other than our own file, an on* or style
// attribute, or a URL with a scheme outside http, https and mailto. Post
// bodies must also pass markup.CheckSafe.
func checkPage(t *testing.T, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				if src := attrOf(n, "src"); !strings.HasPrefix(src, "/static/js/") {
					t.Errorf("script element in the page: %s", render(n))
				}
			case "iframe", "object", "embed", "frame", "frameset", "base", "svg", "math", "style":
				t.Errorf("%s element in the page: %.200s", n.Data, render(n))
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "srcdoc" || key == "formaction" {
					t.Errorf("attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
				if key == "href" || key == "src" || key == "action" {
					if u, err := url.Parse(strings.TrimSpace(a.Val)); err != nil || !(u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto") {
						t.Errorf("%s=%q on <%s>", a.Key, a.Val, n.Data)
					}
				}
			}
			if hasClass(n, "post-body") {
				if err := markup.CheckSafe(innerHTML(n)); err != nil {
					t.Errorf("post body unsafe: %v", err)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attrOf(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func render(n *html.Node) string {
	var b bytes.Buffer
	_ = html.Render(&b, n)
	return b.String()
}

func innerHTML(n *html.Node) string {
	var b bytes.Buffer
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		_ = html.Render(&b, c)
	}
	return b.String()
}

// The data sets several files start from.

// actor is who walks a route in the role matrix.
type actor string

const (
	visitor   actor = "visitor"
	owner     actor = "owner"    // the customer who owns the object in the path
	customer  actor = "customer" // another customer
	staff     actor = "staff"
	moderator actor = "moderator"
	admin     actor = "admin"
)

var actors = []actor{visitor, owner, customer, staff, moderator, admin}

// fixture is the data every matrix cell starts from.
type fixture struct {
	users    map[actor]*models.User
	tokenID  int64 // an API token of owner
	threadID int64 // a thread started by owner
	postID   int64 // its first post
	// An open and a resolved incident declared by staff on serviceID.
	serviceID, incidentID, resolvedID int64
	// Moderation: another customer's locked and pinned thread whose first
	// post is hidden; a reply by that customer in owner's thread, newer than
	// it; a flag on owner's post; a silenced user. Staff linked the locked
	// thread to the open incident.
	lockedID, hiddenPostID, replyID, flagID, silencedID int64
	// A thread by customer merged into the locked one.
	mergedID int64
	// An active e-mail subscription and its unsubscribe token, a pending
	// one's confirmation token, and a pending sign-up's token.
	subscriptionID                              int64
	unsubscribeToken, confirmToken, signupToken string
}

func newFixture(e *testEnv) *fixture {
	f := &fixture{users: map[actor]*models.User{}}
	for _, a := range []struct {
		who  actor
		role models.Role
	}{{owner, models.RoleCustomer}, {customer, models.RoleCustomer}, {staff, models.RoleStaff}, {moderator, models.RoleModerator}, {admin, models.RoleAdmin}} {
		f.users[a.who] = e.user(string(a.who)+"-user", a.role)
	}
	tok, _, err := e.store.CreateToken(context.Background(), f.users[owner].ID, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	f.tokenID = tok.ID
	// Accounts are two days old, so the new-account posting interval is
	// past; the clock moves on after the thread so nobody posts too soon.
	e.clock.Advance(48 * time.Hour)
	f.threadID = e.thread(f.users[owner], "Mail is down for me", "Since 9:00.").ID
	f.postID = e.posts(f.threadID)[0].ID
	f.serviceID = e.service(models.NewService{Name: "Mail"}).ID
	for _, id := range []*int64{&f.incidentID, &f.resolvedID} {
		*id = e.incident(f.users[staff], models.NewIncident{Kind: models.KindIncident,
			Title: "Mail delivery delayed", Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
			Services: []models.ServiceChange{{ServiceID: f.serviceID, Status: models.DegradedPerformance}}}).ID
	}
	if _, err := e.store.PostUpdate(context.Background(), f.users[staff], f.resolvedID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		e.t.Fatal(err)
	}
	f.moderationFixture(e)
	if _, err := e.store.LinkThread(context.Background(), f.users[staff], f.lockedID, f.incidentID); err != nil {
		e.t.Fatal(err)
	}
	f.subscriptionFixture(e)
	e.clock.Advance(time.Hour)
	return f
}

// subscriptionFixture makes an active subscription, a pending one and a
// pending sign-up, keeping their tokens.
func (f *fixture) subscriptionFixture(e *testEnv) {
	ctx := context.Background()
	keep := func(into *string) func(*models.Subscription, string) models.Mail {
		return func(_ *models.Subscription, token string) models.Mail {
			*into = token
			return models.Mail{Subject: "Confirm"}
		}
	}
	var active string
	sub, err := e.store.CreateSubscription(ctx, models.NewSubscription{Email: "reader@example.com"}, keep(&active))
	if err == nil {
		_, err = e.store.ConfirmSubscription(ctx, active)
	}
	if err == nil {
		_, err = e.store.CreateSubscription(ctx, models.NewSubscription{Email: "waiting@example.com", ServiceIDs: []int64{f.serviceID}}, keep(&f.confirmToken))
	}
	if err == nil {
		err = e.store.StartSignup(ctx, models.NewUser{Name: "pending-user", Email: "pending@example.com", Password: testPassword}, "", models.SignupMails{
			Confirm: func(token string) models.Mail { f.signupToken = token; return models.Mail{Subject: "Confirm"} },
			Exists:  func(string) models.Mail { return models.Mail{} },
		})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	f.subscriptionID, f.unsubscribeToken = sub.ID, sub.UnsubscribeToken()
}

func (f *fixture) moderationFixture(e *testEnv) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			e.t.Helper()
			e.t.Fatal(err)
		}
	}
	admin, cust := f.users[admin], f.users[customer]
	locked := e.thread(cust, "Calendar invites vanish", "Gone.")
	f.lockedID = locked.ID
	f.hiddenPostID = e.posts(locked.ID)[0].ID
	_, err := e.store.HidePost(ctx, admin, f.hiddenPostID, "off-topic")
	must(err)
	_, err = e.store.SetLocked(ctx, admin, locked.ID, true, "duplicate")
	must(err)
	_, err = e.store.SetPinned(ctx, admin, locked.ID, true, nil, "")
	must(err)
	e.clock.Advance(time.Minute)
	f.replyID = e.reply(cust, f.threadID, "Same here.").ID
	e.clock.Advance(time.Minute)
	merged := e.thread(cust, "Invites gone again", "Still gone.")
	_, err = e.store.MergeThread(ctx, admin, merged.ID, locked.ID, "duplicate")
	must(err)
	f.mergedID = merged.ID
	flag, err := e.store.FlagPost(ctx, cust, f.postID, "spam", "")
	must(err)
	f.flagID = flag.ID
	quiet := e.user("quiet-user", models.RoleCustomer)
	until := e.clock.Now().Add(24 * time.Hour)
	_, err = e.store.SanctionUser(ctx, admin, quiet.ID, models.SanctionSilence, "spam", &until)
	must(err)
	f.silencedID = quiet.ID
}

// spFixture is a fixed data set seen through the Statuspage API: a grouped
// pair of services and two loose ones, an open incident with two updates
// and transitions, a resolved incident with a postmortem, an active and an
// upcoming maintenance.
type spFixture struct {
	staff                      *models.User
	website, mail, webmail     *models.Service
	api                        *models.Service
	open, resolved             *models.Incident
	activeMaint, upcomingMaint *models.Incident
}

func newSPFixture(e *testEnv) *spFixture {
	e.t.Helper()
	ctx := context.Background()
	f := &spFixture{staff: e.user("sam.support", models.RoleStaff)}
	f.website = e.service(models.NewService{Name: "Website", Description: "The public site and sign-up.", Position: 1})
	f.mail = e.service(models.NewService{Name: "Mail delivery", Description: "Sending and receiving mail.", Group: "Mail", Position: 2})
	f.webmail = e.service(models.NewService{Name: "Webmail", Group: "Mail", Position: 3})
	f.api = e.service(models.NewService{Name: "API", Position: 4})
	declare := func(in models.NewIncident) *models.Incident { return e.incident(f.staff, in) }
	post := func(id int64, in models.NewUpdate) {
		if _, err := e.store.PostUpdate(ctx, f.staff, id, in); err != nil {
			e.t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { v := e.clock.Now().Add(d); return &v }

	// 09:30 a minor incident on the website, resolved at 09:40, with a
	// postmortem at 09:45.
	f.resolved = declare(models.NewIncident{Kind: models.KindIncident, Title: "Website slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Pages load slowly; we are looking into it.",
		Services: []models.ServiceChange{{ServiceID: f.website.ID, Status: models.DegradedPerformance}}})
	e.clock.Advance(10 * time.Minute)
	post(f.resolved.ID, models.NewUpdate{Status: models.StatusResolved, Body: "A cache node was replaced. Pages load normally."})
	e.clock.Advance(5 * time.Minute)
	if _, err := e.store.SetPostmortem(ctx, f.staff, f.resolved.ID, "A cache node ran out of memory."); err != nil {
		e.t.Fatal(err)
	}
	// 09:50 two maintenance windows: webmail from 10:00 to 12:30, the API
	// in two days.
	e.clock.Advance(5 * time.Minute)
	f.activeMaint = declare(models.NewIncident{Kind: models.KindMaintenance, Title: "Webmail migration",
		Body: "Webmail moves to new servers.", ScheduledFor: at(10 * time.Minute), ScheduledUntil: at(160 * time.Minute),
		Services: []models.ServiceChange{{ServiceID: f.webmail.ID, Status: models.UnderMaintenance}}})
	f.upcomingMaint = declare(models.NewIncident{Kind: models.KindMaintenance, Title: "API upgrade",
		Body: "The API is upgraded; expect short interruptions.", ScheduledFor: at(48 * time.Hour), ScheduledUntil: at(50 * time.Hour),
		Services: []models.ServiceChange{{ServiceID: f.api.ID, Status: models.UnderMaintenance}}})
	e.clock.Advance(10 * time.Minute)
	if n, err := e.store.AdvanceMaintenance(ctx); err != nil || n != 1 {
		e.t.Fatalf("AdvanceMaintenance: %d, %v", n, err)
	}
	// 10:10 a major incident on mail; at 10:25 the cause is identified and
	// webmail is affected too.
	e.clock.Advance(10 * time.Minute)
	f.open = declare(models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Outgoing mail is **delayed** by up to an hour.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.PartialOutage}}})
	e.clock.Advance(15 * time.Minute)
	post(f.open.ID, models.NewUpdate{Status: models.StatusIdentified,
		Body:     "We found the cause: a *queue* backlog.\n\n- mail is queued, not lost\n- webmail is slow\n\nSee [the thread](https://example.com/t).",
		Services: []models.ServiceChange{{ServiceID: f.webmail.ID, Status: models.DegradedPerformance}}})
	e.clock.Advance(time.Minute)
	return f
}

// runJobs does the due background jobs (notifications) as the server's
// worker does, until none is left.
func (e *testEnv) runJobs() {
	e.t.Helper()
	w := notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for w.RunDue(context.Background()) > 0 {
	}
}

// startBackground runs what the server runs beside its handlers, for the
// test's duration: the live-update broker and the job worker.
func (e *testEnv) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := e.app.RunLive(ctx); err != nil {
			e.t.Errorf("live: %v", err)
		}
	})
	wg.Go(func() { notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx) })
	e.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
