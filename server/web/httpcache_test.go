package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// get serves a GET through h, optionally with cookie or bearer token.
func get(h http.Handler, path string, cookie *http.Cookie, bearer string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// holdRoute adds /test/hold to a fresh router of e's app (sharing its
// shedder and cache): a request there takes its slot, says so on entered
// and stays until release closes.
func holdRoute(t *testing.T, e *testEnv) (r *gin.Engine, entered, release chan struct{}) {
	t.Helper()
	r, err := e.app.router()
	if err != nil {
		t.Fatal(err)
	}
	entered, release = make(chan struct{}), make(chan struct{})
	hold := route{http.MethodGet, "/test/hold", public, noCache, sheds, func(c *gin.Context) error {
		entered <- struct{}{}
		<-release
		c.String(http.StatusOK, "done")
		return nil
	}}
	if err := e.app.handle(r, hold); err != nil {
		t.Fatal(err)
	}
	return r, entered, release
}

func TestShedLoadRefusesPastTheBound(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.MaxInFlight = 1 })
	r, entered, release := holdRoute(t, e)
	held := make(chan int)
	go func() { held <- get(r, "/test/hold", nil, "", nil).Code }()
	<-entered // the only slot is taken

	w := get(r, "/", nil, "", nil)
	wantStatus(t, w, http.StatusServiceUnavailable)
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q on a 503", got)
	}
	if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "Temporarily unavailable") {
		t.Errorf("page 503 should be the HTML error page: %s %.300s", w.Header().Get("Content-Type"), w.Body)
	}

	w = get(r, "/api/v1/threads", nil, "", nil)
	wantStatus(t, w, http.StatusServiceUnavailable)
	assertJSONError(t, w, "overloaded")
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("API Retry-After %q, want 5", got)
	}

	// Probes and static files are answered however busy the server is.
	css, err := e.app.assets.url("img/favicon.svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz", css} {
		wantStatus(t, get(r, path, nil, "", nil), http.StatusOK)
	}
	if n := e.app.shed.Refused(); n != 2 {
		t.Errorf("%d refused, want 2", n)
	}

	close(release)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	wantStatus(t, get(r, "/", nil, "", nil), http.StatusOK) // the slot is free again
}

func TestShedLoadWaitsBrieflyForASlot(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.MaxInFlight = 1 })
	e.app.shed.Wait = time.Hour // the slot is freed long before
	r, entered, release := holdRoute(t, e)
	held := make(chan int)
	go func() { held <- get(r, "/test/hold", nil, "", nil).Code }()
	<-entered
	queued := make(chan int)
	go func() { queued <- get(r, "/", nil, "", nil).Code }()
	for e.app.shed.Waiting() == 0 {
		runtime.Gosched()
	}
	close(release)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	if code := <-queued; code != http.StatusOK {
		t.Fatalf("queued request: %d, want 200 once the slot was freed", code)
	}
	if n := e.app.shed.Refused(); n != 0 {
		t.Errorf("%d refused", n)
	}
}

func TestShedLoadOffByDefaultInTests(t *testing.T) {
	if e := newTestEnv(t); e.app.shed != nil || e.app.cache != nil {
		t.Fatal("a zero Config should turn shedding and the cache off")
	}
}

// cacheEnv is an app with the micro-cache on, a service, a staff member, a
// customer (signed in, and with a token) and a customer thread.
type cacheEnv struct {
	*testEnv
	staff, cust *models.User
	custCk      *http.Cookie
	custToken   string
	mail        *models.Service
	thread      *models.Thread
}

