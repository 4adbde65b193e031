package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/notify"
	"sitrep/server/notify/mailtest"
)

// linkBase is where links in the tests' mails lead.
const linkBase = "https://status.example.test"

// mailEnv is an app that sends mail through an in-process SMTP server,
// with a worker that delivers as the server's does.
type mailEnv struct {
	*testEnv
	smtp   *mailtest.Server
	worker *notify.Worker
}

func newMailEnv(t *testing.T, adjust func(*Config)) *mailEnv {
	t.Helper()
	e := newTestEnvConfig(t, func(c *Config) {
		c.MailOn, c.LinkURL = true, linkBase
		adjust(c)
	})
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg, err := notify.ParseSMTP(srv.URL(), "Sitrep Status <status@example.test>")
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := notify.NewSMTPMailer(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mailer.Close)
	w := notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Now = e.clock.Now
	w.Configure(notify.Settings{Site: notify.Site{Name: "Sitrep", BaseURL: linkBase}, BaseURLSet: true, Mailer: mailer, AllowPrivate: true})
	return &mailEnv{testEnv: e, smtp: srv, worker: w}
}

// deliver runs the due jobs until none is left.
func (e *mailEnv) deliver() {
	for e.worker.RunDue(context.Background()) > 0 {
	}
}

// mailOf waits for the n-th mail (1-based) and parses it.
func (e *mailEnv) mailOf(n int) (*mail.Message, mailtest.Message, string, string) {
	e.t.Helper()
	msgs, err := e.smtp.Wait(n, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	raw := msgs[n-1]
	m, err := raw.Parse()
	if err != nil {
		e.t.Fatal(err)
	}
	text, html := mailParts(e.t, m)
	return m, raw, text, html
}

// mailParts reads the text and HTML parts of a multipart/alternative mail.
func mailParts(t testing.TB, m *mail.Message) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
}

// linkIn finds the first link to the site's path in a mail's text and
// returns it as a path and query to request.
func linkIn(t testing.TB, text, path string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(linkBase+path) + `\?token=[A-Za-z0-9_%-]+`).FindString(text)
	if m == "" {
		t.Fatalf("no link to %s in:\n%s", path, text)
	}
	return strings.TrimPrefix(m, linkBase)
}

// formOf reads the one POST form of a page: its action and fields.
func formOf(t testing.TB, page string) (string, url.Values) {
	t.Helper()
	forms := regexp.MustCompile(`(?s)<form method="post" action="([^"]+)" class="form">(.*?)</form>`).FindAllStringSubmatch(page, -1)
	if len(forms) != 1 {
		t.Fatalf("%d forms in the page:\n%s", len(forms), page)
	}
	vals := url.Values{}
	for _, in := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(forms[0][2], -1) {
		vals.Set(in[1], in[2])
	}
	return forms[0][1], vals
}

