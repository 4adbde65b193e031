package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/statuspage"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that answers status (200 unless told) and
// keeps what it got.
type receiver struct {
	mu     sync.Mutex
	got    []received
	status int
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strings.Repeat("x", 200<<10))) // more than is read
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

// verifyStandardWebhook checks a request as the Standard Webhooks
// specification tells a receiver to, written out here rather than with the
// package's own Verify: the signed content is "id.timestamp.body", the key
// the base64-decoded secret after "whsec_", the signature HMAC-SHA256 in
// base64 after "v1,"; the timestamp is recent.
func verifyStandardWebhook(t *testing.T, secret string, r received) {
	t.Helper()
	id, ts, sig := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"), r.header.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q", ts)
	}
	now := time.Unix(sec, 0).Add(time.Minute) // received a minute later
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(r.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("signature %q, want %q", sig, want)
	}
	if err := Verify(secret, r.header, r.body, now, 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify(secret, r.header, append([]byte(" "), r.body...), now, 5*time.Minute); err == nil {
		t.Error("Verify took a changed body")
	}
	if err := Verify(secret, r.header, r.body, now.Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("Verify took an old timestamp")
	}
}

// decodePayload decodes into Statuspage's webhook shape, refusing any field
// the shape does not have.
func decodePayload(t *testing.T, body []byte) statuspage.WebhookPayload {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p statuspage.WebhookPayload
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("payload is not Statuspage's webhook shape: %v\n%s", err, body)
	}
	return p
}

// TestWebhookDelivery: an official update reaches a webhook subscriber as
// Statuspage's incident payload and, for the service whose status changed,
// its component payload, each signed per Standard Webhooks; its unsubscribe
// link names the subscription.
func TestWebhookDelivery(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	r := newReceiver(t)
	sub := e.subscribe(models.NewSubscription{Email: "ops@example.com", WebhookURL: r.srv.URL + "/hooks/status", ServiceIDs: []int64{e.mail.ID}})
	inc := e.declare("Mail delivery delayed")
	e.run()
	e.clock.Advance(10 * time.Minute)
	e.update(inc.ID, models.NewUpdate{Status: models.StatusIdentified, Body: "A *queue* backlog.",
		Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.MajorOutage}}})
	e.run()
	got := r.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4 (declared + its service's change, the update + its service's change)", len(got))
	}
	ids := map[string]bool{}
	var incidents, components []statuspage.WebhookPayload
	for _, req := range got {
		verifyStandardWebhook(t, sub.Secret, req)
		if req.header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", req.header.Get("Content-Type"))
		}
		ids[req.header.Get("webhook-id")] = true
		p := decodePayload(t, req.body)
		if p.Page.ID != "" && p.Meta.Documentation != testBase+"/subscribe#webhooks" || p.Meta.GeneratedAt == "" {
			t.Errorf("meta %+v", p.Meta)
		}
		tok, err := url.Parse(p.Meta.Unsubscribe)
		if err != nil || !strings.HasPrefix(p.Meta.Unsubscribe, testBase+"/subscriptions/unsubscribe?token=") {
			t.Fatalf("unsubscribe %q", p.Meta.Unsubscribe)
		}
		if what, err := e.store.UnsubscribeTarget(ctx, tok.Query().Get("token")); err != nil || what != models.UnsubscribedSubscription {
			t.Errorf("unsubscribe link: %q %v", what, err)
		}
		if p.Incident != nil {
			incidents = append(incidents, p)
		} else {
			components = append(components, p)
		}
	}
	if len(ids) != 4 {
		t.Errorf("webhook ids %v are not one per delivery", ids)
	}
	if len(incidents) != 2 || len(components) != 2 {
		t.Fatalf("%d incident and %d component payloads", len(incidents), len(components))
	}
	last := incidents[1]
	if last.Incident.ID != "1" || last.Incident.Name != "Mail delivery delayed" || last.Incident.Status != "identified" ||
		len(last.Incident.IncidentUpdates) != 2 || last.Incident.IncidentUpdates[0].Body != "A queue backlog." ||
		last.Incident.Shortlink != testBase+"/incidents/1" || last.Page.StatusIndicator != models.IndicatorCritical {
		t.Errorf("incident payload: %+v", last)
	}
	if strings.Contains(string(got[2].body), "scheduled_for") || strings.Contains(string(got[0].body), "scheduled_for") {
		t.Error("an incident's payload has maintenance fields; /api/v2 shows none for incidents")
	}
	c := components[1]
	if c.Component.ID != "1" || c.Component.Name != "Mail" || c.ComponentUpdate.OldStatus != models.PartialOutage ||
		c.ComponentUpdate.NewStatus != models.MajorOutage || c.ComponentUpdate.ComponentID != "1" {
		t.Errorf("component payload: %+v %+v", c.Component, c.ComponentUpdate)
	}
	log, err := e.store.Deliveries(ctx, sub.ID, models.Page{})
	if err != nil || len(log.Items) != 4 || log.Items[0].Status != 200 || log.Items[0].Error != "" || log.Items[0].Attempt != 1 {
		t.Errorf("delivery log: %+v %v", log.Items, err)
	}
}

