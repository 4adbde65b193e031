package models

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Kinds of mail.
const (
	MailConfirm      = "confirm"       // confirm a subscription
	MailSignup       = "signup"        // confirm a sign-up's address
	MailSignupExists = "signup_exists" // someone signed up with an address that has an account
	MailDisabled     = "disabled"      // a webhook subscription was turned off
	MailNotice       = "notice"        // an announcement to a subscriber
	MailFollow       = "follow"        // a post in a thread the person follows
)

// States of a mail in the outbox.
const (
	MailQueued  = "queued"   // written, waiting for the worker
	MailSent    = "sent"     // the SMTP server took it
	MailFailed  = "failed"   // the SMTP server refused it for good, or kept failing
	MailNotSent = "not_sent" // mail is off (no -smtp-url); Reason says so
)

// Mail is one mail to one person, as it is handed to the outbox.
type Mail struct {
	Kind    string
	To      string
	Subject string
	Text    string
	HTML    string
	// MessageID is the mail's stable id (without angle brackets); empty
	// for one made from its outbox row's id when it is sent.
	MessageID string
	// Headers are the mail's own header fields (In-Reply-To, References,
	// List-Unsubscribe ...), recorded with it.
	Headers map[string]string
	State   string // of a mail recorded after its attempt
	Reason  string

	NoticeID       *int64
	SubscriptionID *int64
	UserID         *int64
}

// OutboxMail is a row of the outbox: every mail written for one person
// (confirmations, sign-ups, a disabled webhook, followed threads) from
// queued to sent, and an announcement's copy only when it did not go out.
// A sent mail keeps its envelope and drops its parts, which may hold a
// one-time link.
type OutboxMail struct {
	ID             int64
	Kind           string
	ToAddr         string
	Subject        string
	TextBody       string
	HTMLBody       string
	Headers        string // JSON object
	MessageID      string
	State          string
	Reason         string
	NoticeID       *int64
	SubscriptionID *int64
	UserID         *int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName is the outbox.
func (OutboxMail) TableName() string { return "outbox" }

// HeaderMap decodes the recorded header fields.
func (m *OutboxMail) HeaderMap() map[string]string {
	out := map[string]string{}
	_ = json.Unmarshal([]byte(m.Headers), &out) // written by row() only
	return out
}

// MailJob sends one outbox mail.
type MailJob struct {
	OutboxID int64 `json:"outbox_id"`
}

func (s *Store) row(m Mail) *OutboxMail {
	h, _ := json.Marshal(m.Headers) // a map of strings always encodes
	if m.Headers == nil {
		h = []byte("{}")
	}
	state := m.State
	if state == "" {
		state = MailQueued
	}
	now := s.now()
	return &OutboxMail{Kind: m.Kind, ToAddr: m.To, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML, Headers: string(h),
		MessageID: m.MessageID, State: state, Reason: truncate(m.Reason, 500), NoticeID: m.NoticeID, SubscriptionID: m.SubscriptionID,
		UserID: m.UserID, CreatedAt: now, UpdatedAt: now}
}

// enqueueMail writes a mail to the outbox, queued, and the job that sends
// it, in the write transaction tx.
func (s *Store) enqueueMail(tx *gorm.DB, m Mail) (*OutboxMail, error) {
	m.State = MailQueued
	r := s.row(m)
	if err := tx.Create(r).Error; err != nil {
		return nil, err
	}
	return r, s.enqueue(tx, JobMail, MailJob{OutboxID: r.ID}, time.Time{})
}

// recordMail writes the outcome of a mail that was made and tried in one
// go (an announcement's or a followed thread's), keyed by its message id:
// a retry after a crash updates the row rather than adding one.
func (s *Store) recordMail(tx *gorm.DB, m Mail) error {
	r := s.row(m)
	return tx.Clauses(clause.OnConflict{
		Columns:     []clause.Column{{Name: "message_id"}},
		TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "message_id <> ''"}}},
		DoUpdates:   clause.AssignmentColumns([]string{"state", "reason", "subject", "text_body", "html_body", "headers", "updated_at"}),
	}).Create(r).Error
}

// OutboxMailByID reads one mail of the outbox.
func (s *Store) OutboxMailByID(ctx context.Context, id int64) (*OutboxMail, error) {
	var m OutboxMail
	if err := s.db.WithContext(ctx).First(&m, id).Error; err != nil {
		return nil, translate(err)
	}
	return &m, nil
}

// FinishMail records what became of an outbox mail's attempt: its state,
// why (for a mail not sent or failed), the message id it went out with,
// and, when the state is final, the end of its job. A sent mail drops its
// parts.
func (s *Store) FinishMail(ctx context.Context, jobID, outboxID int64, state, reason, messageID string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"state": state, "reason": truncate(reason, 500), "updated_at": s.now()}
		if messageID != "" {
			set["message_id"] = messageID
		}
		if state == MailSent {
			set["text_body"], set["html_body"] = "", ""
		}
		if err := tx.Model(&OutboxMail{}).Where("id = ?", outboxID).Updates(set).Error; err != nil {
			return err
		}
		if state == MailQueued {
			return nil // tried and to be tried again
		}
		return tx.Delete(&Job{}, jobID).Error
	})
}

