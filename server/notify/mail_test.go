package notify

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"sitrep/models"
	"sitrep/server/notify/mailtest"
)

// parts reads a mail's text and HTML parts.
func parts(t *testing.T, m *mail.Message) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
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

func parse(t *testing.T, msg mailtest.Message) *mail.Message {
	t.Helper()
	m, err := msg.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNoticeMails: each announcement reaches an e-mail subscriber as a mail
// with a text and an HTML part, marked automatic, with RFC 8058's
// unsubscribe headers, the site's sender, and ids that thread the
// incident's mails under the first.
func TestNoticeMails(t *testing.T) {
	e := newEnv(t, true)
	sub := e.subscribe(models.NewSubscription{Email: "pat@example.com"})
	e.subscribe(models.NewSubscription{Email: "web-only@example.com", ServiceIDs: []int64{e.web.ID}})
	inc := e.declare("Mail delivery delayed")
	e.run()
	e.clock.Advance(20 * time.Minute)
	e.update(inc.ID, models.NewUpdate{Status: models.StatusIdentified, Body: "A queue **backlog**; nothing is lost."})
	e.run()
	msgs, err := e.smtp.Wait(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want 2 (the web-only subscriber gets none)", len(msgs))
	}
	first, second := parse(t, msgs[0]), parse(t, msgs[1])
	var texts, htmls [2]string
	for i, m := range []*mail.Message{first, second} {
		h := m.Header
		if msgs[i].To[0] != "pat@example.com" || h.Get("To") != "<pat@example.com>" || h.Get("From") != `"Example Status" <status@example.com>` ||
			msgs[i].From != "status@example.com" {
			t.Errorf("mail %d: envelope %s -> %v, From %q To %q", i, msgs[i].From, msgs[i].To, h.Get("From"), h.Get("To"))
		}
		if h.Get("Subject") != "[Example Status] Mail delivery delayed" || h.Get("Auto-Submitted") != "auto-generated" ||
			h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("mail %d headers: %v", i, h)
		}
		link := strings.Trim(h.Get("List-Unsubscribe"), "<>")
		if !strings.HasPrefix(link, testBase+"/subscriptions/unsubscribe?token=") ||
			!strings.HasSuffix(link, sub.UnsubscribeToken()) {
			t.Errorf("List-Unsubscribe %q", h.Get("List-Unsubscribe"))
		}
		text, html := parts(t, m)
		texts[i], htmls[i] = text, html
		if !strings.Contains(text, "Unsubscribe: "+link) || !strings.Contains(html, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) ||
			!strings.Contains(text, testBase+"/incidents/1") {
			t.Errorf("mail %d parts:\n%s\n%s", i, text, html)
		}
	}
	root := first.Header.Get("Message-ID")
	if root != "<incident.1."+strconv.FormatInt(sub.ID, 10)+"@example.com>" || first.Header.Get("In-Reply-To") != "" {
		t.Errorf("first mail: Message-ID %q In-Reply-To %q", root, first.Header.Get("In-Reply-To"))
	}
	if second.Header.Get("In-Reply-To") != root || second.Header.Get("References") != root || second.Header.Get("Message-ID") == root {
		t.Errorf("second mail: Message-ID %q In-Reply-To %q References %q", second.Header.Get("Message-ID"),
			second.Header.Get("In-Reply-To"), second.Header.Get("References"))
	}
	text, html := texts[1], htmls[1]
	if !strings.Contains(text, "Identified: Mail delivery delayed") || !strings.Contains(text, "A queue backlog; nothing is lost.") ||
		!strings.Contains(text, "- Mail: Partial outage") || !strings.Contains(html, "<strong>backlog</strong>") {
		t.Errorf("second mail's parts:\n%s\n%s", text, html)
	}
	log, _ := e.store.Deliveries(context.Background(), sub.ID, models.Page{})
	if len(log.Items) != 2 || log.Items[0].Status != 250 || log.Items[0].Event != models.AnnounceIncidentUpdated {
		t.Errorf("delivery log %+v", log.Items)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox`); n != 0 {
		t.Errorf("%d sent announcements copied to the outbox", n)
	}
}

// TestMailOff: without an SMTP server nothing is sent and nothing vanishes:
// every mail is in the outbox as not sent, with the reason.
func TestMailOff(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	sub := e.subscribe(models.NewSubscription{Email: "pat@example.com"})
	if _, err := e.store.CreateSubscription(ctx, models.NewSubscription{Email: "new@example.com"}, func(sub *models.Subscription, tok string) models.Mail {
		return SubscriptionConfirmMail(e.worker.out.Site, sub, testBase+"/subscriptions/confirm?token="+tok)
	}); err != nil {
		t.Fatal(err)
	}
	e.declare("Mail delivery delayed")
	e.run()
	list, err := e.store.Outbox(ctx, "", models.Page{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("outbox: %+v %v", list.Items, err)
	}
	for _, m := range list.Items {
		if m.State != models.MailNotSent || m.Reason != MailOff {
			t.Errorf("%s mail to %s: %s (%s)", m.Kind, m.ToAddr, m.State, m.Reason)
		}
	}
	notice, confirm := list.Items[0], list.Items[1]
	if notice.Kind != models.MailNotice || notice.NoticeID == nil || notice.ToAddr != "pat@example.com" ||
		confirm.Kind != models.MailConfirm || !strings.Contains(confirm.TextBody, "/subscriptions/confirm?token=") || confirm.MessageID == "" {
		t.Errorf("outbox rows: %+v", list.Items)
	}
	log, _ := e.store.Deliveries(ctx, sub.ID, models.Page{})
	if len(log.Items) != 1 || log.Items[0].Error != MailOff {
		t.Errorf("delivery log: %+v", log.Items)
	}
	if n := e.count(`SELECT COUNT(*) FROM jobs`); n != 0 {
		t.Errorf("%d jobs left", n)
	}
}

// TestMailHeadersCarryNoUserText: a subject with CR/LF cannot add header
// fields; go-mail encodes what it carries.
func TestMailHeadersCarryNoUserText(t *testing.T) {
	e := newEnv(t, true)
	for _, subject := range []string{"Mail down\r\nBcc: victim@example.com", "Mail down\nX-Evil: 1", "Café ☕ outage\r\n\r\nbody"} {
		_, err := e.worker.out.Mailer.Send(context.Background(), &Message{To: "pat@example.com", Subject: subject, Text: "text",
			MessageID: "x.1@example.com", Headers: map[string]string{"In-Reply-To": "<a@example.com>\r\nBcc: v@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := e.smtp.Wait(3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	for i, msg := range msgs {
		m := parse(t, msg)
		for k := range m.Header {
			switch strings.ToLower(k) {
			case "bcc", "x-evil":
				t.Errorf("mail %d has a %s header", i, k)
			}
		}
		if len(msg.To) != 1 {
			t.Errorf("mail %d went to %v", i, msg.To)
		}
		subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil || strings.ContainsAny(subj, "\r\n") {
			t.Errorf("subject %q: %v", subj, err)
		}
	}
	if s, _ := dec.DecodeHeader(parse(t, msgs[2]).Header.Get("Subject")); s != "Café ☕ outage body" {
		t.Errorf("non-ASCII subject read back as %q", s)
	}
}

// TestSMTPRefusals: a 5xx refusal fails the mail for good at once; a 4xx
// is retried and goes out later.
func TestSMTPRefusals(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	e.subscribe(models.NewSubscription{Email: "gone@example.com"})
	e.subscribe(models.NewSubscription{Email: "busy@example.com"})
	e.smtp.Reject(func(to string) error {
		if strings.HasPrefix(to, "gone") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try later"}
	})
	e.declare("Mail delivery delayed")
	e.run()
	failed, _ := e.store.Outbox(ctx, models.MailFailed, models.Page{})
	if len(failed.Items) != 1 || failed.Items[0].ToAddr != "gone@example.com" || !strings.Contains(failed.Items[0].Reason, "550") {
		t.Fatalf("failed mails: %+v", failed.Items)
	}
	if n := e.count(`SELECT COUNT(*) FROM jobs WHERE kind = 'deliver'`); n != 1 {
		t.Fatalf("%d deliveries waiting, want the 451 one", n)
	}
	e.smtp.Reject(nil)
	e.clock.Advance(time.Minute)
	e.run()
	if msgs := e.smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "busy@example.com" {
		t.Errorf("after the retry: %v", msgs)
	}
}

// TestFanOutInBatches: an announcement to more subscribers than a batch
// reaches each once, a batch per job.
func TestFanOutInBatches(t *testing.T) {
	e := newEnv(t, false)
	e.worker.FanoutBatch = 50
	e.seedSubscribers(173, "")
	e.declare("Mail delivery delayed")
	e.run()
	if n := e.count(`SELECT COUNT(DISTINCT subscription_id) FROM deliveries`); n != 173 {
		t.Errorf("%d subscribers reached, want 173", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM deliveries`); n != 173 {
		t.Errorf("%d deliveries, want one each", n)
	}
}