// TestSubscribeByMail is the acceptance: a visitor subscribes from
// the dashboard, confirms through the confirmation page's button, gets
// each official update of the services they chose (threaded, marked
// automatic, with one-click unsubscribe), not those of other services, and
// leaves with a one-click POST; no mail follows.
func TestSubscribeByMail(t *testing.T) {
	e := newMailEnv(t, func(*Config) {})
	staff := e.user("sam.support", models.RoleStaff)
	mailSvc := e.service(models.NewService{Name: "Mail"})
	webSvc := e.service(models.NewService{Name: "Web"})

	home := e.page("/", nil)
	mustContain(t, "dashboard", home, `href="/subscribe">Subscribe to updates</a>`)
	form := e.page("/subscribe", nil)
	mustContain(t, "subscribe page", form, `name="email"`, fmt.Sprintf(`name="services" value="%d"`, mailSvc.ID))
	// The form's first choice ("every service") is left selected; ticking a
	// service chooses it.
	w := e.must(http.StatusAccepted, req{method: http.MethodPost, path: "/subscribe", form: url.Values{
		"email": {"pat@example.com"}, "scope": {"all"}, "services": {fmt.Sprint(mailSvc.ID)}}})
	mustContain(t, "answer", w.Body.String(), "Check your mail")

	e.deliver()
	confirm, raw, text, html := e.mailOf(1)
	if raw.To[0] != "pat@example.com" || !strings.Contains(confirm.Header.Get("Subject"), "Confirm your subscription") ||
		confirm.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(html, "<a href=") {
		t.Fatalf("confirmation mail: %v\n%s", confirm.Header, text)
	}
	// Opening the link (as a mail scanner would) changes nothing.
	link := linkIn(t, text, "/subscriptions/confirm")
	page := e.page(link, nil)
	e.page(link, nil)
	action, fields := formOf(t, page)
	e.must(http.StatusOK, req{method: http.MethodPost, path: action, form: fields})

	ctx := context.Background()
	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: mailSvc.ID, Status: models.PartialOutage}}})
	e.deliver()
	e.clock.Advance(10 * time.Minute)
	e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: e.token(staff),
		json: `{"status":"identified","body":"A queue **backlog**; nothing is lost."}`})
	e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Web slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: webSvc.ID, Status: models.DegradedPerformance}}})
	e.deliver()
	first, _, _, _ := e.mailOf(2)
	update, raw, text, html := e.mailOf(3)
	if n := e.smtp.Count(); n != 3 {
		t.Errorf("%d mails: the incident on another service was sent too", n)
	}
	h := update.Header
	root := first.Header.Get("Message-ID")
	if raw.To[0] != "pat@example.com" || h.Get("Subject") != "[Sitrep] Mail delivery delayed" || h.Get("In-Reply-To") != root ||
		h.Get("References") != root || root == "" || h.Get("Message-ID") == root || h.Get("Auto-Submitted") != "auto-generated" ||
		h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("From") != `"Sitrep Status" <status@example.test>` {
		t.Fatalf("update mail headers: %v", h)
	}
	if !strings.Contains(text, "Identified: Mail delivery delayed") || !strings.Contains(text, "nothing is lost") ||
		!strings.Contains(html, "<strong>backlog</strong>") {
		t.Errorf("update mail parts:\n%s\n%s", text, html)
	}
	unsub := strings.Trim(h.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, linkBase+"/subscriptions/unsubscribe?token=") {
		t.Fatalf("List-Unsubscribe %q", unsub)
	}
	path := strings.TrimPrefix(unsub, linkBase)
	// A GET shows the button and unsubscribes nothing.
	mustContain(t, "unsubscribe page", e.page(path, nil), "Unsubscribe</button>")
	// RFC 8058: the mail provider POSTs List-Unsubscribe=One-Click to the
	// address, without cookies and without an Origin.
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: path, form: url.Values{"List-Unsubscribe": {"One-Click"}},
		header: map[string]string{"Sec-Fetch-Site": ""}})
	mustContain(t, "one-click answer", w.Body.String(), "You are unsubscribed")
	e.must(http.StatusOK, req{method: http.MethodPost, path: path, form: url.Values{"List-Unsubscribe": {"One-Click"}},
		header: map[string]string{"Sec-Fetch-Site": ""}})

	e.clock.Advance(10 * time.Minute)
	if _, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if n := e.smtp.Count(); n != 3 {
		t.Errorf("%d mails after unsubscribing, want no more than 3", n)
	}
}

// TestSubscribeFromIncidentPage: an incident page offers a subscription to
// that incident alone, which the form keeps.
func TestSubscribeFromIncidentPage(t *testing.T) {
	e := newTestEnv(t)
	staff := e.user("sam.support", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.PartialOutage}}})
	mustContain(t, "incident page", e.page(fmt.Sprintf("/incidents/%d", inc.ID), nil), fmt.Sprintf(`href="/subscribe?incident=%d"`, inc.ID))
	e.must(http.StatusAccepted, req{method: http.MethodPost, path: "/subscribe", form: url.Values{
		"email": {"pat@example.com"}, "scope": {"incident"}, "incident_id": {fmt.Sprint(inc.ID)}}})
	list, err := e.store.ListSubscriptions(context.Background(), models.Page{}, 0)
	if err != nil || len(list.Items) != 1 || list.Items[0].IncidentID == nil || *list.Items[0].IncidentID != inc.ID {
		t.Fatalf("subscriptions: %+v %v", list.Items, err)
	}
}