func newCacheEnv(t *testing.T, adjust func(*Config)) *cacheEnv {
	t.Helper()
	e := newTestEnvConfig(t, func(c *Config) {
		c.CacheTTL = 5 * time.Second
		adjust(c)
	})
	ce := &cacheEnv{testEnv: e, staff: e.user("sam", models.RoleStaff), cust: e.user("casey", models.RoleCustomer)}
	ce.custCk, ce.custToken = e.session(ce.cust), e.token(ce.cust)
	ctx := context.Background()
	var err error
	if ce.mail, err = e.store.CreateService(ctx, nil, models.NewService{Name: "Mail", Position: 1}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(48 * time.Hour)
	if ce.thread, _, err = e.store.CreateThread(ctx, ce.cust, models.NewThread{Title: "Outbox stuck", Body: "Nothing leaves."}); err != nil {
		t.Fatal(err)
	}
	return ce
}

// visit is a visitor's GET that must succeed; it returns the body and
// whether it came from the cache.
func (e *cacheEnv) visit(path string) (string, string) {
	e.t.Helper()
	w := get(e.handler, path, nil, "", nil)
	wantStatus(e.t, w, http.StatusOK)
	return w.Body.String(), w.Header().Get("X-Cache")
}

func TestMicroCacheServesVisitorsUntilTheTTL(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	ctx := context.Background()
	threadPath := fmt.Sprintf("/threads/%d", e.thread.ID)
	paths := []string{"/", threadPath, "/api/v2/summary.json"}
	for _, p := range paths {
		if _, x := e.visit(p); x != "miss" {
			t.Errorf("%s: X-Cache %q on the first visit", p, x)
		}
	}

	// The data changes behind the cache's back.
	inc, err := e.store.DeclareIncident(ctx, e.staff, models.NewIncident{
		Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major", Status: "investigating",
		Body: "We are investigating.", Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.MajorOutage}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.CreateReply(ctx, e.staff, e.thread.ID, models.NewPost{Body: "Restart the client, please."}); err != nil {
		t.Fatal(err)
	}
	news := map[string]string{"/": "Mail delivery failing", threadPath: "Restart the client", "/api/v2/summary.json": "Mail delivery failing"}

	e.clock.Advance(5*time.Second - time.Nanosecond)
	for _, p := range paths {
		body, x := e.visit(p)
		if x != "hit" || strings.Contains(body, news[p]) {
			t.Errorf("%s within the TTL: X-Cache %q, new data shown: %v", p, x, strings.Contains(body, news[p]))
		}
	}
	// A signed-in user sees fresh data at once, and so does an API client.
	for _, p := range paths {
		for _, who := range []struct {
			name   string
			cookie *http.Cookie
			bearer string
		}{{"cookie", e.custCk, ""}, {"token", nil, e.custToken}} {
			w := get(e.handler, p, who.cookie, who.bearer, nil)
			wantStatus(t, w, http.StatusOK)
			if !strings.Contains(w.Body.String(), news[p]) || w.Header().Get("X-Cache") != "" {
				t.Errorf("%s with a %s: stale or cached (X-Cache %q)", p, who.name, w.Header().Get("X-Cache"))
			}
		}
	}

	e.clock.Advance(time.Nanosecond) // the TTL has passed
	for _, p := range paths {
		body, x := e.visit(p)
		if x != "miss" || !strings.Contains(body, news[p]) {
			t.Errorf("%s after the TTL: X-Cache %q, new data shown: %v", p, x, strings.Contains(body, news[p]))
		}
	}

	// The incident page likewise.
	incPath := fmt.Sprintf("/incidents/%d", inc.ID)
	e.visit(incPath)
	if _, err := e.store.PostUpdate(ctx, e.staff, inc.ID, models.NewUpdate{Status: "identified", Body: "A certificate expired."}); err != nil {
		t.Fatal(err)
	}
	if body, x := e.visit(incPath); x != "hit" || strings.Contains(body, "certificate expired") {
		t.Errorf("incident page within the TTL: X-Cache %q", x)
	}
	e.clock.Advance(5 * time.Second)
	if body, _ := e.visit(incPath); !strings.Contains(body, "certificate expired") {
		t.Error("incident page after the TTL is stale")
	}
}

func TestMicroCacheNeverSharesSignedInPages(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	// Signed-in requests come first; the visitor after them must get a
	// page of their own, not the signed-in one.
	for _, p := range []string{"/", fmt.Sprintf("/threads/%d", e.thread.ID)} {
		w := get(e.handler, p, e.custCk, "", nil)
		wantStatus(t, w, http.StatusOK)
		mustContain(t, p+" signed in", w.Body.String(), "Log out")
		body, x := e.visit(p)
		if x != "miss" || strings.Contains(body, "Log out") {
			t.Errorf("%s: the visitor got X-Cache %q, signed-in page: %v", p, x, strings.Contains(body, "Log out"))
		}
		// And a cached visitor page is never given to the signed-in user.
		w = get(e.handler, p, e.custCk, "", nil)
		mustContain(t, p+" signed in after a visitor", w.Body.String(), "Log out")
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s signed in: Cache-Control %q", p, got)
		}
	}
	if w := get(e.handler, "/api/v2/status.json", nil, e.custToken, nil); w.Header().Get("X-Cache") != "" {
		t.Error("a request with a token went through the cache")
	}
}

func TestMicroCacheKeepsFlashMessages(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	e.visit("/")
	v := base64.RawURLEncoding.EncodeToString([]byte("success\nYou are logged out."))
	flashCk := &http.Cookie{Name: flashCookie, Value: v + "." + e.app.flashSign(v)}
	w := get(e.handler, "/", flashCk, "", nil)
	wantStatus(t, w, http.StatusOK)
	mustContain(t, "page with a flash", w.Body.String(), "You are logged out.")
	if c := findCookie(w, flashCookie); c == nil || c.MaxAge >= 0 {
		t.Error("the flash cookie was not cleared")
	}
	if body, x := e.visit("/"); x != "hit" || strings.Contains(body, "logged out") {
		t.Errorf("the flash leaked into the cache (X-Cache %q)", x)
	}
}

func TestMicroCacheConditionalRequests(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	w := get(e.handler, "/api/v2/status.json", nil, "", nil)
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("headers: %v", w.Header())
	}
	w = get(e.handler, "/api/v2/status.json", nil, "", map[string]string{"If-None-Match": etag})
	wantStatus(t, w, http.StatusNotModified)
	if w.Header().Get("X-Cache") != "hit" || w.Body.Len() != 0 {
		t.Errorf("304 from the cache: X-Cache %q, %d bytes", w.Header().Get("X-Cache"), w.Body.Len())
	}
	w = get(e.handler, "/api/v2/status.json", nil, "", map[string]string{"If-None-Match": `"other"`})
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("ETag") != etag || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Request-ID") == "" {
		t.Errorf("headers of a hit: %v", w.Header())
	}
}