// TestWebhookRetriesThenTurnsOff: a failing receiver is retried with
// growing pauses and the same webhook-id; after a day of failures the
// subscription is turned off and its address told by mail.
func TestWebhookRetriesThenTurnsOff(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	r := newReceiver(t)
	r.answer(http.StatusServiceUnavailable)
	sub := e.subscribe(models.NewSubscription{Email: "ops@example.com", WebhookURL: r.srv.URL})
	// No service changes status: one delivery to follow.
	inc, err := e.store.DeclareIncident(ctx, e.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail slower than usual",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.Operational}}})
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	if attempts := len(r.requests()); attempts != 1 {
		t.Fatalf("%d first attempts", attempts)
	}
	var pauses []time.Duration
	start := e.clock.Now()
	for e.clock.Now().Sub(start) < 25*time.Hour {
		var next time.Time
		db := e.count(`SELECT COUNT(*) FROM jobs WHERE kind = 'deliver'`)
		if db == 0 {
			break
		}
		if err := e.sqlScanTime(`SELECT MIN(run_at) FROM jobs WHERE kind = 'deliver'`, &next); err != nil {
			t.Fatal(err)
		}
		pauses = append(pauses, next.Sub(e.clock.Now()))
		e.clock.Advance(next.Sub(e.clock.Now()) + time.Second)
		e.run()
	}
	got := r.requests()
	ids := map[string]int{}
	for _, req := range got {
		ids[req.header.Get("webhook-id")]++
	}
	if len(ids) != 1 {
		t.Errorf("webhook ids %v: want the same one on every attempt", ids)
	}
	for i := 1; i < 8 && i < len(pauses); i++ {
		if pauses[i] < pauses[i-1] {
			t.Errorf("pause %d (%s) shorter than the one before (%s): %v", i, pauses[i], pauses[i-1], pauses)
		}
	}
	if len(pauses) < 10 || pauses[0] < 9*time.Second || pauses[len(pauses)-1] > 73*time.Minute {
		t.Errorf("pauses %v", pauses)
	}
	after, _ := e.store.SubscriptionByID(ctx, sub.ID)
	if after.State != models.SubscriptionDisabled || after.Failures < 20 {
		t.Fatalf("after a day of failures: %s, %d failures", after.State, after.Failures)
	}
	log, _ := e.store.Deliveries(ctx, sub.ID, models.Page{PerPage: 100})
	if log.Items[0].Status != 503 || !strings.Contains(log.Items[0].Error, "503") {
		t.Errorf("last logged attempt: %+v", log.Items[0])
	}
	msgs, err := e.smtp.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m, err := msgs[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(m.Body)
	if msgs[0].To[0] != "ops@example.com" || !strings.Contains(m.Header.Get("Subject"), "turned off") || !strings.Contains(string(body), "503") {
		t.Errorf("notice mail to %v: %s\n%s", msgs[0].To, m.Header.Get("Subject"), body)
	}
	// Turned off: the next announcement is not sent to it.
	before := len(r.requests())
	e.update(inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."})
	e.run()
	if len(r.requests()) != before {
		t.Error("a turned-off webhook was sent another announcement")
	}
}

func (e *env) sqlScanTime(q string, dst *time.Time) error {
	var s string
	db, err := openDB(e.path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRow(q).Scan(&s); err != nil {
		return err
	}
	*dst, err = time.Parse("2006-01-02 15:04:05.999999999-07:00", s)
	return err
}

// TestWebhookCannotReachInside: without -webhook-allow-private, a delivery
// to a name that resolves to loopback is refused when it is dialed (after
// DNS), the receiver gets nothing, and the log says why.
func TestWebhookCannotReachInside(t *testing.T) {
	e := newEnv(t, false)
	e.worker.Configure(Settings{Site: Site{Name: "Example", BaseURL: testBase}, AllowPrivate: false})
	r := newReceiver(t)
	port := r.srv.URL[strings.LastIndex(r.srv.URL, ":")+1:]
	sub := e.subscribe(models.NewSubscription{Email: "ops@example.com", WebhookURL: "http://localhost:" + port + "/hook"})
	e.declare("Mail delivery delayed")
	e.run()
	if n := len(r.requests()); n != 0 {
		t.Fatalf("the receiver on loopback got %d requests", n)
	}
	log, _ := e.store.Deliveries(context.Background(), sub.ID, models.Page{})
	if len(log.Items) == 0 || !strings.Contains(log.Items[0].Error, "loopback") || log.Items[0].Status != 0 {
		t.Errorf("delivery log: %+v", log.Items)
	}
}

func TestWebhookBody(t *testing.T) {
	doc, _ := json.Marshal(statuspage.IncidentWebhook{})
	b, err := webhookBody(string(doc), `https://x.example/u?token=a"b`)
	if err != nil {
		t.Fatal(err)
	}
	var p statuspage.IncidentWebhook
	if err := json.Unmarshal(b, &p); err != nil || p.Meta.Unsubscribe != `https://x.example/u?token=a"b` {
		t.Errorf("%s: %v", b, err)
	}
	if _, err := webhookBody(`{"page":{}}`, "x"); err == nil {
		t.Error("a payload without its meta first was taken")
	}
}

// TestRunRecordsTogether: the running worker delivers to many webhooks at
// once and logs every attempt (committed together), and no job is left.
func TestRunRecordsTogether(t *testing.T) {
	e := newEnv(t, false)
	r := newReceiver(t)
	e.seedSubscribers(120, r.srv.URL)
	if _, err := e.store.DeclareIncident(context.Background(), e.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail slower",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.Operational}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.worker.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT COUNT(*) FROM deliveries`) < 120 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if n := e.count(`SELECT COUNT(*) FROM deliveries WHERE status = 200 AND attempt = 1`); n != 120 {
		t.Errorf("%d deliveries logged, want 120", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM jobs`); n != 0 {
		t.Errorf("%d jobs left", n)
	}
	if n := len(r.requests()); n != 120 {
		t.Errorf("%d requests, want 120", n)
	}
}
