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
	"net/http"
	"strings"
	"sync"
	"time"

	"sitrep/models"
)

// Handler does one job. An error gives the job back to be retried later.
type Handler func(ctx context.Context, job models.Job) error

// Worker claims due jobs and runs their handlers, several at once.
type Worker struct {
	store    *models.Store
	log      *slog.Logger
	handlers map[string]Handler
	// Lease is how long a claimed job is held before another worker may
	// take it over (after a crash, that is how long an interrupted
	// delivery waits); a handler must finish well within it: a webhook
	// gets 10 s, an SMTP session 30 s.
	Lease time.Duration
	// Batch is how many jobs are claimed at once.
	Batch int
	// Concurrency is how many jobs run at once: deliveries wait on other
	// servers, and one slow receiver must not hold up the rest.
	Concurrency int
	// Now is the clock for retry times and giving up (tests move it).
	Now func() time.Time
	// GiveUpAfter is how long a delivery is retried before it fails for
	// good (a webhook's subscription is then turned off).
	GiveUpAfter time.Duration
	// FanoutBatch is how many deliveries one fan-out job writes.
	FanoutBatch int

	out      Settings
	webhooks *http.Client
	noticeMu sync.Mutex
	notices  map[int64]*models.Notice
	// records takes delivery logs to the recorder while Run runs (nil
	// otherwise: each is written on its own).
	records chan record
}

// Settings are what deliveries need to know of the world outside the
// database.
type Settings struct {
	// Site names the site in mails and makes the links in mails and
	// payloads absolute.
	Site Site
	// BaseURLSet says that Site.BaseURL is the operator's -base-url (and
	// not a stand-in), which the Statuspage page id derives from.
	BaseURLSet bool
	// Mailer sends mail; nil when mail is off (-smtp-url not set): mails
	// are then recorded in the outbox as not sent, with the reason.
	Mailer Mailer
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (-webhook-allow-private).
	AllowPrivate bool
}

// NewWorker makes a worker for every kind of job: notifications, and the
// announcements, deliveries and mails that Configure's settings shape (by
// default: mail off, webhooks kept from private addresses, links to
// http://localhost:8080).
func NewWorker(store *models.Store, log *slog.Logger) *Worker {
	w := &Worker{store: store, log: log, handlers: map[string]Handler{}, notices: map[int64]*models.Notice{}, Lease: 45 * time.Second, Batch: 20,
		Concurrency: 16, Now: time.Now, GiveUpAfter: 24 * time.Hour, FanoutBatch: DefaultFanoutBatch}
	w.Configure(Settings{Site: Site{Name: "Sitrep", BaseURL: "http://localhost:8080"}})
	w.Handle(models.JobNotify, w.writeNotifications)
	w.Handle(models.JobFanout, w.fanOut)
	w.Handle(models.JobDeliver, w.deliver)
	w.Handle(models.JobMail, w.sendOutboxMail)
	w.Handle(models.JobFollowMail, w.sendFollowMail)
	return w
}

// Configure sets what deliveries need to know.
func (w *Worker) Configure(s Settings) {
	s.Site.BaseURL = strings.TrimRight(s.Site.BaseURL, "/")
	w.out = s
	w.webhooks = newWebhookClient(s.AllowPrivate)
}

// Handle sets the handler of a kind of job.
func (w *Worker) Handle(kind string, h Handler) { w.handlers[kind] = h }

// pollEvery is how often an idle worker looks for due jobs (a retry that
// came due, a job written by another instance).
const pollEvery = time.Second

// Run works until ctx ends, waking on each write of this instance, when a
// job ends, and at least every pollEvery. It claims only as many jobs as it
// has free slots, so that a claimed job starts at once and its lease is
// not spent waiting.
func (w *Worker) Run(ctx context.Context) {
	changes, stop := w.store.Changes()
	defer stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	slots := make(chan struct{}, max(w.Concurrency, 1))
	freed := make(chan struct{}, 1)
	// The recorder outlives the jobs, so that a job ending at shutdown
	// still has its log written.
	records := make(chan record)
	w.records = records
	recorded := make(chan struct{})
	go func() { w.recordLoop(records); close(recorded) }()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		close(records)
		<-recorded
		w.records = nil
	}()
	for {
		for ctx.Err() == nil {
			want := min(cap(slots)-len(slots), w.Batch)
			if want == 0 {
				break
			}
			jobs := w.claim(ctx, want)
			for _, job := range jobs {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() {
						<-slots
						select {
						case freed <- struct{}{}:
						default:
						}
					}()
					w.run(ctx, job)
				})
			}
			if len(jobs) < want {
				break // nothing more is due
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-tick.C:
		case <-freed:
		}
	}
}

// RunDue claims one batch of due jobs and runs them one after the other, in
// the order they were due (a step-by-step run, for tests and tools; Run
// runs jobs at once); it returns how many it claimed.
func (w *Worker) RunDue(ctx context.Context) int {
	jobs := w.claim(ctx, w.Batch)
	for _, job := range jobs {
		w.run(ctx, job)
	}
	return len(jobs)
}

func (w *Worker) claim(ctx context.Context, n int) []models.Job {
	jobs, err := w.store.ClaimJobs(ctx, n, w.Lease)
	if err != nil && ctx.Err() == nil {
		w.log.Error("jobs: claim", "error", err)
	}
	return jobs
}

// run does one job; an error gives it back for a later attempt.
func (w *Worker) run(ctx context.Context, job models.Job) {
	h, ok := w.handlers[job.Kind]
	var err error
	if !ok {
		err = fmt.Errorf("no handler for jobs of kind %q", job.Kind)
	} else {
		err = h(ctx, job)
	}
	if err == nil {
		return
	}
	at := w.Now().Add(Backoff(job.Attempts))
	w.log.Warn("jobs: failed, will retry", "job", job.ID, "kind", job.Kind, "attempt", job.Attempts, "retry_at", at, "error", err)
	if err := w.store.RetryJob(ctx, job.ID, at, err.Error()); err != nil && ctx.Err() == nil {
		w.log.Error("jobs: retry", "job", job.ID, "error", err)
	}
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

// record is one delivery attempt to log, and where to say how that went.
type record struct {
	models.DeliveryRecord
	done chan error
}

// recordDelivery logs a delivery attempt: through the recorder while Run
// runs, so that the attempts of the jobs running at once are committed
// together, else on its own.
func (w *Worker) recordDelivery(ctx context.Context, jobID int64, d models.Delivery, o models.DeliveryOutcome) error {
	if w.records == nil {
		return w.store.RecordDelivery(ctx, jobID, d, o)
	}
	r := record{models.DeliveryRecord{JobID: jobID, Delivery: d, Outcome: o}, make(chan error, 1)}
	w.records <- r
	return <-r.done
}

// recordLoop writes the delivery logs that wait, all in one transaction
// (those that come while it commits wait for the next), until records is
// closed. A batch that fails is written one by one, so that one bad
// record does not fail the others.
func (w *Worker) recordLoop(records <-chan record) {
	ctx := context.Background()
	for r := range records {
		batch := []record{r}
	more:
		for len(batch) < 64 {
			select {
			case r, ok := <-records:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		recs := make([]models.DeliveryRecord, len(batch))
		for i, r := range batch {
			recs[i] = r.DeliveryRecord
		}
		if err := w.store.RecordDeliveries(ctx, recs); err == nil {
			for _, r := range batch {
				r.done <- nil
			}
			continue
		}
		for _, r := range batch {
			r.done <- w.store.RecordDelivery(ctx, r.JobID, r.Delivery, r.Outcome)
		}
	}
}
