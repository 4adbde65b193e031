package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Announcement events, as notices and delivery logs name them: the change
// an incident's subscribers are told of, or a service's change of status
// (sent to webhooks only, as Statuspage's component updates are).
const (
	AnnounceIncidentCreated      = "incident.created"
	AnnounceIncidentUpdated      = "incident.updated"
	AnnounceIncidentResolved     = "incident.resolved"
	AnnounceIncidentPostmortem   = "incident.postmortem"
	AnnounceMaintenanceScheduled = "maintenance.scheduled"
	AnnounceMaintenanceStarted   = "maintenance.started"
	AnnounceMaintenanceUpdated   = "maintenance.updated"
	AnnounceMaintenanceCompleted = "maintenance.completed"
	AnnounceComponentUpdated     = "component.updated"
)

// Job kinds of the announcements.
const (
	// JobFanout builds an announcement's notices (NoticeID 0), then writes
	// the deliveries of one batch of subscribers of a notice and the job
	// for the next batch, exactly once each (in DoJob's transaction).
	JobFanout = "fanout"
	// JobDeliver sends one notice to one subscriber, at least once.
	JobDeliver = "deliver"
	// JobMail sends one mail of the outbox, at least once.
	JobMail = "mail"
	// JobFollowMail mails a person about a post in a thread they follow,
	// as their mail setting asks.
	JobFollowMail = "follow_mail"
)

// FanoutJob is an announcement on its way to the subscribers: first the
// change (Event, IncidentID, UpdateID), then one notice at a time, After
// the last subscriber id done.
type FanoutJob struct {
	Event      string `json:"event"`
	IncidentID int64  `json:"incident_id"`
	UpdateID   int64  `json:"update_id,omitempty"`
	// At is when the change was made: it goes to those subscribed then.
	At       time.Time `json:"at"`
	NoticeID int64     `json:"notice_id,omitempty"`
	After    int64     `json:"after,omitempty"`
}

// DeliverJob sends one notice to one subscriber.
type DeliverJob struct {
	NoticeID       int64 `json:"notice_id"`
	SubscriptionID int64 `json:"subscription_id"`
}

// announce writes the one job that takes a change to the subscribers, in
// the change's transaction: whatever the number of subscribers, the
// request writes one row.
func (s *Store) announce(tx *gorm.DB, event string, incidentID, updateID int64) error {
	return s.enqueue(tx, JobFanout, FanoutJob{Event: event, IncidentID: incidentID, UpdateID: updateID, At: s.now()}, time.Time{})
}

// updateEvent names the announcement of an official update; first is the
// update that declared the incident or scheduled the maintenance.
func updateEvent(inc *Incident, first bool) string {
	maint := inc.Kind == KindMaintenance
	switch {
	case first && maint:
		return AnnounceMaintenanceScheduled
	case first:
		return AnnounceIncidentCreated
	case maint && inc.Status == StatusInProgress:
		return AnnounceMaintenanceStarted
	case maint && inc.Status == StatusCompleted:
		return AnnounceMaintenanceCompleted
	case maint:
		return AnnounceMaintenanceUpdated
	case inc.Status == StatusResolved:
		return AnnounceIncidentResolved
	}
	return AnnounceIncidentUpdated
}

// Notice is one announcement, built once and read by every delivery of it:
// the webhook document without its per-subscriber meta.unsubscribe, and the
// mail's subject and parts without the per-subscriber footer. A
// component notice (ServiceID set) goes to webhooks only and has no mail.
// CreatedAt is when the change was made; it goes to the subscriptions
// confirmed by then.
type Notice struct {
	ID         int64
	Event      string
	IncidentID *int64
	ServiceID  *int64
	Payload    string
	Subject    string
	TextBody   string
	HTMLBody   string
	CreatedAt  time.Time
}

// DeliveryRetention is how long delivery logs, sent mails and notices are
// kept.
const DeliveryRetention = 30 * 24 * time.Hour

// Delivery is one attempt to deliver a notice to a subscriber: the HTTP
// status or SMTP code (0 when there was no answer), how long it took, and
// what went wrong.
type Delivery struct {
	ID             int64
	SubscriptionID int64
	NoticeID       *int64
	Event          string
	Attempt        int
	Status         int
	LatencyMS      int
	Error          string
	CreatedAt      time.Time
}

