package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"sitrep/models"
	"sitrep/server/demo"
	"sitrep/server/httpcache"
)

// The load harness: the demo scenario behind the real router, with the
// production defaults for shedding, read by many clients at once. It
// reports numbers; it asserts nothing about time. Run it with
//
//	go test ./server -run '^$' -bench Dashboard -benchtime 2s

// outageDayClients is how many goroutines per CPU play clients.
const outageDayClients = 16

// loadEnv is the demo loaded into a fresh database, on the real clock.
type loadEnv struct {
	handler   http.Handler
	app       *App
	store     *models.Store
	incident  string // the open incident's page
	thread    string // a customer complaint thread
	customer  *http.Cookie
	posters   []*http.Cookie // customers who reply, each at most every 10 s
	replyPath string
}

// loadPosters is how many customers take turns replying, so that none of
// them hits the posting limit at the rates measured here.
const loadPosters = 500

func newLoadEnv(b *testing.B, cacheTTL time.Duration) *loadEnv {
	b.Helper()
	ctx := context.Background()
	store, err := models.Open(filepath.Join(b.TempDir(), "load.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	store.PasswordCost = bcrypt.MinCost
	if _, err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if err := demo.Load(ctx, store); err != nil {
		b.Fatal(err)
	}
	cfg := Config{MaxBodyBytes: 1 << 20, MaxInFlight: httpcache.DefaultMaxInFlight(), CacheTTL: cacheTTL, CacheEntries: httpcache.DefaultEntries}
	a, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h, err := a.router()
	if err != nil {
		b.Fatal(err)
	}
	e := &loadEnv{handler: h, app: a, store: store}
	yes := true
	open, err := store.ListIncidents(ctx, models.IncidentFilter{Kind: models.KindIncident, Open: &yes}, models.Page{Number: 1, PerPage: 1})
	if err != nil || len(open.Items) == 0 {
		b.Fatalf("the demo has no open incident: %v", err)
	}
	threads, err := store.ListThreads(ctx, models.ThreadFilter{}, models.Page{Number: 1, PerPage: models.ThreadsPerPage})
	if err != nil {
		b.Fatal(err)
	}
	for _, th := range threads.Items {
		if th.IncidentID == nil {
			e.thread = threadURL(th.ID)
			break
		}
	}
	e.incident = incidentURL(open.Items[0].ID)
	e.replyPath = threadURL(open.Items[0].ThreadID) + "/posts"
	session := func(u *models.User) *http.Cookie {
		secret, err := store.CreateSession(ctx, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		return &http.Cookie{Name: a.sessionCookieName(), Value: secret}
	}
	casey, err := store.UserByName(ctx, "casey")
	if err != nil {
		b.Fatal(err)
	}
	e.customer = session(casey)
	// The posters' accounts are two days old, past the new-account limit.
	realNow := store.Now
	store.Now = func() time.Time { return realNow().Add(-48 * time.Hour) }
	for i := range loadPosters {
		u, err := store.CreateUser(ctx, models.NewUser{Name: fmt.Sprintf("poster%03d", i), Email: fmt.Sprintf("poster%03d@example.com", i), Password: "load-test-password", Role: models.RoleCustomer})
		if err != nil {
			b.Fatal(err)
		}
		e.posters = append(e.posters, session(u))
	}
	store.Now = realNow
	for _, p := range []string{"/", e.incident, e.thread, "/api/v2/summary.json"} {
		if w := e.get(p, nil); w.Code != http.StatusOK {
			b.Fatalf("%s: %d", p, w.Code)
		}
	}
	return e
}

func (e *loadEnv) get(path string, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// reply is the turn-th customer reply to the incident, by the posters in
// turn.
func (e *loadEnv) reply(turn int64) *httptest.ResponseRecorder {
	body := url.Values{"body": {fmt.Sprintf("Still broken here (%d), mail queued since nine.", turn)}}.Encode()
	r := httptest.NewRequest(http.MethodPost, e.replyPath, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(e.posters[turn%int64(len(e.posters))])
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// cacheModes are the two ways each load is run: as served in production
// (the 5 s micro-cache on) and without the cache.
var cacheModes = []struct {
	name string
	ttl  time.Duration
}{{"cache=off", 0}, {"cache=on", 5 * time.Second}}

// report adds requests per second and the share of shed requests.
func report(b *testing.B, shed int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(shed)/float64(b.N)*100, "%shed")
}

// BenchmarkDashboardVisitors is everyone reloading the dashboard at once:
// many visitors, no cookies, GET / through the whole middleware chain.
func BenchmarkDashboardVisitors(b *testing.B) {
	for _, m := range cacheModes {
		b.Run(m.name, func(b *testing.B) {
			e := newLoadEnv(b, m.ttl)
			var shed atomic.Int64
			b.SetParallelism(outageDayClients)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					switch w := e.get("/", nil); w.Code {
					case http.StatusOK:
					case http.StatusServiceUnavailable:
						shed.Add(1)
					default:
						b.Errorf("GET /: %d", w.Code)
						return
					}
				}
			})
			report(b, shed.Load())
		})
	}
}

// BenchmarkDashboardOutageDay is a mixed load on the day of an outage, per
// 100 requests: visitors read the dashboard (60), the incident page (15), a
// complaint thread (8) and the Statuspage summary (10); signed-in customers
// read the incident page (6) or reply to it (1). Customers' replies do not
// empty the cache (staff updates do, and are too rare to matter here).
func BenchmarkDashboardOutageDay(b *testing.B) {
	for _, m := range cacheModes {
		b.Run(m.name, func(b *testing.B) {
			e := newLoadEnv(b, m.ttl)
			var shed, limited, next atomic.Int64
			b.SetParallelism(outageDayClients)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					var w *httptest.ResponseRecorder
					want := http.StatusOK
					switch i := n % 100; {
					case i < 60:
						w = e.get("/", nil)
					case i < 75:
						w = e.get(e.incident, nil)
					case i < 83:
						w = e.get(e.thread, nil)
					case i < 93:
						w = e.get("/api/v2/summary.json", nil)
					case i < 99:
						w = e.get(e.incident, e.customer)
					default:
						w, want = e.reply(n/100), http.StatusSeeOther
					}
					switch w.Code {
					case want:
					case http.StatusServiceUnavailable:
						shed.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1) // a poster's turn came round within 10 s
					default:
						b.Errorf("request %d: %d %.200s", n, w.Code, w.Body)
						return
					}
				}
			})
			report(b, shed.Load())
			b.ReportMetric(float64(limited.Load()), "limited")
		})
	}
}