// TestSubscribeBadInput: malformed addresses and URLs, unknown services and
// incidents, and webhooks aimed inside are refused with 422 and a message
// per field, by the API and by the form.
func TestSubscribeBadInput(t *testing.T) {
	e := newTestEnv(t)
	svc := e.service(models.NewService{Name: "Mail"})
	for body, want := range map[string][2]string{
		`{"email":"not an address"}`: {"email", "such as name@example.com"},
		`{"email":""}`:               {"email", "Enter an email address"},
		`{"email":"a@example.com","webhook_url":"ftp://example.com/x"}`:            {"webhook_url", "starts with https://"},
		`{"email":"a@example.com","webhook_url":"not a url"}`:                      {"webhook_url", "Enter a webhook URL"},
		`{"email":"a@example.com","services":[99]}`:                                {"services", "There is no service 99"},
		`{"email":"a@example.com","incident_id":42}`:                               {"incident_id", "There is no incident 42"},
		`{"email":"a@example.com","services":["mail"]}`:                            {"services", "expected a JSON whole number"},
		`{"email":"a@example.com","webhook_url":"http://127.0.0.1:8080/hook"}`:     {"webhook_url", "loopback"},
		`{"email":"a@example.com","webhook_url":"https://10.1.2.3/hook"}`:          {"webhook_url", "private"},
		`{"email":"a@example.com","webhook_url":"http://169.254.169.254/latest"}`:  {"webhook_url", "link-local"},
		`{"email":"a@example.com","webhook_url":"http://[::1]/hook"}`:              {"webhook_url", "loopback"},
		`{"email":"a@example.com","webhook_url":"http://[::ffff:127.0.0.1]/hook"}`: {"webhook_url", "loopback"},
		`{"email":"a@example.com","webhook_url":"http://localhost:9/hook"}`:        {"webhook_url", "leads only to addresses"},
	} {
		w := e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: "/api/v1/subscriptions", json: body})
		wantJSONError(t, w, "invalid", want[0]+": ", want[1])
	}
	w := e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: "/subscribe", form: url.Values{
		"email": {"nope"}, "webhook_url": {"http://127.0.0.1/x"}, "scope": {"all"}}})
	mustContain(t, "form", w.Body.String(), "such as name@example.com", "loopback", `value="http://127.0.0.1/x"`)
	checkAccessible(t, "subscribe with errors", w.Body.String())
	w = e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: "/subscribe", form: url.Values{
		"email": {"a@example.com"}, "scope": {"services"}}})
	mustContain(t, "form", w.Body.String(), "Choose at least one service")
	if list, _ := e.store.ListSubscriptions(context.Background(), models.Page{}, 0); len(list.Items) != 0 {
		t.Errorf("%d subscriptions stored from bad input", len(list.Items))
	}
	// With the flag, a private address is taken.
	ok := newTestEnvConfig(t, func(c *Config) { c.WebhookAllowPrivate = true })
	ok.service(models.NewService{Name: "Mail"})
	w = ok.must(http.StatusAccepted, req{method: http.MethodPost, path: "/api/v1/subscriptions",
		json: fmt.Sprintf(`{"email":"ops@example.com","webhook_url":"http://127.0.0.1:9/hook","services":[%d]}`, svc.ID)})
	got := decodeAs[struct {
		ID     int64  `json:"id"`
		State  string `json:"state"`
		Secret string `json:"secret"`
	}](t, w)
	if got.ID == 0 || got.State != "pending" || !strings.HasPrefix(got.Secret, "whsec_") {
		t.Errorf("webhook subscription: %+v", got)
	}
	w = ok.must(http.StatusAccepted, req{method: http.MethodPost, path: "/api/v1/subscriptions", json: `{"email":"pat@example.com"}`})
	if strings.Contains(w.Body.String(), "secret") {
		t.Errorf("an e-mail subscription's answer has a secret: %s", w.Body.String())
	}
}

