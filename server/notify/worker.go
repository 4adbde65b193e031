// Package notify does the durable work that changes cause: it writes
// people's notifications and delivers what subscribers are sent. The work
// comes as jobs from the database (written in the transaction of the
// change), so nothing acknowledged is lost when a process dies: a claimed
// job whose worker died is claimed again when its lease runs out. Any
// number of instances may run workers on one database.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"sitrep/models"
)

// Handler does one job. An error gives the job back to be retried later.
type Handler func(ctx context.Context, job models.Job) error

// Worker claims due jobs and runs their handlers.
type Worker struct {
	store    *models.Store
	log      *slog.Logger
	handlers map[string]Handler
	// Lease is how long a claimed job is held before another worker may
	// take it over; a handler must finish well within it.
	Lease time.Duration
	// Batch is how many jobs are claimed at once.
	Batch int
	// Now is the clock for retry times (tests move it).
	Now func() time.Time
}

// NewWorker makes a worker that writes notifications; Handle adds the
// other kinds.
func NewWorker(store *models.Store, log *slog.Logger) *Worker {
	w := &Worker{store: store, log: log, handlers: map[string]Handler{}, Lease: 2 * time.Minute, Batch: 20, Now: time.Now}
	w.Handle(models.JobNotify, w.writeNotifications)
	return w
}

// Handle sets the handler of a kind of job.
func (w *Worker) Handle(kind string, h Handler) { w.handlers[kind] = h }

// pollEvery is how often an idle worker looks for due jobs (a retry that
// came due, a job written by another instance).
const pollEvery = time.Second

// Run works until ctx ends, waking on each write of this instance and at
// least every pollEvery.
func (w *Worker) Run(ctx context.Context) {
	changes, stop := w.store.Changes()
	defer stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		// A full batch means more may be due.
		for ctx.Err() == nil && w.RunDue(ctx) == w.Batch {
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-tick.C:
		}
	}
}

// RunDue claims one batch of due jobs and runs them; it returns how many
// it claimed.
func (w *Worker) RunDue(ctx context.Context) int {
	jobs, err := w.store.ClaimJobs(ctx, w.Batch, w.Lease)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("jobs: claim", "error", err)
		}
		return 0
	}
	for _, job := range jobs {
		h, ok := w.handlers[job.Kind]
		if !ok {
			err = fmt.Errorf("no handler for jobs of kind %q", job.Kind)
		} else {
			err = h(ctx, job)
		}
		if err == nil {
			continue
		}
		at := w.Now().Add(Backoff(job.Attempts))
		w.log.Warn("jobs: failed, will retry", "job", job.ID, "kind", job.Kind, "attempt", job.Attempts, "retry_at", at, "error", err)
		if err := w.store.RetryJob(ctx, job.ID, at, err.Error()); err != nil && ctx.Err() == nil {
			w.log.Error("jobs: retry", "job", job.ID, "error", err)
		}
	}
	return len(jobs)
}

// Backoff is how long to wait before the next attempt after attempt
// failed: exponential from 10 s, capped at an hour, with up to a fifth of
// jitter so that many failures do not retry in step.
func Backoff(attempt int) time.Duration {
	d := 10 * time.Second << min(max(attempt-1, 0), 9)
	d = min(d, time.Hour)
	return d + time.Duration(rand.Int64N(int64(d/5)+1))
}

// writeNotifications writes the notifications a change asked for, in the
// job's own transaction.
func (w *Worker) writeNotifications(ctx context.Context, job models.Job) error {
	var j models.NotifyJob
	if err := json.Unmarshal([]byte(job.Payload), &j); err != nil {
		return fmt.Errorf("notify job %d: %w", job.ID, err)
	}
	return w.store.DoJob(ctx, job.ID, func(tx *models.Tx) error { return tx.WriteNotifications(j) })
}