// DeliveriesPerPage is the size of a page of a delivery log.
const DeliveriesPerPage = 50

// AnySubscribers tells whether any subscription is active: without one an
// announcement needs no notice.
func (s *Store) AnySubscribers(ctx context.Context) (bool, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Model(&Subscription{}).Where("state = ?", SubscriptionActive).Limit(1).Pluck("id", &ids).Error
	return len(ids) > 0, err
}

// CreateNotices writes the notices of an announcement in the job's
// transaction, setting their ids.
func (t *Tx) CreateNotices(ns []*Notice) error {
	for _, n := range ns {
		if n.CreatedAt.IsZero() {
			n.CreatedAt = t.s.now()
		}
		if err := t.tx.Create(n).Error; err != nil {
			return err
		}
	}
	return nil
}

// matchSQL selects the subscriptions s that a notice goes to: for an
// incident, those of that incident and those of every service or of a
// service it touches; for a service's change, the webhooks of every
// service or of that service.
func matchSQL(n *Notice) (string, []any) {
	if n.ServiceID != nil {
		return `s.kind = 'webhook' AND s.incident_id IS NULL AND (s.all_services = TRUE
			OR EXISTS (SELECT 1 FROM subscription_services ss WHERE ss.subscription_id = s.id AND ss.service_id = ?))`, []any{*n.ServiceID}
	}
	var inc int64
	if n.IncidentID != nil {
		inc = *n.IncidentID
	}
	return `(s.incident_id = ? OR (s.incident_id IS NULL AND (s.all_services = TRUE
			OR EXISTS (SELECT 1 FROM subscription_services ss JOIN incident_services i ON i.service_id = ss.service_id
				WHERE ss.subscription_id = s.id AND i.incident_id = ?))))`, []any{inc, inc}
}

// FanOut writes a delivery job for each of the next limit active
// subscribers of notice n with an id above after, in id order, with one
// statement, and returns how many it wrote. When the batch is full, more
// is called with the batch's last id to write the job of the next batch.
// Those who subscribed after the change are not told of it (after a
// restart with a backlog, or the demo's history).
func (t *Tx) FanOut(n *Notice, after int64, limit int, more func(last int64) error) (int, error) {
	cond, args := matchSQL(n)
	var batch struct {
		Last  int64
		Count int
	}
	if err := t.tx.Raw(`SELECT COALESCE(MAX(id), 0) AS last, COUNT(*) AS count FROM (
			SELECT s.id FROM subscriptions s WHERE s.state = ? AND s.id > ? AND s.confirmed_at <= ? AND `+cond+` ORDER BY s.id LIMIT ?) AS batch`,
		append(append([]any{SubscriptionActive, after, n.CreatedAt}, args...), limit)...).Scan(&batch).Error; err != nil || batch.Count == 0 {
		return 0, err
	}
	if batch.Count == limit {
		if err := more(batch.Last); err != nil {
			return 0, err
		}
	}
	now := t.s.now()
	wroteOutbox(t.tx)
	at := t.s.param("TIMESTAMPTZ")
	err := t.tx.Exec(`INSERT INTO jobs (kind, payload, run_at, attempts, last_error, created_at)
		SELECT ?, `+t.s.jsonObject("'notice_id', "+t.s.param("BIGINT")+", 'subscription_id', s.id")+`, `+at+`, 0, '', `+at+`
		FROM subscriptions s WHERE s.state = ? AND s.id > ? AND s.id <= ? AND s.confirmed_at <= ? AND `+cond+` ORDER BY s.id`,
		append([]any{JobDeliver, n.ID, now, now, SubscriptionActive, after, batch.Last, n.CreatedAt}, args...)...).Error
	return batch.Count, err
}

// NoticeByID reads a notice.
func (s *Store) NoticeByID(ctx context.Context, id int64) (*Notice, error) {
	var n Notice
	if err := s.db.WithContext(ctx).First(&n, id).Error; err != nil {
		return nil, translate(err)
	}
	return &n, nil
}