func TestMicroCacheIsBounded(t *testing.T) {
	e := newCacheEnv(t, func(c *Config) { c.CacheEntries = 3 })
	for i := range 10 {
		e.visit(fmt.Sprintf("/search?q=n%d", i))
		if n := e.app.cache.Len(); n > 3 {
			t.Fatalf("%d entries, bound 3", n)
		}
	}
	if _, x := e.visit("/search?q=n9"); x != "hit" {
		t.Errorf("the newest entry was evicted (X-Cache %q)", x)
	}
	if _, x := e.visit("/search?q=n0"); x != "miss" {
		t.Errorf("the oldest entry was kept (X-Cache %q)", x)
	}
	// Expired entries go first.
	e.clock.Advance(5 * time.Second)
	e.visit("/")
	if n := e.app.cache.Len(); n != 1 {
		t.Errorf("%d entries after the TTL, want 1", n)
	}
}

func TestMicroCachePurgedByOfficialChanges(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	threadPath := fmt.Sprintf("/threads/%d", e.thread.ID)
	e.visit(threadPath)
	post := func(who *models.User, body string) {
		t.Helper()
		w := e.do(req{method: http.MethodPost, path: threadPath + "/posts", cookie: e.session(who), form: map[string][]string{"body": {body}}})
		wantStatus(t, w, http.StatusSeeOther)
	}
	// A customer's reply waits for the TTL: on an outage day there are
	// many, and each would empty the cache.
	post(e.user("riley", models.RoleCustomer), "Same here since nine.")
	if body, x := e.visit(threadPath); x != "hit" || strings.Contains(body, "Same here") {
		t.Errorf("after a customer's reply: X-Cache %q", x)
	}
	// Staff speak officially: visitors see it at once.
	post(e.staff, "We are on it.")
	body, x := e.visit(threadPath)
	if x != "miss" {
		t.Errorf("after a staff reply: X-Cache %q", x)
	}
	mustContain(t, "thread after a staff reply", body, "Same here since nine.", "We are on it.")
	// A refused change purges nothing.
	w := e.do(req{method: http.MethodPost, path: threadPath + "/posts", cookie: e.session(e.staff), form: map[string][]string{"body": {""}}})
	if w.Code < 400 {
		t.Fatalf("empty reply: %d", w.Code)
	}
	if _, x := e.visit(threadPath); x != "hit" {
		t.Errorf("after a refused staff reply: X-Cache %q", x)
	}
}

