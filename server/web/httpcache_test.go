package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

func TestShedLoadRefusesPastTheBound(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.MaxInFlight = 1 })
	busy, entered, release := holdRoute(e)
	held := make(chan int)
	go func() { held <- busy.do(req{method: http.MethodGet, path: "/test/hold"}).Code }()
	<-entered // the only slot is taken

	w := busy.do(req{method: http.MethodGet, path: "/"})
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

	w = busy.do(req{method: http.MethodGet, path: "/api/v1/threads"})
	wantStatus(t, w, http.StatusServiceUnavailable)
	wantJSONError(t, w, "overloaded")
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("API Retry-After %q, want 5", got)
	}

	// Probes and static files are answered however busy the server is.
	css, err := e.app.assets.url("img/favicon.svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz", css} {
		wantStatus(t, busy.do(req{method: http.MethodGet, path: path}), http.StatusOK)
	}
	if n := e.app.shed.Refused(); n != 2 {
		t.Errorf("%d refused, want 2", n)
	}

	close(release)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	wantStatus(t, busy.do(req{method: http.MethodGet, path: "/"}), http.StatusOK) // the slot is free again
}

func TestShedLoadWaitsBrieflyForASlot(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.MaxInFlight = 1 })
	e.app.shed.Wait = time.Hour // the slot is freed long before
	busy, entered, release := holdRoute(e)
	held := make(chan int)
	go func() { held <- busy.do(req{method: http.MethodGet, path: "/test/hold"}).Code }()
	<-entered
	queued := make(chan int)
	go func() { queued <- busy.do(req{method: http.MethodGet, path: "/"}).Code }()
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

// withCache turns the micro-cache on, with a TTL of 5 s.
func withCache(c *Config) { c.CacheTTL = 5 * time.Second }

// cacheFixture is what the micro-cache tests read: a service, a staff
// member, a customer (signed in, and with a token) and a customer thread.
type cacheFixture struct {
	staff, cust *models.User
	custCk      *http.Cookie
	custToken   string
	mail        *models.Service
	thread      *models.Thread
}

func newCacheFixture(e *testEnv) *cacheFixture {
	f := &cacheFixture{staff: e.user("sam", models.RoleStaff), cust: e.user("casey", models.RoleCustomer)}
	f.custCk, f.custToken = e.session(f.cust), e.token(f.cust)
	f.mail = e.service(models.NewService{Name: "Mail", Position: 1})
	e.clock.Advance(48 * time.Hour)
	f.thread = e.thread(f.cust, "Outbox stuck", "Nothing leaves.")
	return f
}

func TestMicroCacheServesVisitorsUntilTheTTL(t *testing.T) {
	e := newTestEnvConfig(t, withCache)
	f := newCacheFixture(e)
	ctx := context.Background()
	threadPath := fmt.Sprintf("/threads/%d", f.thread.ID)
	paths := []string{"/", threadPath, "/api/v2/summary.json"}
	for _, p := range paths {
		if x := e.must(http.StatusOK, req{method: http.MethodGet, path: p}).Header().Get("X-Cache"); x != "miss" {
			t.Errorf("%s: X-Cache %q on the first visit", p, x)
		}
	}

	// The data changes behind the cache's back.
	inc := e.incident(f.staff, models.NewIncident{
		Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major", Status: "investigating",
		Body: "We are investigating.", Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}},
	})
	e.reply(f.staff, f.thread.ID, "Restart the client, please.")
	news := map[string]string{"/": "Mail delivery failing", threadPath: "Restart the client", "/api/v2/summary.json": "Mail delivery failing"}

	e.clock.Advance(5*time.Second - time.Nanosecond)
	for _, p := range paths {
		w := e.must(http.StatusOK, req{method: http.MethodGet, path: p})
		body, x := w.Body.String(), w.Header().Get("X-Cache")
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
		}{{"cookie", f.custCk, ""}, {"token", nil, f.custToken}} {
			w := e.do(req{method: http.MethodGet, path: p, cookie: who.cookie, bearer: who.bearer})
			wantStatus(t, w, http.StatusOK)
			if !strings.Contains(w.Body.String(), news[p]) || w.Header().Get("X-Cache") != "" {
				t.Errorf("%s with a %s: stale or cached (X-Cache %q)", p, who.name, w.Header().Get("X-Cache"))
			}
		}
	}

	e.clock.Advance(time.Nanosecond) // the TTL has passed
	for _, p := range paths {
		w := e.must(http.StatusOK, req{method: http.MethodGet, path: p})
		body, x := w.Body.String(), w.Header().Get("X-Cache")
		if x != "miss" || !strings.Contains(body, news[p]) {
			t.Errorf("%s after the TTL: X-Cache %q, new data shown: %v", p, x, strings.Contains(body, news[p]))
		}
	}

	// The incident page likewise.
	incPath := fmt.Sprintf("/incidents/%d", inc.ID)
	e.page(incPath, nil)
	if _, err := e.store.PostUpdate(ctx, f.staff, inc.ID, models.NewUpdate{Status: "identified", Body: "A certificate expired."}); err != nil {
		t.Fatal(err)
	}
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: incPath})
	if body, x := w.Body.String(), w.Header().Get("X-Cache"); x != "hit" || strings.Contains(body, "certificate expired") {
		t.Errorf("incident page within the TTL: X-Cache %q", x)
	}
	e.clock.Advance(5 * time.Second)
	if body := e.page(incPath, nil); !strings.Contains(body, "certificate expired") {
		t.Error("incident page after the TTL is stale")
	}
}

