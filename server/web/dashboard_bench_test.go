package web

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/demo"
)

// pastIncidents adds n incidents to history before the demo's: one every
// 18 hours going back from a week ago, each degrading a service for an
// hour, then resolved.
func pastIncidents(b *testing.B, e *testEnv, n int) {
	ctx := context.Background()
	staff, err := e.store.UserByName(ctx, "sam.support")
	if err != nil {
		b.Fatal(err)
	}
	services, err := e.store.ListServices(ctx)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	defer func() { e.store.Now = time.Now }()
	for i := range n {
		at := now.Add(-7*24*time.Hour - time.Duration(i)*18*time.Hour)
		e.store.Now = func() time.Time { return at }
		svc := services[i%len(services)].ID
		inc, err := e.store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident, Title: fmt.Sprintf("Past trouble %d", i),
			Impact: "minor", Status: models.StatusInvestigating, NoPromise: true, Body: "Slow responses.",
			Services: []models.ServiceChange{{ServiceID: svc, Status: models.DegradedPerformance}}})
		if err != nil {
			b.Fatal(err)
		}
		at = at.Add(time.Hour)
		if _, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDashboardHistory is visitors reloading the uncached dashboard
// (16 clients per core) with the demo's history and with 1,500 more
// resolved incidents (three years of them, about 120 in the 90 days the
// bars show). It reports the machine's CPU per request (the target is
// under 2 ms, and the same for both).
func BenchmarkDashboardHistory(b *testing.B) {
	for _, past := range []int{0, 1500} {
		b.Run(fmt.Sprintf("past=%d", past), func(b *testing.B) {
			e := newTestEnvConfig(b, func(*Config) {})
			e.store.Now, e.app.now = time.Now, time.Now
			if err := demo.Load(context.Background(), e.store); err != nil {
				b.Fatal(err)
			}
			pastIncidents(b, e, past)
			if w := e.do(req{method: http.MethodGet, path: "/"}); w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
			b.SetParallelism(outageDayClients)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := e.do(req{method: http.MethodGet, path: "/"}); w.Code != http.StatusOK {
						b.Errorf("GET /: %d", w.Code)
						return
					}
				}
			})
			b.ReportMetric(b.Elapsed().Seconds()*1000*float64(runtime.GOMAXPROCS(0))/float64(b.N), "cpu-ms/req")
		})
	}
}