// TestRoutePolicies walks the route table as the role matrix does: every
// route decides on caching and shedding, and does what its row says. With
// the only slot taken, a route that sheds answers 503 and one that never
// sheds is answered; a visitor's second GET of a cached route is a hit and
// one of any other route is not.
func TestRoutePolicies(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.CacheTTL = 5 * time.Second; c.MaxInFlight = 1 })
	e.app.shed.Wait = 0 // refuse at once
	f := newFixture(e)
	css, err := e.app.assets.url("css/site.css")
	if err != nil {
		t.Fatal(err)
	}
	// A path that reaches each route; an id a visitor may read where the
	// route is cached.
	fill := func(path string) string {
		id := f.threadID
		if strings.HasPrefix(path, "/incidents/") || strings.HasPrefix(path, "/api/v1/incidents/") {
			id = f.incidentID
		}
		path = strings.Replace(path, ":id", strconv.FormatInt(id, 10), 1)
		return strings.Replace(path, "/*filepath", strings.TrimPrefix(css, "/static"), 1)
	}
	r, entered, release := holdRoute(t, e)
	held := make(chan int)
	go func() { held <- get(r, "/test/hold", nil, "", nil).Code }()
	<-entered
	for _, rt := range e.app.routes() {
		key := rt.method + " " + rt.path
		if !rt.cache.decided || rt.shed == 0 {
			t.Errorf("%s: no decision on caching and shedding", key)
			continue
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(rt.method, fill(rt.path), nil))
		if shed := w.Code == http.StatusServiceUnavailable; shed != (rt.shed == sheds) {
			t.Errorf("%s with no free slot: %d (row: shed %v)", key, w.Code, rt.shed == sheds)
		}
	}
	close(release)
	<-held
	for _, rt := range e.app.routes() {
		if rt.method != http.MethodGet {
			continue
		}
		key := rt.method + " " + rt.path
		var xcache string
		for range 2 {
			w := get(r, fill(rt.path), nil, "", nil)
			if rt.cache.shared && w.Code != http.StatusOK {
				t.Errorf("%s: %d for a visitor; a cached route needs a page to cache", key, w.Code)
			}
			xcache = w.Header().Get("X-Cache")
		}
		if hit := xcache == "hit"; hit != rt.cache.shared {
			t.Errorf("%s: a visitor's second GET has X-Cache %q (row: cached %v)", key, xcache, rt.cache.shared)
		}
	}
}

// TestCacheKeyKeepsTheRouteParameters: a parameter the route does not read
// is no second copy (and the handler never sees it); the ones it reads are.
func TestCacheKeyKeepsTheRouteParameters(t *testing.T) {
	e := newCacheEnv(t, func(*Config) {})
	e.visit("/")
	if _, x := e.visit("/?utm_source=newsletter&fbclid=x"); x != "hit" {
		t.Errorf("an unknown parameter missed the cache: X-Cache %q", x)
	}
	e.visit("/search?q=outbox&utm_medium=mail")
	if _, x := e.visit("/search?q=outbox"); x != "hit" {
		t.Errorf("search with an extra parameter stored a second copy: X-Cache %q", x)
	}
	if body, x := e.visit("/search?q=nothing-matches-this"); x != "miss" || strings.Contains(body, "Outbox stuck") {
		t.Errorf("another query was answered from the cache: X-Cache %q", x)
	}
	body, _ := e.visit("/threads?page=1&per_page=1&utm_source=x")
	if strings.Contains(body, "utm_source") {
		t.Error("a parameter the route does not read reached the page")
	}
}
