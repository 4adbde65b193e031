package web

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/demo"
)

// pastIncidents adds n incidents to history before the 90 days the
// dashboard shows: one every 18 hours going back from 91 days ago, each
// degrading a service for an hour, then resolved.
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
		at := now.Add(-91*24*time.Hour - time.Duration(i)*18*time.Hour)
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
// resolved incidents before the 90 days it shows (three years of them).
// It reports the process's CPU time per request (the target is under
// 2 ms, and the same for both).
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
			cpu := processCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := e.do(req{method: http.MethodGet, path: "/"}); w.Code != http.StatusOK {
						b.Errorf("GET /: %d", w.Code)
						return
					}
				}
			})
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/req")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