func TestMicroCacheNeverSharesSignedInPages(t *testing.T) {
	e := newTestEnvConfig(t, withCache)
	f := newCacheFixture(e)
	// Signed-in requests come first; the visitor after them must get a
	// page of their own, not the signed-in one.
	for _, p := range []string{"/", fmt.Sprintf("/threads/%d", f.thread.ID)} {
		w := e.do(req{method: http.MethodGet, path: p, cookie: f.custCk})
		wantStatus(t, w, http.StatusOK)
		mustContain(t, p+" signed in", w.Body.String(), "Log out")
		v := e.must(http.StatusOK, req{method: http.MethodGet, path: p})
		body, x := v.Body.String(), v.Header().Get("X-Cache")
		if x != "miss" || strings.Contains(body, "Log out") {
			t.Errorf("%s: the visitor got X-Cache %q, signed-in page: %v", p, x, strings.Contains(body, "Log out"))
		}
		// And a cached visitor page is never given to the signed-in user.
		w = e.do(req{method: http.MethodGet, path: p, cookie: f.custCk})
		mustContain(t, p+" signed in after a visitor", w.Body.String(), "Log out")
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s signed in: Cache-Control %q", p, got)
		}
	}
	if w := e.do(req{method: http.MethodGet, path: "/api/v2/status.json", bearer: f.custToken}); w.Header().Get("X-Cache") != "" {
		t.Error("a request with a token went through the cache")
	}
}

func TestMicroCacheKeepsFlashMessages(t *testing.T) {
	e := newTestEnvConfig(t, withCache)
	newCacheFixture(e)
	e.page("/", nil)
	v := base64.RawURLEncoding.EncodeToString([]byte("success\nYou are logged out."))
	flashCk := &http.Cookie{Name: flashCookie, Value: v + "." + e.app.flashSign(v)}
	w := e.do(req{method: http.MethodGet, path: "/", cookie: flashCk})
	wantStatus(t, w, http.StatusOK)
	mustContain(t, "page with a flash", w.Body.String(), "You are logged out.")
	if c := findCookie(w, flashCookie); c == nil || c.MaxAge >= 0 {
		t.Error("the flash cookie was not cleared")
	}
	w = e.must(http.StatusOK, req{method: http.MethodGet, path: "/"})
	if body, x := w.Body.String(), w.Header().Get("X-Cache"); x != "hit" || strings.Contains(body, "logged out") {
		t.Errorf("the flash leaked into the cache (X-Cache %q)", x)
	}
}

func TestMicroCacheConditionalRequests(t *testing.T) {
	e := newTestEnvConfig(t, withCache)
	newCacheFixture(e)
	w := e.do(req{method: http.MethodGet, path: "/api/v2/status.json"})
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("headers: %v", w.Header())
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v2/status.json", header: map[string]string{"If-None-Match": etag}})
	wantStatus(t, w, http.StatusNotModified)
	if w.Header().Get("X-Cache") != "hit" || w.Body.Len() != 0 {
		t.Errorf("304 from the cache: X-Cache %q, %d bytes", w.Header().Get("X-Cache"), w.Body.Len())
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v2/status.json", header: map[string]string{"If-None-Match": `"other"`}})
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("ETag") != etag || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Request-ID") == "" {
		t.Errorf("headers of a hit: %v", w.Header())
	}
}

func TestMicroCacheIsBounded(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { withCache(c); c.CacheEntries = 3 })
	newCacheFixture(e)
	for i := range 10 {
		e.page(fmt.Sprintf("/search?q=n%d", i), nil)
		if n := e.app.cache.Len(); n > 3 {
			t.Fatalf("%d entries, bound 3", n)
		}
	}
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: "/search?q=n9"}).Header().Get("X-Cache"); x != "hit" {
		t.Errorf("the newest entry was evicted (X-Cache %q)", x)
	}
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: "/search?q=n0"}).Header().Get("X-Cache"); x != "miss" {
		t.Errorf("the oldest entry was kept (X-Cache %q)", x)
	}
	// Expired entries go first.
	e.clock.Advance(5 * time.Second)
	e.page("/", nil)
	if n := e.app.cache.Len(); n != 1 {
		t.Errorf("%d entries after the TTL, want 1", n)
	}
}

