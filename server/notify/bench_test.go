package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sitrep/models"
)

// BenchmarkFanOut: the fan-out of one announcement to 100,000 subscribers,
// from the fan-out job to the last delivery job written (500 a batch, each
// batch a transaction of its own); the deliveries themselves are not run.
func BenchmarkFanOut(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, false)
		e.seedSubscribers(n, "")
		e.declare("Mail delivery delayed")
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		for {
			// The fan-out jobs alone, taken straight from the table: the
			// worker takes each batch's job after that batch's deliveries.
			var job models.Job
			if err := e.sqlScanJob(`SELECT id, kind, payload FROM jobs WHERE kind = 'fanout' ORDER BY id LIMIT 1`, &job); err != nil {
				break
			}
			if err := e.worker.fanOut(ctx, job); err != nil {
				b.Fatal(err)
			}
		}
		took := time.Since(start)
		b.StopTimer()
		if got := e.count(`SELECT COUNT(*) FROM jobs WHERE kind = 'deliver'`); got != n {
			b.Fatalf("%d deliveries written, want %d", got, n)
		}
		b.ReportMetric(took.Seconds(), "s/fan-out")
		b.ReportMetric(n/took.Seconds(), "deliveries-written/s")
		b.StartTimer()
	}
}

// BenchmarkDelivery: the worker (16 jobs at once) delivering one
// announcement to 5,000 subscribers: by mail to the in-process SMTP
// server, and by webhook to an in-process HTTP receiver.
func BenchmarkDelivery(b *testing.B) {
	const n = 5_000
	for _, kind := range []string{"mail", "webhook"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b, kind == "mail")
				hook := ""
				var got chan struct{}
				if kind == "webhook" {
					got = make(chan struct{}, n)
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.WriteHeader(http.StatusNoContent)
						got <- struct{}{}
					}))
					b.Cleanup(srv.Close)
					hook = srv.URL
				}
				e.seedSubscribers(n, hook)
				// No service changes status: one notice, n deliveries.
				if _, err := e.store.DeclareIncident(context.Background(), e.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail slower",
					Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
					Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.Operational}}}); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				b.StartTimer()
				start := time.Now()
				go func() { e.worker.Run(ctx); close(done) }()
				if kind == "mail" {
					if _, err := e.smtp.Wait(n, 5*time.Minute); err != nil {
						b.Fatal(err)
					}
				} else {
					for range n {
						<-got
					}
				}
				took := time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				b.ReportMetric(float64(n)/took.Seconds(), fmt.Sprintf("%ss/s", kind))
				b.StartTimer()
			}
		})
	}
}

func (e *env) sqlScanJob(q string, j *models.Job) error {
	db, err := openDB(e.path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRow(q).Scan(&j.ID, &j.Kind, &j.Payload)
}
