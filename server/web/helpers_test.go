package web

// The helpers every test of the package uses: one environment (testEnv),
// one way to make people and data, one way to send a request, and one way
// each to read an answer; then the page checks. The data sets several files
// start from are in fixtures_test.go, browser helpers in browser_test.go; a
// data set only one file uses is in that file.

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"sitrep/models"
	"sitrep/models/testdb"
	"sitrep/server/markup"
)

func init() { gin.SetMode(gin.TestMode) }

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// testEnv is one app on its own migrated database (see testdb.DSN: a SQLite
// file, or PostgreSQL when the tests are told to use it), on an injected
// clock.
type testEnv struct {
	t       testing.TB
	app     *App
	store   *models.Store
	handler http.Handler
	clock   *testClock
	dsn     string // the database: a SQLite file or a postgres:// URL
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
	return newTestEnvOn(t, testdb.Migrated(t, "test.db", func(dsn string) error {
		_, err := models.MigrateAt(context.Background(), dsn)
		return err
	}), adjust)
}

// newTestEnvOn is an app on the empty database dsn, whose configuration
// adjust changes first.
func newTestEnvOn(t testing.TB, dsn string, adjust func(*Config)) *testEnv {
	t.Helper()
	store, err := models.Open(dsn)
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
	return &testEnv{t: t, app: a, store: store, handler: h, clock: clock, dsn: dsn}
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

// concurrently runs send(0) to send(n-1) all at once and counts the
// status codes they return.
func concurrently(n int, send func(i int) int) map[int]int {
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes <- send(i) })
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	return count
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