// TestSubscribeLimits: confirmation mails to one address are limited,
// counted in the database, with 429 and Retry-After.
func TestSubscribeLimits(t *testing.T) {
	e := newTestEnv(t)
	for range models.SubscribePerAddress {
		e.must(http.StatusAccepted, req{method: http.MethodPost, path: "/api/v1/subscriptions", json: `{"email":"many@example.com"}`})
	}
	w := e.must(http.StatusTooManyRequests, req{method: http.MethodPost, path: "/api/v1/subscriptions", json: `{"email":"many@example.com"}`})
	wantJSONError(t, w, "rate_limited", "too many confirmation mails")
	if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	w = e.must(http.StatusTooManyRequests, req{method: http.MethodPost, path: "/subscribe", form: url.Values{"email": {"many@example.com"}, "scope": {"all"}}})
	if w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "too many confirmation mails") {
		t.Errorf("form past the limit: %v %.300s", w.Header(), w.Body.String())
	}
	e.clock.Advance(models.SubscribeWindow)
	e.must(http.StatusAccepted, req{method: http.MethodPost, path: "/api/v1/subscriptions", json: `{"email":"many@example.com"}`})
}

// TestSubscriptionAdmin: admins list subscriptions with their addresses,
// page through them, read a delivery log and remove one; the pages say
// what was delivered.
func TestSubscriptionAdmin(t *testing.T) {
	e := newTestEnv(t)
	boss := e.user("boss", models.RoleAdmin)
	staff := e.user("sam.support", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	var ids []int64
	for i := range 3 {
		var token string
		sub, err := e.store.CreateSubscription(context.Background(), models.NewSubscription{Email: fmt.Sprintf("r%d@example.com", i), ServiceIDs: []int64{svc.ID}},
			func(_ *models.Subscription, t string) models.Mail { token = t; return models.Mail{Subject: "Confirm"} })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.ConfirmSubscription(context.Background(), token); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.PartialOutage}}})
	e.runJobs()
	tok := e.token(boss)
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/subscriptions?per_page=2", bearer: tok})
	list := decodeAs[struct {
		Subscriptions []struct {
			ID         int64   `json:"id"`
			Kind       string  `json:"kind"`
			Email      string  `json:"email"`
			WebhookURL string  `json:"webhook_url"`
			Services   []int64 `json:"services"`
			State      string  `json:"state"`
			Deliveries int     `json:"deliveries"`
			CreatedAt  string  `json:"created_at"`
		} `json:"subscriptions"`
		Page    int  `json:"page"`
		HasMore bool `json:"has_more"`
	}](t, w)
	if len(list.Subscriptions) != 2 || !list.HasMore || list.Subscriptions[0].Email != "r2@example.com" || list.Subscriptions[0].State != "active" ||
		list.Subscriptions[0].Kind != "email" || len(list.Subscriptions[0].Services) != 1 || list.Subscriptions[0].Deliveries != 1 {
		t.Errorf("list: %+v", list)
	}
	w = e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/subscriptions/%d/deliveries", ids[0]), bearer: tok})
	log := decodeAs[struct {
		Deliveries []struct {
			ID        int64  `json:"id"`
			Event     string `json:"event"`
			Attempt   int    `json:"attempt"`
			Status    int    `json:"status"`
			LatencyMS int    `json:"latency_ms"`
			Error     string `json:"error"`
			CreatedAt string `json:"created_at"`
		} `json:"deliveries"`
		HasMore bool `json:"has_more"`
	}](t, w)
	if len(log.Deliveries) != 1 || log.Deliveries[0].Event != "incident.created" || log.Deliveries[0].Attempt != 1 ||
		!strings.Contains(log.Deliveries[0].Error, "mail is off") || log.HasMore {
		t.Errorf("delivery log: %+v", log)
	}
	e.must(http.StatusNotFound, req{method: http.MethodGet, path: "/api/v1/subscriptions/999/deliveries", bearer: tok})
	e.must(http.StatusNoContent, req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/subscriptions/%d", ids[0]), bearer: tok})
	e.must(http.StatusNotFound, req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/subscriptions/%d", ids[0]), bearer: tok})
	page := e.page("/admin/subscriptions", e.session(boss))
	mustContain(t, "admin page", page, "r1@example.com", "r2@example.com", "mail is off")
	if strings.Contains(page, "r0@example.com") {
		t.Error("a removed subscription is listed")
	}
	outbox := e.page("/admin/outbox?state=not_sent", e.session(boss))
	mustContain(t, "outbox", outbox, "r1@example.com", "Mail is off", "Investigating: Mail delivery delayed")
	checkAccessible(t, "outbox", outbox)
	// The audit log, which moderators read, names the subscription
	// without its address.
	audit := e.page("/mod/audit", e.session(boss))
	mustContain(t, "audit", audit, "subscription.delete")
	if strings.Contains(audit, "r0@example.com") {
		t.Error("the audit log shows a subscriber's address")
	}
}

// TestSignupAnswersAlike: with mail on, sign-up answers a registered
// address exactly as it answers a new one (the body byte for byte), mails
// the owner of the registered one, and the new one's link makes the
// account through its page's button; a taken name is still said.
func TestSignupAnswersAlike(t *testing.T) {
	e := newMailEnv(t, func(*Config) {})
	e.user("casey", models.RoleCustomer) // casey@example.com
	send := func(name, email string) *bytes.Buffer {
		w := e.must(http.StatusOK, req{method: http.MethodPost, path: "/signup", form: url.Values{
			"name": {name}, "email": {email}, "password": {testPassword}, "password_confirm": {testPassword}}})
		if findCookie(w, e.app.sessionCookieName()) != nil {
			t.Errorf("sign-up of %s logged in before the address was confirmed", email)
		}
		return w.Body
	}
	registered := send("newcomer", "casey@example.com")
	fresh := send("other.newcomer", "fresh@example.com")
	if !bytes.Equal(registered.Bytes(), fresh.Bytes()) {
		t.Errorf("the answers differ:\n%s\n---\n%s", registered, fresh)
	}
	mustContain(t, "answer", fresh.String(), "Check your mail")
	e.deliver()
	msgs, err := e.smtp.Wait(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ownerText, freshText string
	for i, msg := range msgs {
		_, _, text, _ := e.mailOf(i + 1)
		switch msg.To[0] {
		case "casey@example.com":
			ownerText = text
		case "fresh@example.com":
			freshText = text
		}
	}
	if !strings.Contains(ownerText, "You already have an account here, named casey") || strings.Contains(ownerText, "token=") {
		t.Errorf("the owner's mail:\n%s", ownerText)
	}
	link := linkIn(t, freshText, "/signup/confirm")
	page := e.page(link, nil)
	mustContain(t, "confirm page", page, "Make the account other.newcomer")
	action, fields := formOf(t, page)
	w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: action, form: fields})
	if findCookie(w, e.app.sessionCookieName()) == nil {
		t.Error("confirming did not log in")
	}
	if _, err := e.store.UserByName(context.Background(), "other.newcomer"); err != nil {
		t.Errorf("account: %v", err)
	}
	e.must(http.StatusNotFound, req{method: http.MethodPost, path: action, form: fields})
	// Names are public: a taken one is said on the form.
	w = e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: "/signup", form: url.Values{
		"name": {"casey"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}})
	mustContain(t, "taken name", w.Body.String(), "This name is taken.")
}

// TestAccountMailSetting: the account page sets how much mail comes about
// followed threads.
func TestAccountMailSetting(t *testing.T) {
	e := newTestEnv(t)
	u := e.user("casey", models.RoleCustomer)
	cookie := e.session(u)
	mustContain(t, "account", e.page("/account", cookie), `<option value="official" selected>`)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/account/mail", cookie: cookie, form: url.Values{"mail_level": {"all"}}})
	mustContain(t, "account", e.page("/account", cookie), `<option value="all" selected>`)
	w := e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: "/account/mail", cookie: cookie, form: url.Values{"mail_level": {"loud"}}})
	mustContain(t, "account", w.Body.String(), "Choose official, all or never.")
}
