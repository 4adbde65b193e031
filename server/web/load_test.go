package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

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

// outageDay is what the load reads and writes in the demo data.
type outageDay struct {
	incident  string // the open incident's page
	thread    string // a customer complaint thread
	customer  *http.Cookie
	posters   []*http.Cookie // customers who reply, each at most every 10 s
	replyPath string
}

// loadPosters is how many customers take turns replying, so that none of
// them hits the posting limit at the rates measured here.
const loadPosters = 500

// newOutageDay is the demo loaded into a fresh database behind the real
// router, on the real clock, with the production defaults for shedding.
func newOutageDay(b *testing.B, cacheTTL time.Duration) (*testEnv, *outageDay) {
	b.Helper()
	ctx := context.Background()
	e := newTestEnvConfig(b, func(c *Config) {
		c.MaxInFlight, c.CacheTTL, c.CacheEntries = httpcache.DefaultMaxInFlight(), cacheTTL, httpcache.DefaultEntries
	})
	e.store.Now, e.app.now = time.Now, time.Now
	if err := demo.Load(ctx, e.store); err != nil {
		b.Fatal(err)
	}
	d := &outageDay{}
	yes := true
	open, err := e.store.ListIncidents(ctx, models.IncidentFilter{Kind: models.KindIncident, Open: &yes}, models.Page{Number: 1, PerPage: 1})
	if err != nil || len(open.Items) == 0 {
		b.Fatalf("the demo has no open incident: %v", err)
	}
	threads, err := e.store.ListThreads(ctx, models.ThreadFilter{}, models.Page{Number: 1, PerPage: models.ThreadsPerPage})
	if err != nil {
		b.Fatal(err)
	}
	for _, th := range threads.Items {
		if th.IncidentID == nil {
			d.thread = threadURL(th.ID)
			break
		}
	}
	d.incident = incidentURL(open.Items[0].ID)
	d.replyPath = threadURL(open.Items[0].ThreadID) + "/posts"
	casey, err := e.store.UserByName(ctx, "casey")
	if err != nil {
		b.Fatal(err)
	}
	d.customer = e.session(casey)
	// The posters' accounts are two days old, past the new-account limit.
	e.store.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	for i := range loadPosters {
		d.posters = append(d.posters, e.session(e.user(fmt.Sprintf("poster%03d", i), models.RoleCustomer)))
	}
	e.store.Now = time.Now
	for _, p := range []string{"/", d.incident, d.thread, "/api/v2/summary.json"} {
		if w := e.do(req{method: http.MethodGet, path: p}); w.Code != http.StatusOK {
			b.Fatalf("%s: %d", p, w.Code)
		}
	}
	return e, d
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
			e, _ := newOutageDay(b, m.ttl)
			var shed atomic.Int64
			b.SetParallelism(outageDayClients)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					switch w := e.do(req{method: http.MethodGet, path: "/"}); w.Code {
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
			e, d := newOutageDay(b, m.ttl)
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
						w = e.do(req{method: http.MethodGet, path: "/"})
					case i < 75:
						w = e.do(req{method: http.MethodGet, path: d.incident})
					case i < 83:
						w = e.do(req{method: http.MethodGet, path: d.thread})
					case i < 93:
						w = e.do(req{method: http.MethodGet, path: "/api/v2/summary.json"})
					case i < 99:
						w = e.do(req{method: http.MethodGet, path: d.incident, cookie: d.customer})
					default:
						// The turn-th customer reply, by the posters in turn.
						turn := n / 100
						w = e.do(req{method: http.MethodPost, path: d.replyPath, cookie: d.posters[turn%int64(len(d.posters))],
							form: url.Values{"body": {fmt.Sprintf("Still broken here (%d), mail queued since nine.", turn)}}})
						want = http.StatusSeeOther
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