// TestFollowMail: a follower whose setting asks for official updates gets
// a mail with an unsubscribe link that stops them.
func TestFollowMail(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	inc := e.declare("Mail delivery delayed")
	u, err := e.store.CreateUser(ctx, models.NewUser{Name: "casey", Email: "casey@example.com", Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetFollowing(ctx, u, inc.ThreadID, true, ""); err != nil {
		t.Fatal(err)
	}
	e.run()
	e.clock.Advance(time.Minute)
	e.update(inc.ID, models.NewUpdate{Status: models.StatusIdentified, Body: "Found it."})
	e.run()
	msgs, err := e.smtp.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, msgs[0])
	text, _ := parts(t, m)
	if msgs[0].To[0] != "casey@example.com" || !strings.Contains(text, "Official update on “Mail delivery delayed”") ||
		m.Header.Get("List-Unsubscribe-Post") == "" || m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("follow mail: %v\n%s", m.Header, text)
	}
	token := strings.TrimSuffix(strings.SplitN(m.Header.Get("List-Unsubscribe"), "token=", 2)[1], ">")
	if what, err := e.store.Unsubscribe(ctx, token); err != nil || what != models.UnsubscribedAccountMail {
		t.Fatalf("unsubscribe: %q %v", what, err)
	}
	e.update(inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."})
	e.run()
	if n := e.smtp.Count(); n != 1 {
		t.Errorf("%d mails after unsubscribing", n)
	}
}

func TestParseSMTP(t *testing.T) {
	for _, c := range []struct {
		url, from, err string
		port           int
		implicit       bool
	}{
		{"smtp://mail.example.com", "status@example.com", "", 587, false},
		{"smtp://u:p@mail.example.com:2525", "Status <status@example.com>", "", 2525, false},
		{"smtps://mail.example.com", "status@example.com", "", 465, true},
		{"http://mail.example.com", "status@example.com", "-smtp-url", 0, false},
		{"smtp://", "status@example.com", "-smtp-url", 0, false},
		{"smtp://u:secret@mail.example.com:99999", "status@example.com", "port", 0, false},
		{"smtp://mail.example.com", "", "-mail-from is required", 0, false},
		{"smtp://mail.example.com", "not an address", "-mail-from", 0, false},
	} {
		cfg, err := ParseSMTP(c.url, c.from)
		switch {
		case c.err == "" && (err != nil || cfg.Port != c.port || cfg.Implicit != c.implicit):
			t.Errorf("%s: %+v %v", c.url, cfg, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret")):
			t.Errorf("%s %q: %v, want ...%s...", c.url, c.from, err, c.err)
		}
	}
}
