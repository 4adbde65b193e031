package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sitrep/models"
	"sitrep/server/notify/ssrf"
)

// Webhooks: Statuspage's payloads, signed per the Standard Webhooks
// specification (https://www.standardwebhooks.com/): headers webhook-id
// (the same on every attempt of one delivery), webhook-timestamp (Unix
// seconds of the attempt) and webhook-signature ("v1," and the base64
// HMAC-SHA256 of "id.timestamp.body", keyed with the base64-decoded part of
// the secret after "whsec_").

const (
	// WebhookTimeout bounds one attempt: a 2xx within it is a success.
	WebhookTimeout = 10 * time.Second
	// webhookAnswerLimit is how much of an answer is read.
	webhookAnswerLimit = 64 << 10
)

// newWebhookClient is the HTTP client of deliveries: its dialer refuses
// addresses inside (unless allowPrivate), on every connection after DNS; it
// follows no redirect, uses no proxy, and gives an attempt WebhookTimeout.
func newWebhookClient(allowPrivate bool) *http.Client {
	d := ssrf.Dialer(allowPrivate, 5*time.Second)
	return &http.Client{
		Timeout: WebhookTimeout,
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would dial for us, unchecked
			DialContext:            d.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  WebhookTimeout,
			MaxResponseHeaderBytes: webhookAnswerLimit,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WebhookID is the id of one notice's delivery to one subscriber: the same
// on every attempt, so that receivers can drop a duplicate.
func WebhookID(noticeID, subscriptionID int64) string {
	return fmt.Sprintf("msg_n%ds%d", noticeID, subscriptionID)
}

// Sign is the webhook-signature of body, sent with id at ts, under secret.
func Sign(secret, id string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, models.WebhookSecretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Verify checks a delivery as a receiver should: a signature of the
// webhook-signature header (which may list several, space-separated)
// matches, and the timestamp is within tolerance of now, so that a
// captured request cannot be replayed later.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("webhook-id, webhook-timestamp or webhook-signature missing")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a number")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp is %s away from now", d.Round(time.Second))
	}
	want, err := Sign(secret, id, sec, body)
	if err != nil {
		return err
	}
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// metaPrefix starts every stored payload: meta comes first, its
// unsubscribe first and empty, to be filled for each delivery.
const metaPrefix = `{"meta":{"unsubscribe":""`

// webhookBody is a notice's payload with the subscriber's unsubscribe link,
// spliced in rather than encoded again for each of many deliveries.
func webhookBody(payload, unsubscribe string) ([]byte, error) {
	if !strings.HasPrefix(payload, metaPrefix) {
		return nil, errors.New("notice payload does not start with its meta")
	}
	link, err := json.Marshal(unsubscribe)
	if err != nil {
		return nil, err
	}
	return []byte(`{"meta":{"unsubscribe":` + string(link) + payload[len(metaPrefix):]), nil
}

// postWebhook makes one attempt: the answer's status, and why it failed
// (nil for a 2xx).
func (w *Worker) postWebhook(ctx context.Context, n *models.Notice, sub *models.Subscription) (int, error) {
	body, err := webhookBody(n.Payload, w.unsubscribeURL(sub.UnsubscribeToken()))
	if err != nil {
		return 0, err
	}
	id := WebhookID(n.ID, sub.ID)
	ts := w.Now().Unix()
	sig, err := Sign(sub.Secret, id, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sitrep-Webhooks/1 (+"+w.out.Site.URL("/subscribe#webhooks")+")")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.webhooks.Do(req)
	if err != nil {
		var be *ssrf.BlockedError
		if errors.As(err, &be) {
			return 0, be
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookAnswerLimit))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// deliverWebhook makes one attempt and logs it. A failure is retried with
// backoff; after GiveUpAfter the subscription is turned off and its
// address told.
func (w *Worker) deliverWebhook(ctx context.Context, job models.Job, n *models.Notice, sub *models.Subscription) error {
	start := time.Now()
	status, err := w.postWebhook(ctx, n, sub)
	d := models.Delivery{SubscriptionID: sub.ID, NoticeID: &n.ID, Event: n.Event, Attempt: job.Attempts, Status: status,
		LatencyMS: int(time.Since(start).Milliseconds())}
	if err == nil {
		return w.recordDelivery(ctx, job.ID, d, models.DeliveryOutcome{Done: true})
	}
	d.Error = oneLine(err)
	if w.giveUp(job) {
		m := webhookDisabledMail(w.out.Site, sub, d.Error, w.GiveUpAfter)
		w.log.Warn("webhook turned off after failing", "subscription", sub.ID, "error", d.Error)
		return w.recordDelivery(ctx, job.ID, d, models.DeliveryOutcome{Done: true, Failed: true, Disable: true, Notice: &m})
	}
	if rerr := w.recordDelivery(ctx, job.ID, d, models.DeliveryOutcome{Failed: true}); rerr != nil {
		return rerr
	}
	return fmt.Errorf("webhook %d: %s", sub.ID, d.Error)
}
