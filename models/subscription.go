package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Subscription kinds and states.
const (
	SubscriptionEmail   = "email"
	SubscriptionWebhook = "webhook"

	SubscriptionPending  = "pending"  // waiting for its confirmation
	SubscriptionActive   = "active"   // confirmed: it is sent announcements
	SubscriptionDisabled = "disabled" // its webhook kept failing
)

// SubscriptionConfirmWindow is how long a subscription waits for its
// confirmation; housekeeping deletes it after that.
const SubscriptionConfirmWindow = 48 * time.Hour

// Confirmation mails are limited per address and per client, counted from
// the subscriptions made within the window (rows in the database, so every
// instance counts the same).
const (
	SubscribeWindow     = time.Hour
	SubscribePerAddress = 5
	SubscribePerClient  = 20
)

// WebhookURLMaxLen bounds a webhook address.
const WebhookURLMaxLen = 2000

// WebhookSecretPrefix starts a webhook's signing secret, as the Standard
// Webhooks specification writes them.
const WebhookSecretPrefix = "whsec_"

// Subscription is someone without an account who is sent official news by
// e-mail or webhook: of every service (AllServices), of chosen services
// (Services), or of one incident (IncidentID).
type Subscription struct {
	ID         int64
	Kind       string
	Email      string // the address told of the confirmation and of failures
	WebhookURL string
	// Secret signs webhooks ("whsec_" and base64, shown once when the
	// subscription is made) and is the key the unsubscribe token derives
	// from; e-mail subscriptions have one of their own, never shown.
	Secret          string
	IncidentID      *int64
	AllServices     bool
	State           string
	ConfirmHash     *string // SHA-256 of the confirmation token; NULL once confirmed
	UnsubscribeHash string  // SHA-256 of UnsubscribeToken
	// Failures counts the delivery attempts that failed since the last
	// that succeeded.
	Failures    int
	ClientIP    string
	CreatedAt   time.Time
	ConfirmedAt *time.Time
	UpdatedAt   time.Time
	Services    []SubscriptionService `gorm:"foreignKey:SubscriptionID"`
}

// SubscriptionService is one service a subscription chose.
type SubscriptionService struct {
	SubscriptionID int64 `gorm:"primaryKey;autoIncrement:false"`
	ServiceID      int64 `gorm:"primaryKey;autoIncrement:false"`
}

// ServiceIDs lists the services chosen (none for every service).
func (s *Subscription) ServiceIDs() []int64 {
	ids := make([]int64, 0, len(s.Services))
	for _, ss := range s.Services {
		ids = append(ids, ss.ServiceID)
	}
	slices.Sort(ids)
	return ids
}

// UnsubscribeToken is the token of the subscription's unsubscribe links. It
// is derived from the secret (HMAC-SHA256 with a purpose of its own), so it
// is never stored; the table keeps its SHA-256 to find the subscription.
func (s *Subscription) UnsubscribeToken() string { return deriveToken(s.Secret, "unsubscribe") }