// RecordMail records a mail made and tried by a job (a followed thread's)
// and ends the job, in one transaction.
func (s *Store) RecordMail(ctx context.Context, jobID int64, m Mail) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if m.State == MailSent {
			m.Text, m.HTML = "", ""
		}
		if err := s.recordMail(tx, m); err != nil {
			return err
		}
		return tx.Delete(&Job{}, jobID).Error
	})
}

// OutboxPerPage is the size of a page of the outbox.
const OutboxPerPage = 50

// MailStates lists the outbox states, for its filter.
var MailStates = []string{MailQueued, MailSent, MailFailed, MailNotSent}

// Outbox lists the outbox newest first, of one state or all ("").
func (s *Store) Outbox(ctx context.Context, state string, p Page) (Paged[OutboxMail], error) {
	p = p.Normalize(OutboxPerPage)
	q := s.db.WithContext(ctx).Model(&OutboxMail{})
	if state != "" {
		if !slices.Contains(MailStates, state) {
			return Paged[OutboxMail]{}, &ValidationError{Fields: map[string]string{"state": "The state is queued, sent, failed or not_sent."}}
		}
		q = q.Where("state = ?", state)
	}
	var out []OutboxMail
	err := q.Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&out).Error
	return paged(out, p), err
}

// Mail levels: which mails a person gets about the threads they follow.
const (
	MailOfficial = "official" // official updates and resolutions (the default)
	MailAll      = "all"      // also every reply and mention
	MailNever    = "never"
)

// MailLevels lists the levels, quietest last.
var MailLevels = []string{MailAll, MailOfficial, MailNever}

// SetMailLevel sets how much mail a person gets about followed threads.
func (s *Store) SetMailLevel(ctx context.Context, userID int64, level string) error {
	if !slices.Contains(MailLevels, level) {
		return &ValidationError{Fields: map[string]string{"mail_level": "Choose official, all or never."}}
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"mail_level": level, "updated_at": s.now()}).Error
	})
}

// FollowMailJob mails one person about one post (a reply, a mention, an
// official update) of a thread they follow.
type FollowMailJob struct {
	UserID int64  `json:"user_id"`
	PostID int64  `json:"post_id"`
	Kind   string `json:"kind"`
}

// followMails writes, in a notification job's transaction, one mail job for
// each notification that event wrote whose recipient's mail setting asks
// for it, with one statement.
func (t *Tx) followMails(eventID, postID int64) error {
	if postID == 0 {
		return nil
	}
	now := t.s.now()
	wroteOutbox(t.tx)
	at := t.s.param("TIMESTAMPTZ")
	return t.tx.Exec(`INSERT INTO jobs (kind, payload, run_at, attempts, last_error, created_at)
		SELECT ?, `+t.s.jsonObject("'user_id', n.user_id, 'post_id', "+t.s.param("BIGINT")+", 'kind', n.kind")+`, `+at+`, 0, '', `+at+`
		FROM notifications n JOIN users u ON u.id = n.user_id
		WHERE n.event_id = ? AND ((u.mail_level IN (?, ?) AND n.kind IN (?, ?)) OR (u.mail_level = ? AND n.kind IN (?, ?)))`,
		JobFollowMail, postID, now, now, eventID, MailOfficial, MailAll, NotifyOfficial, NotifyResolved,
		MailAll, NotifyReply, NotifyMention).Error
}

// FollowMail is what a mail about a followed thread needs.
type FollowMail struct {
	User     *User
	Post     *Post // with Author
	Thread   *Thread
	Incident *Incident // when the thread is an incident's
	// Token is the unsubscribe token of the person's mail about followed
	// threads.
	Token string
}

// FollowMailOf reads what the mail of j needs, or nil when it is no longer
// wanted: the person's setting changed, or the post is gone or hidden. The
// person's unsubscribe key is made on their first mail.
func (s *Store) FollowMailOf(ctx context.Context, j FollowMailJob) (*FollowMail, error) {
	u, err := s.UserByID(ctx, j.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	wanted := u.MailLevel == MailAll || u.MailLevel == MailOfficial && (j.Kind == NotifyOfficial || j.Kind == NotifyResolved)
	if !wanted {
		return nil, nil
	}
	var p Post
	if err := s.db.WithContext(ctx).Preload("Author").First(&p, j.PostID).Error; err != nil || p.HiddenAt != nil {
		return nil, ignoreNotFound(err)
	}
	var th Thread
	if err := s.db.WithContext(ctx).First(&th, p.ThreadID).Error; err != nil {
		return nil, ignoreNotFound(err)
	}
	out := &FollowMail{User: u, Post: &p, Thread: &th}
	var incs []Incident
	if err := s.db.WithContext(ctx).Where("thread_id = ?", th.ID).Limit(1).Find(&incs).Error; err != nil {
		return nil, err
	}
	if len(incs) > 0 {
		out.Incident = &incs[0]
	}
	if u.MailKey == "" {
		key := newSecret()
		if err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&User{}).Where("id = ? AND mail_key = ''", u.ID).Updates(map[string]any{
				"mail_key": key, "mail_unsubscribe_hash": hashSecret(deriveToken(key, "unsubscribe"))}).Error
		}); err != nil {
			return nil, err
		}
		if u, err = s.UserByID(ctx, u.ID); err != nil { // another worker may have made it first
			return nil, err
		}
		out.User = u
	}
	out.Token = deriveToken(u.MailKey, "unsubscribe")
	return out, nil
}
