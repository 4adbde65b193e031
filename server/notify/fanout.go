package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"sitrep/models"
	"sitrep/server/statuspage"
)

// DefaultFanoutBatch is how many subscribers one fan-out job writes
// deliveries for; the next batch is a job of its own, so no transaction
// grows with the number of subscribers.
const DefaultFanoutBatch = 500

// fanOut takes an announcement to its subscribers. Its first run builds the
// notices (the incident's, and one per service whose status the update
// changed) and a fan-out job for each; each later run writes one batch of
// deliveries and the job of the next batch. Both happen in DoJob's
// transaction, which also deletes the job: exactly once.
func (w *Worker) fanOut(ctx context.Context, job models.Job) error {
	var j models.FanoutJob
	if err := json.Unmarshal([]byte(job.Payload), &j); err != nil {
		return fmt.Errorf("fan-out job %d: %w", job.ID, err)
	}
	if j.NoticeID == 0 {
		return w.buildNotices(ctx, job, j)
	}
	n, err := w.store.NoticeByID(ctx, j.NoticeID)
	if errors.Is(err, models.ErrNotFound) {
		return w.store.FinishJob(ctx, job.ID)
	}
	if err != nil {
		return err
	}
	return w.store.DoJob(ctx, job.ID, func(tx *models.Tx) error {
		_, err := tx.FanOut(n, j.After, w.FanoutBatch, func(last int64) error {
			next := j
			next.After = last
			return tx.Enqueue(models.JobFanout, next, w.store.Now())
		})
		return err
	})
}

// buildNotices writes the notices of an announcement, built from the
// incident as it stands, with its official updates up to the one announced
// (and the status that update set), so that a notice built late, after a
// restart, still tells what happened then.
func (w *Worker) buildNotices(ctx context.Context, job models.Job, j models.FanoutJob) error {
	any, err := w.store.AnySubscribers(ctx)
	if err != nil {
		return err
	}
	if !any {
		return w.store.FinishJob(ctx, job.ID) // nobody to tell
	}
	inc, err := w.store.IncidentByID(ctx, j.IncidentID)
	if errors.Is(err, models.ErrNotFound) {
		return w.store.FinishJob(ctx, job.ID)
	}
	if err != nil {
		return err
	}
	snap, err := w.store.StatusSnapshot(ctx)
	if err != nil {
		return err
	}
	all, err := w.store.IncidentUpdates(ctx, nil, 0, inc.ID)
	if err != nil {
		return err
	}
	var updates []models.IncidentUpdate
	var announced *models.IncidentUpdate
	for i, u := range all { // newest first
		if j.UpdateID == 0 || u.ID <= j.UpdateID {
			updates = append(updates, all[i])
		}
		if u.ID == j.UpdateID {
			announced = &all[i]
		}
	}
	if j.UpdateID != 0 && announced == nil {
		return w.store.FinishJob(ctx, job.ID) // hidden since: announced to nobody
	}
	if announced != nil {
		inc.Status = announced.Status
	}
	site := w.statuspageSite()
	root := w.out.Site.BaseURL
	at := w.store.Now()
	doc, err := json.Marshal(site.IncidentWebhook(snap, root, inc, updates, at))
	if err != nil {
		return err
	}
	subject, text, html := noticeMail(w.out.Site, j.Event, inc, announced)
	notices := []*models.Notice{{Event: j.Event, IncidentID: &inc.ID, Payload: string(doc), Subject: subject, TextBody: text, HTMLBody: html, CreatedAt: j.At}}
	if announced != nil {
		for _, tr := range announced.Transitions {
			cw, ok := site.ComponentWebhook(snap, root, announced, tr, at)
			if !ok {
				continue
			}
			doc, err := json.Marshal(cw)
			if err != nil {
				return err
			}
			notices = append(notices, &models.Notice{Event: models.AnnounceComponentUpdated, IncidentID: &inc.ID,
				ServiceID: &tr.ServiceID, Payload: string(doc), CreatedAt: j.At})
		}
	}
	return w.store.DoJob(ctx, job.ID, func(tx *models.Tx) error {
		if err := tx.CreateNotices(notices); err != nil {
			return err
		}
		for _, n := range notices {
			if err := tx.Enqueue(models.JobFanout, models.FanoutJob{Event: n.Event, IncidentID: inc.ID, At: j.At, NoticeID: n.ID}, w.store.Now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// statuspageSite is the site as the Statuspage documents name it: its page
// id is the one /api/v2 shows.
func (w *Worker) statuspageSite() statuspage.Site {
	base := ""
	if w.out.BaseURLSet {
		base = w.out.Site.BaseURL
	}
	return statuspage.Site{Name: w.out.Site.Name, BaseURL: base}
}

// deliver sends one notice to one subscriber, by webhook or by mail, and
// logs the attempt. A subscription unsubscribed or turned off meanwhile
// gets nothing.
func (w *Worker) deliver(ctx context.Context, job models.Job) error {
	var j models.DeliverJob
	if err := json.Unmarshal([]byte(job.Payload), &j); err != nil {
		return fmt.Errorf("deliver job %d: %w", job.ID, err)
	}
	sub, err := w.store.DeliverySubscription(ctx, j.SubscriptionID)
	var n *models.Notice
	if err == nil {
		n, err = w.notice(ctx, j.NoticeID)
	}
	if errors.Is(err, models.ErrNotFound) {
		return w.store.FinishJob(ctx, job.ID)
	}
	if err != nil {
		return err
	}
	if sub.State != models.SubscriptionActive {
		return w.store.FinishJob(ctx, job.ID)
	}
	if sub.Kind == models.SubscriptionWebhook {
		return w.deliverWebhook(ctx, job, n, sub)
	}
	return w.deliverMail(ctx, job, n, sub)
}

// unsubscribeURL is the link that ends what token names: the page with
// the button, and the address of RFC 8058's one-click POST.
func (w *Worker) unsubscribeURL(token string) string {
	return w.out.Site.URL("/subscriptions/unsubscribe?token=" + url.QueryEscape(token))
}

// giveUp tells whether a failing job has been tried long enough.
func (w *Worker) giveUp(job models.Job) bool { return w.Now().Sub(job.CreatedAt) >= w.GiveUpAfter }

// oneLine shortens an error for a log row or a mail.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// notice reads a notice through a small cache: a notice never changes, and
// its thousands of deliveries would each read it again.
func (w *Worker) notice(ctx context.Context, id int64) (*models.Notice, error) {
	w.noticeMu.Lock()
	n, ok := w.notices[id]
	w.noticeMu.Unlock()
	if ok {
		return n, nil
	}
	n, err := w.store.NoticeByID(ctx, id)
	if err != nil {
		return nil, err
	}
	w.noticeMu.Lock()
	defer w.noticeMu.Unlock()
	if len(w.notices) >= noticeCacheSize {
		clear(w.notices)
	}
	w.notices[id] = n
	return n, nil
}

// noticeCacheSize bounds the notices a worker keeps.
const noticeCacheSize = 64