// deriveToken is a single-purpose token made from key.
func deriveToken(key, purpose string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("sitrep " + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newWebhookSecret is a Standard Webhooks secret: "whsec_" and the base64
// of 32 random bytes.
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// NewSubscription is the input for subscribing.
type NewSubscription struct {
	Email      string
	WebhookURL string  // empty for e-mail
	ServiceIDs []int64 // none: every service
	IncidentID *int64  // one incident only
	ClientIP   string
}

// Check says what is wrong with in that can be told without the database
// (nil when nothing), so that a form can say it all at once.
func (in NewSubscription) Check() map[string]string {
	v := validation{}
	in.clean(v)
	if len(v) == 0 {
		return nil
	}
	return v
}

// clean validates what can be checked without the database.
func (in *NewSubscription) clean(v validation) {
	in.Email = strings.TrimSpace(in.Email)
	in.WebhookURL = strings.TrimSpace(in.WebhookURL)
	validateEmail(v, in.Email)
	if in.WebhookURL != "" {
		if msg := checkWebhookURL(in.WebhookURL); msg != "" {
			v.add("webhook_url", msg)
		}
	}
	if in.IncidentID != nil && len(in.ServiceIDs) > 0 {
		v.add("services", "Choose services or one incident, not both.")
	}
	seen := map[int64]bool{}
	for _, id := range in.ServiceIDs {
		if seen[id] {
			v.add("services", "Each service is listed once.")
		}
		seen[id] = true
	}
}

// checkWebhookURL says what is wrong with a webhook address ("" when
// nothing is). Where it leads (a private network) is checked by the caller,
// which resolves it.
func checkWebhookURL(raw string) string {
	if len(raw) > WebhookURLMaxLen {
		return "A webhook URL has at most 2000 characters."
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return "Enter a webhook URL such as https://example.com/hooks/status."
	case u.Scheme != "http" && u.Scheme != "https":
		return "A webhook URL starts with https:// (or http://)."
	case u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n"):
		return "A webhook URL has no spaces and no #fragment."
	}
	return ""
}

// CreateSubscription stores a pending subscription and its confirmation mail
// (made by confirmMail from the confirmation link's token) in one
// transaction, after checking the limits on confirmation mails: at most
// SubscribePerAddress to one address and SubscribePerClient from one client
// within SubscribeWindow. Services and the incident must exist. The
// returned subscription carries its Secret, which a webhook's owner is
// shown once.
func (s *Store) CreateSubscription(ctx context.Context, in NewSubscription, confirmMail func(sub *Subscription, token string) Mail) (*Subscription, error) {
	v := validation{}
	in.clean(v)
	kind := SubscriptionEmail
	secret := newSecret()
	if in.WebhookURL != "" {
		kind, secret = SubscriptionWebhook, newWebhookSecret()
	}
	token := newSecret()
	confirmHash := hashSecret(token)
	now := s.now()
	sub := &Subscription{Kind: kind, Email: in.Email, WebhookURL: in.WebhookURL, Secret: secret,
		IncidentID: in.IncidentID, AllServices: len(in.ServiceIDs) == 0 && in.IncidentID == nil,
		State: SubscriptionPending, ConfirmHash: &confirmHash, ClientIP: in.ClientIP, CreatedAt: now, UpdatedAt: now}
	sub.UnsubscribeHash = hashSecret(sub.UnsubscribeToken())
	err := s.write(ctx, func(tx *gorm.DB) error {
		if len(in.ServiceIDs) > 0 {
			var found []int64
			if err := tx.Model(&Service{}).Where("id IN ?", in.ServiceIDs).Pluck("id", &found).Error; err != nil {
				return err
			}
			for _, id := range in.ServiceIDs {
				if !slices.Contains(found, id) {
					v.add("services", fmt.Sprintf("There is no service %d; choose services from the catalogue (GET /api/v1/services).", id))
				}
			}
		}
		if in.IncidentID != nil {
			var n int64
			if err := tx.Model(&Incident{}).Where("id = ?", *in.IncidentID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				v.add("incident_id", fmt.Sprintf("There is no incident %d.", *in.IncidentID))
			}
		}
		if err := v.err(); err != nil {
			return err
		}
		if err := s.subscribeLimits(tx, in.Email, in.ClientIP); err != nil {
			return err
		}
		if err := tx.Omit("Services").Create(sub).Error; err != nil {
			return err
		}
		for _, id := range in.ServiceIDs {
			ss := SubscriptionService{SubscriptionID: sub.ID, ServiceID: id}
			if err := tx.Create(&ss).Error; err != nil {
				return err
			}
			sub.Services = append(sub.Services, ss)
		}
		m := confirmMail(sub, token)
		m.Kind, m.To, m.SubscriptionID = MailConfirm, sub.Email, &sub.ID
		_, err := s.enqueueMail(tx, m)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return sub, nil
}

// subscribeLimits refuses a subscription past the limits on confirmation
// mails, saying when the next one may be made.
func (s *Store) subscribeLimits(tx *gorm.DB, email, clientIP string) error {
	since := s.now().Add(-SubscribeWindow)
	for _, l := range []struct {
		col, val string
		max      int
		msg      string
	}{
		{"email", email, SubscribePerAddress, "This address was sent too many confirmation mails."},
		{"client_ip", clientIP, SubscribePerClient, "Too many subscriptions were made from your network."},
	} {
		if l.val == "" {
			continue
		}
		var rows []time.Time
		if err := tx.Model(&Subscription{}).Where(l.col+" = ? AND created_at > ?", l.val, since).
			Order("created_at").Limit(l.max).Pluck("created_at", &rows).Error; err != nil {
			return err
		}
		if len(rows) >= l.max {
			retry := rows[0].Add(SubscribeWindow).Sub(s.now())
			return &RateLimitError{RetryAfter: retry, Message: l.msg + " " + tryAgainIn(retry)}
		}
	}
	return nil
}

// tryAgainIn says when to try again, in whole minutes.
func tryAgainIn(d time.Duration) string {
	if d <= time.Minute {
		return "Try again in a minute."
	}
	return fmt.Sprintf("Try again in %d minutes.", int(d.Minutes()+0.999))
}

// PendingSubscription is the subscription a confirmation token belongs to,
// while it waits: a confirmation page shows it before its button is
// pressed. ErrNotFound when the token is unknown, used or expired.
func (s *Store) PendingSubscription(ctx context.Context, token string) (*Subscription, error) {
	var sub Subscription
	err := s.db.WithContext(ctx).Preload("Services").
		Where("confirm_hash = ? AND state = ? AND created_at > ?", hashSecret(token), SubscriptionPending, s.now().Add(-SubscriptionConfirmWindow)).
		First(&sub).Error
	if err != nil {
		return nil, translate(err)
	}
	return &sub, nil
}

// ConfirmSubscription makes a pending subscription active. The token works
// once; ErrNotFound when it is unknown, used or expired.
func (s *Store) ConfirmSubscription(ctx context.Context, token string) (*Subscription, error) {
	var sub Subscription
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("confirm_hash = ? AND state = ? AND created_at > ?", hashSecret(token), SubscriptionPending,
			s.now().Add(-SubscriptionConfirmWindow)).First(&sub).Error; err != nil {
			return err
		}
		now := s.now()
		sub.State, sub.ConfirmHash, sub.ConfirmedAt, sub.UpdatedAt = SubscriptionActive, nil, &now, now
		return tx.Model(&Subscription{}).Where("id = ?", sub.ID).Updates(map[string]any{
			"state": sub.State, "confirm_hash": nil, "confirmed_at": now, "updated_at": now}).Error
	})
	if err != nil {
		return nil, translate(err)
	}
	return &sub, nil
}

// Unsubscribe kinds: what an unsubscribe token ended.
const (
	UnsubscribedSubscription = "subscription" // a subscription, deleted
	UnsubscribedAccountMail  = "account"      // an account's mail about followed threads, set to never
)

// UnsubscribeTarget tells what an unsubscribe token would end, without
// ending it (the page a link opens); ErrNotFound when nothing.
func (s *Store) UnsubscribeTarget(ctx context.Context, token string) (string, error) {
	return s.unsubscribe(s.db.WithContext(ctx), token, false)
}

// Unsubscribe ends what the token names: it deletes a subscription, or
// stops an account's mail about followed threads. ErrNotFound when the
// token names nothing (any more).
func (s *Store) Unsubscribe(ctx context.Context, token string) (string, error) {
	var what string
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		what, err = s.unsubscribe(tx, token, true)
		return err
	})
	return what, translate(err)
}