func TestMicroCachePurgedByOfficialChanges(t *testing.T) {
	e := newTestEnvConfig(t, withCache)
	f := newCacheFixture(e)
	threadPath := fmt.Sprintf("/threads/%d", f.thread.ID)
	e.page(threadPath, nil)
	post := func(who *models.User, body string) {
		t.Helper()
		e.must(http.StatusSeeOther, req{method: http.MethodPost, path: threadPath + "/posts", cookie: e.session(who), form: url.Values{"body": {body}}})
	}
	// A customer's reply waits for the TTL: on an outage day there are
	// many, and each would empty the cache.
	post(e.user("riley", models.RoleCustomer), "Same here since nine.")
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: threadPath})
	if body, x := w.Body.String(), w.Header().Get("X-Cache"); x != "hit" || strings.Contains(body, "Same here") {
		t.Errorf("after a customer's reply: X-Cache %q", x)
	}
	// Staff speak officially: visitors see it at once.
	post(f.staff, "We are on it.")
	w = e.must(http.StatusOK, req{method: http.MethodGet, path: threadPath})
	body, x := w.Body.String(), w.Header().Get("X-Cache")
	if x != "miss" {
		t.Errorf("after a staff reply: X-Cache %q", x)
	}
	mustContain(t, "thread after a staff reply", body, "Same here since nine.", "We are on it.")
	// A refused change purges nothing.
	w = e.do(req{method: http.MethodPost, path: threadPath + "/posts", cookie: e.session(f.staff), form: url.Values{"body": {""}}})
	if w.Code < 400 {
		t.Fatalf("empty reply: %d", w.Code)
	}
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: threadPath}).Header().Get("X-Cache"); x != "hit" {
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
		if strings.HasPrefix(path, "/services/") {
			id = f.serviceID
		}
		path = strings.Replace(path, ":id", strconv.FormatInt(id, 10), 1)
		path = strings.Replace(path, ":name", f.users[owner].Name, 1)
		return strings.Replace(path, "/*filepath", strings.TrimPrefix(css, "/static"), 1)
	}
	busy, entered, release := holdRoute(e)
	held := make(chan int)
	go func() { held <- busy.do(req{method: http.MethodGet, path: "/test/hold"}).Code }()
	<-entered
	for _, rt := range e.app.routes() {
		key := rt.method + " " + rt.path
		if !rt.cache.decided || rt.shed == 0 {
			t.Errorf("%s: no decision on caching and shedding", key)
			continue
		}
		// A bare request: no body, and no Sec-Fetch-Site.
		w := busy.do(req{method: rt.method, path: fill(rt.path), header: map[string]string{"Sec-Fetch-Site": ""}})
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
			w := busy.do(req{method: http.MethodGet, path: fill(rt.path)})
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
	e := newTestEnvConfig(t, withCache)
	f := newCacheFixture(e)
	e.page("/", nil)
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: "/?utm_source=newsletter&fbclid=x"}).Header().Get("X-Cache"); x != "hit" {
		t.Errorf("an unknown parameter missed the cache: X-Cache %q", x)
	}
	e.page("/search?q=outbox&utm_medium=mail", nil)
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: "/search?q=outbox"}).Header().Get("X-Cache"); x != "hit" {
		t.Errorf("search with an extra parameter stored a second copy: X-Cache %q", x)
	}
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: "/search?q=nothing-matches-this"})
	if body, x := w.Body.String(), w.Header().Get("X-Cache"); x != "miss" || strings.Contains(body, "Outbox stuck") {
		t.Errorf("another query was answered from the cache: X-Cache %q", x)
	}
	if body := e.page("/threads?page=1&per_page=1&utm_source=x", nil); strings.Contains(body, "utm_source") {
		t.Error("a parameter the route does not read reached the page")
	}
	// "Report a problem" suggests threads as visitors type, uncached
	// before: the same title is a hit whatever else the address says.
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: "/report?title=outbox+stuck&utm_source=x"}).Header().Get("X-Cache"); x != "miss" {
		t.Errorf("first report suggestions: X-Cache %q, want miss", x)
	}
	w = e.must(http.StatusOK, req{method: http.MethodGet, path: "/report?utm_campaign=y&title=outbox+stuck"})
	if x := w.Header().Get("X-Cache"); x != "hit" || !strings.Contains(w.Body.String(), "Outbox stuck") {
		t.Errorf("the same suggestions again: X-Cache %q", x)
	}
	if x := e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/report?title=outbox+stuck&service=%d", f.mail.ID)}).Header().Get("X-Cache"); x != "miss" {
		t.Errorf("another service was answered from the cache: X-Cache %q", x)
	}
}