// DeliverySubscription reads the subscription a delivery goes to, without
// its services (ErrNotFound when it is gone).
func (s *Store) DeliverySubscription(ctx context.Context, id int64) (*Subscription, error) {
	var sub Subscription
	if err := s.db.WithContext(ctx).Take(&sub, id).Error; err != nil {
		return nil, translate(err)
	}
	return &sub, nil
}

// DeliveryOutcome is what became of one attempt.
type DeliveryOutcome struct {
	// Done ends the job: delivered, or given up.
	Done bool
	// Failed counts the attempt as a failure of the subscription.
	Failed bool
	// Disable turns the subscription off (its webhook kept failing) and
	// queues Notice, the mail that tells its address so.
	Disable bool
	Notice  *Mail
	// Outbox records a mail that could not go out (mail is off, or it
	// failed for good), so that it does not vanish without a trace.
	Outbox *Mail
}

// RecordDelivery logs one delivery attempt of a job and what follows from
// it, in one transaction: the subscription's failure count (reset by a
// success), its disabling with the mail that says so, the outbox row of a
// mail that did not go out, and the end of the job when it is done. A job
// that is not done is given back by the worker to be retried.
func (s *Store) RecordDelivery(ctx context.Context, jobID int64, d Delivery, o DeliveryOutcome) error {
	return s.write(ctx, func(tx *gorm.DB) error { return s.recordDelivery(tx, jobID, d, o) })
}

// DeliveryRecord is one attempt to record, for RecordDeliveries.
type DeliveryRecord struct {
	JobID    int64
	Delivery Delivery
	Outcome  DeliveryOutcome
}

// RecordDeliveries records several attempts (of several jobs) in one
// transaction, as RecordDelivery does each: a worker delivering many at
// once commits their logs together instead of waiting for the disk once
// per delivery. If it fails, none is recorded.
func (s *Store) RecordDeliveries(ctx context.Context, recs []DeliveryRecord) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		for _, r := range recs {
			if err := s.recordDelivery(tx, r.JobID, r.Delivery, r.Outcome); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) recordDelivery(tx *gorm.DB, jobID int64, d Delivery, o DeliveryOutcome) error {
	d.CreatedAt = s.now()
	if err := tx.Create(&d).Error; err != nil {
		return err
	}
	set := map[string]any{"failures": 0}
	if o.Failed {
		set["failures"] = gorm.Expr("failures + 1")
	}
	if o.Disable {
		set["state"], set["updated_at"] = SubscriptionDisabled, s.now()
	}
	res := tx.Model(&Subscription{}).Where("id = ?", d.SubscriptionID).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if o.Disable && o.Notice != nil && res.RowsAffected > 0 {
		m := *o.Notice
		m.Kind, m.SubscriptionID = MailDisabled, &d.SubscriptionID
		var to []string
		if err := tx.Model(&Subscription{}).Where("id = ?", d.SubscriptionID).Pluck("email", &to).Error; err != nil || len(to) == 0 {
			return err
		}
		m.To = to[0]
		if _, err := s.enqueueMail(tx, m); err != nil {
			return err
		}
	}
	if o.Outbox != nil {
		if err := s.recordMail(tx, *o.Outbox); err != nil {
			return err
		}
	}
	if o.Done {
		return tx.Delete(&Job{}, jobID).Error
	}
	return nil
}

// Deliveries lists a subscription's delivery attempts, newest first.
func (s *Store) Deliveries(ctx context.Context, subscriptionID int64, p Page) (Paged[Delivery], error) {
	p = p.Normalize(DeliveriesPerPage)
	var out []Delivery
	err := s.db.WithContext(ctx).Where("subscription_id = ?", subscriptionID).Order("id DESC").
		Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// NoticeTexts reads the mail text of the given notices, by id (what the
// outbox shows for an announcement's copy that did not go out).
func (s *Store) NoticeTexts(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Notice
	err := s.db.WithContext(ctx).Select("id", "text_body").Where("id IN ?", ids).Find(&rows).Error
	for _, n := range rows {
		out[n.ID] = n.TextBody
	}
	return out, err
}