func (s *Store) unsubscribe(tx *gorm.DB, token string, act bool) (string, error) {
	if token == "" {
		return "", ErrNotFound
	}
	h := hashSecret(token)
	var sub Subscription
	err := tx.Select("id").Where("unsubscribe_hash = ?", h).Take(&sub).Error
	switch {
	case err == nil:
		if act {
			err = tx.Delete(&Subscription{}, sub.ID).Error
		}
		return UnsubscribedSubscription, err
	case err != gorm.ErrRecordNotFound:
		return "", err
	}
	var u User
	// The second condition lets SQLite use the partial index.
	if err := tx.Select("id").Where("mail_unsubscribe_hash = ? AND mail_unsubscribe_hash <> ''", h).Take(&u).Error; err != nil {
		return "", translate(err)
	}
	if act {
		err = tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"mail_level": MailNever, "updated_at": s.now()}).Error
	}
	return UnsubscribedAccountMail, err
}

// SubscriptionsPerPage is the size of a page of the admins' list.
const SubscriptionsPerPage = 50

// SubscriptionInfo is a subscription as admins see it, with how many
// delivery attempts it had.
type SubscriptionInfo struct {
	Subscription
	Deliveries int
	// Recent holds its latest delivery attempts, newest first, when the
	// list was asked for them.
	Recent []Delivery
}

// ListSubscriptions lists subscriptions newest first, each with its services
// and delivery count and, when recent > 0, its latest delivery attempts.
// Admins only: the list holds addresses.
func (s *Store) ListSubscriptions(ctx context.Context, p Page, recent int) (Paged[SubscriptionInfo], error) {
	p = p.Normalize(SubscriptionsPerPage)
	var subs []Subscription
	err := s.db.WithContext(ctx).Preload("Services").Order("id DESC").Offset(p.offset()).Limit(p.PerPage + 1).Find(&subs).Error
	if err != nil {
		return Paged[SubscriptionInfo]{}, err
	}
	page := paged(subs, p)
	out := Paged[SubscriptionInfo]{Page: page.Page, HasNext: page.HasNext, Items: make([]SubscriptionInfo, len(page.Items))}
	if len(page.Items) == 0 {
		return out, nil
	}
	ids := make([]int64, len(page.Items))
	at := map[int64]int{}
	for i, sub := range page.Items {
		ids[i] = sub.ID
		at[sub.ID] = i
		out.Items[i].Subscription = sub
	}
	var counts []struct {
		SubscriptionID int64
		N              int
	}
	if err := s.db.WithContext(ctx).Model(&Delivery{}).Select("subscription_id, COUNT(*) AS n").
		Where("subscription_id IN ?", ids).Group("subscription_id").Scan(&counts).Error; err != nil {
		return out, err
	}
	for _, c := range counts {
		out.Items[at[c.SubscriptionID]].Deliveries = c.N
	}
	if recent > 0 {
		var ds []Delivery
		if err := s.db.WithContext(ctx).Raw(`SELECT * FROM deliveries d WHERE d.subscription_id IN ?
			AND (SELECT COUNT(*) FROM deliveries n WHERE n.subscription_id = d.subscription_id AND n.id > d.id) < ?
			ORDER BY d.id DESC`, ids, recent).Scan(&ds).Error; err != nil {
			return out, err
		}
		for _, d := range ds {
			i := at[d.SubscriptionID]
			out.Items[i].Recent = append(out.Items[i].Recent, d)
		}
	}
	return out, nil
}

// SubscriptionByID reads one subscription with its services.
func (s *Store) SubscriptionByID(ctx context.Context, id int64) (*Subscription, error) {
	var sub Subscription
	if err := s.db.WithContext(ctx).Preload("Services").First(&sub, id).Error; err != nil {
		return nil, translate(err)
	}
	return &sub, nil
}

// DeleteSubscription removes a subscription (an admin's decision), with its
// delivery log; the audit entry names it without its address, since
// moderators read the audit log.
func (s *Store) DeleteSubscription(ctx context.Context, actor *User, id int64) error {
	if actor.Role != RoleAdmin {
		return ErrForbidden
	}
	return translate(s.write(ctx, func(tx *gorm.DB) error {
		var sub Subscription
		if err := tx.Select("id", "kind", "state").First(&sub, id).Error; err != nil {
			return err
		}
		if err := tx.Delete(&Subscription{}, id).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "subscription.delete", "subscription", id, "", sub.Kind+" subscription, "+sub.State, "deleted")
	}))
}

// PruneSubscriptions deletes what is kept only for a while: subscriptions
// never confirmed, sign-ups never confirmed, and delivery logs, mails and
// announcements older than DeliveryRetention.
func (s *Store) PruneSubscriptions(ctx context.Context) (int, error) {
	now := s.now()
	old := now.Add(-DeliveryRetention)
	total := 0
	err := s.write(ctx, func(tx *gorm.DB) error {
		for _, q := range []struct {
			model any
			where string
			args  []any
		}{
			{&Subscription{}, "state = ? AND created_at < ?", []any{SubscriptionPending, now.Add(-SubscriptionConfirmWindow)}},
			{&PendingSignup{}, "expires_at < ?", []any{now}},
			{&Delivery{}, "created_at < ?", []any{old}},
			{&OutboxMail{}, "created_at < ? AND state <> ?", []any{old, MailQueued}},
			{&Notice{}, "created_at < ?", []any{old}},
		} {
			res := tx.Where(q.where, q.args...).Delete(q.model)
			if res.Error != nil {
				return res.Error
			}
			total += int(res.RowsAffected)
		}
		return nil
	})
	return total, err
}
