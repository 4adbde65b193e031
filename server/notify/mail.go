package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"sitrep/models"
)

// MailOff is why mail is not sent when no SMTP server is configured.
const MailOff = "mail is off: the server runs without -smtp-url"

// Message is one mail ready to send.
type Message struct {
	To        string
	Subject   string
	Text      string
	HTML      string
	MessageID string            // without angle brackets
	Headers   map[string]string // In-Reply-To, References, List-Unsubscribe, List-Unsubscribe-Post
}

// Mailer sends mail.
type Mailer interface {
	// Send sends m and returns the SMTP server's code (0 when there was no
	// answer). A *PermanentError means that trying again will not help.
	Send(ctx context.Context, m *Message) (int, error)
	// Domain is the domain of the sender's address, which message ids
	// end with.
	Domain() string
}

// PermanentError is a refusal that trying again will not change (a 5xx
// answer: no such mailbox, a policy).
type PermanentError struct {
	Code int
	Err  error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTPConfig is -smtp-url and -mail-from, checked.
type SMTPConfig struct {
	Host string
	Port int
	// Implicit is TLS from the first byte (smtps://); otherwise STARTTLS
	// is used when the server offers it.
	Implicit bool
	User     string
	Password string
	// From is the sender, "Name <address>" or an address.
	From string
	// Address is the bare address of From.
	Address string
}

// ParseSMTP checks -smtp-url (smtp://[user:pass@]host[:port], port 587 by
// default; smtps:// for implicit TLS, port 465) and -mail-from, with
// one-line errors naming the flag.
func ParseSMTP(raw, from string) (*SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("-smtp-url %q must be smtp://[user:pass@]host[:port] or smtps://...", redact(raw))
	}
	c := &SMTPConfig{Host: u.Hostname(), Implicit: u.Scheme == "smtps", Port: 587}
	if c.Implicit {
		c.Port = 465
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return nil, fmt.Errorf("-smtp-url: port %q is not a port number", p)
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("-mail-from is required with -smtp-url: the sender's address, such as status@example.com")
	}
	a, err := mail.ParseAddress(from)
	if err != nil || !strings.Contains(a.Address, "@") || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("-mail-from %q is not an address such as status@example.com or \"Example Status <status@example.com>\"", from)
	}
	c.From, c.Address = a.String(), a.Address
	return c, nil
}

// redact hides a password in an SMTP URL for an error message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// String describes the server without the password, for the log.
func (c *SMTPConfig) String() string {
	scheme := "smtp"
	if c.Implicit {
		scheme = "smtps"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
}

// SMTPMailer sends through one SMTP server with go-mail, keeping a few
// connections open between mails (a NOOP checks one before it is used
// again; a connection idle for 30 s is closed).
type SMTPMailer struct {
	cfg    *SMTPConfig
	client *gomail.Client
	mu     sync.Mutex
	idle   []pooled
	max    int
}

type pooled struct {
	c    *gosmtp.Client
	used time.Time
}

const smtpIdle = 30 * time.Second

// NewSMTPMailer makes a mailer for cfg that keeps up to conns connections.
func NewSMTPMailer(cfg *SMTPConfig, conns int) (*SMTPMailer, error) {
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(15 * time.Second)}
	if cfg.Implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(cfg.User), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("-smtp-url: %w", err)
	}
	return &SMTPMailer{cfg: cfg, client: client, max: max(conns, 1)}, nil
}

// Domain is the sender address's domain.
func (m *SMTPMailer) Domain() string {
	_, d, _ := strings.Cut(m.cfg.Address, "@")
	return d
}

// conn takes an idle connection or dials one; reused tells which.
func (m *SMTPMailer) conn(ctx context.Context) (*gosmtp.Client, bool, error) {
	m.mu.Lock()
	for len(m.idle) > 0 {
		p := m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		if time.Since(p.used) < smtpIdle {
			m.mu.Unlock()
			return p.c, true, nil
		}
		go p.c.Close()
	}
	m.mu.Unlock()
	c, err := m.client.DialToSMTPClientWithContext(ctx)
	return c, false, err
}

func (m *SMTPMailer) put(c *gosmtp.Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.idle) >= m.max {
		go c.Close()
		return
	}
	m.idle = append(m.idle, pooled{c, time.Now()})
}

// Close ends the idle connections.
func (m *SMTPMailer) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.idle {
		_ = m.client.CloseWithSMTPClient(p.c)
	}
	m.idle = nil
}

// Send sends one mail, on a kept connection when there is one (and on a
// new one if the kept one turns out closed before anything was sent).
func (m *SMTPMailer) Send(ctx context.Context, msg *Message) (int, error) {
	gm, err := m.build(msg)
	if err != nil {
		return 0, &PermanentError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		c, reused, err := m.conn(ctx)
		if err != nil {
			return smtpCode(err), err
		}
		err = m.client.SendWithSMTPClient(c, gm)
		var se *gomail.SendError
		if err == nil {
			m.put(c)
			return 250, nil
		}
		_ = c.Close()
		if reused && errors.As(err, &se) && se.Reason == gomail.ErrConnCheck {
			continue // the kept connection had closed: nothing was sent
		}
		code := smtpCode(err)
		if errors.As(err, &se) && !se.IsTemp() && code >= 500 {
			return code, &PermanentError{Code: code, Err: err}
		}
		return code, err
	}
}

func smtpCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}

// build makes go-mail's message: the site's sender, the recipient, the
// subject (flattened to one line; go-mail encodes what is not plain
// ASCII), the ids that thread it, the headers that mark it automatic and
// say how to unsubscribe, and a text and an HTML part.
func (m *SMTPMailer) build(msg *Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg()
	if err := gm.From(m.cfg.From); err != nil {
		return nil, err
	}
	if err := gm.To(msg.To); err != nil {
		return nil, err
	}
	gm.Subject(headerText(msg.Subject))
	gm.SetMessageIDWithValue(msg.MessageID)
	gm.SetDate()
	gm.SetGenHeader("Auto-Submitted", "auto-generated")
	gm.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	for _, h := range []gomail.Header{gomail.HeaderInReplyTo, gomail.HeaderReferences} {
		if v := msg.Headers[string(h)]; v != "" {
			gm.SetGenHeader(h, headerText(v))
		}
	}
	if u := msg.Headers[string(gomail.HeaderListUnsubscribe)]; u != "" {
		gm.SetListUnsubscribe(headerText(u))
		if msg.Headers[string(gomail.HeaderListUnsubscribePost)] != "" {
			gm.SetListUnsubscribePost()
		}
	}
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

// domain is what message ids end with.
func (w *Worker) domain() string {
	if w.out.Mailer != nil {
		if d := w.out.Mailer.Domain(); d != "" {
			return d
		}
	}
	if u, err := url.Parse(w.out.Site.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// unsubscribeHeaders are RFC 2369's and RFC 8058's: a POST of
// "List-Unsubscribe=One-Click" to link unsubscribes.
func unsubscribeHeaders(link string) map[string]string {
	return map[string]string{"List-Unsubscribe": link, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
}

// send sends m, or tells that mail is off.
func (w *Worker) send(ctx context.Context, m *Message) (int, error) {
	if w.out.Mailer == nil {
		return 0, errMailOff
	}
	return w.out.Mailer.Send(ctx, m)
}

var errMailOff = errors.New(MailOff)

// sendOutboxMail sends one mail of the outbox (a confirmation, a sign-up's
// mail, a disabled webhook's notice) and records the outcome on its row.
// Without a mailer it is recorded as not sent, with the reason.
func (w *Worker) sendOutboxMail(ctx context.Context, job models.Job) error {
	var j models.MailJob
	if err := json.Unmarshal([]byte(job.Payload), &j); err != nil {
		return fmt.Errorf("mail job %d: %w", job.ID, err)
	}
	row, err := w.store.OutboxMailByID(ctx, j.OutboxID)
	if errors.Is(err, models.ErrNotFound) {
		return w.store.FinishJob(ctx, job.ID)
	}
	if err != nil {
		return err
	}
	if row.State != models.MailQueued {
		return w.store.FinishJob(ctx, job.ID)
	}
	id := row.MessageID
	if id == "" {
		id = fmt.Sprintf("%s.%d@%s", row.Kind, row.ID, w.domain())
	}
	_, err = w.send(ctx, &Message{To: row.ToAddr, Subject: row.Subject, Text: row.TextBody, HTML: row.HTMLBody, MessageID: id, Headers: row.HeaderMap()})
	state, reason := mailOutcome(err, w.giveUp(job))
	if ferr := w.store.FinishMail(ctx, job.ID, row.ID, state, reason, id); ferr != nil {
		return ferr
	}
	if state == models.MailQueued {
		return err // retried later
	}
	return nil
}

// mailOutcome is the outbox state after an attempt: sent, not sent (mail
// off), failed (refused for good, or tried long enough) or still queued.
func mailOutcome(err error, giveUp bool) (state, reason string) {
	var pe *PermanentError
	switch {
	case err == nil:
		return models.MailSent, ""
	case errors.Is(err, errMailOff):
		return models.MailNotSent, MailOff
	case errors.As(err, &pe) || giveUp:
		return models.MailFailed, oneLine(err)
	}
	return models.MailQueued, oneLine(err)
}

// noticeMessage is one subscriber's copy of a notice's mail: the footer
// with their unsubscribe link, ids that thread every mail of the incident
// under the first one (the incident.created or maintenance.scheduled
// mail's id is the thread's root), and RFC 8058's headers.
func (w *Worker) noticeMessage(n *models.Notice, sub *models.Subscription) *Message {
	link := w.unsubscribeURL(sub.UnsubscribeToken())
	text, html := withFooter(n.TextBody, n.HTMLBody, noticeFooter(w.out.Site, sub, link))
	var inc int64
	if n.IncidentID != nil {
		inc = *n.IncidentID
	}
	root := fmt.Sprintf("incident.%d.%d@%s", inc, sub.ID, w.domain())
	m := &Message{To: sub.Email, Subject: n.Subject, Text: text, HTML: html, Headers: unsubscribeHeaders(link)}
	if n.Event == models.AnnounceIncidentCreated || n.Event == models.AnnounceMaintenanceScheduled {
		m.MessageID = root
	} else {
		m.MessageID = fmt.Sprintf("notice.%d.%d@%s", n.ID, sub.ID, w.domain())
		m.Headers["In-Reply-To"], m.Headers["References"] = "<"+root+">", "<"+root+">"
	}
	return m
}

// deliverMail sends one subscriber's copy of a notice and logs the attempt.
// A copy that does not go out (mail off, refused for good, tried for
// GiveUpAfter) is also recorded in the outbox, pointing at the notice for
// its text.
func (w *Worker) deliverMail(ctx context.Context, job models.Job, n *models.Notice, sub *models.Subscription) error {
	m := w.noticeMessage(n, sub)
	start := time.Now()
	code, err := w.send(ctx, m)
	d := models.Delivery{SubscriptionID: sub.ID, NoticeID: &n.ID, Event: n.Event, Attempt: job.Attempts, Status: code,
		LatencyMS: int(time.Since(start).Milliseconds())}
	state, reason := mailOutcome(err, w.giveUp(job))
	d.Error = reason
	o := models.DeliveryOutcome{Done: state != models.MailQueued, Failed: err != nil && !errors.Is(err, errMailOff)}
	if state == models.MailNotSent || state == models.MailFailed {
		o.Outbox = &models.Mail{Kind: models.MailNotice, To: sub.Email, Subject: m.Subject, MessageID: m.MessageID, Headers: m.Headers,
			State: state, Reason: reason, NoticeID: &n.ID, SubscriptionID: &sub.ID}
	}
	if rerr := w.recordDelivery(ctx, job.ID, d, o); rerr != nil {
		return rerr
	}
	if state == models.MailQueued {
		return err
	}
	return nil
}

// sendFollowMail mails a person about a post in a thread they follow, as
// their setting asks, and records it in the outbox.
func (w *Worker) sendFollowMail(ctx context.Context, job models.Job) error {
	var j models.FollowMailJob
	if err := json.Unmarshal([]byte(job.Payload), &j); err != nil {
		return fmt.Errorf("follow mail job %d: %w", job.ID, err)
	}
	fm, err := w.store.FollowMailOf(ctx, j)
	if err != nil {
		return err
	}
	if fm == nil {
		return w.store.FinishJob(ctx, job.ID) // no longer wanted
	}
	link := w.unsubscribeURL(fm.Token)
	subject, text, html := followMail(w.out.Site, fm, j.Kind, link)
	root := fmt.Sprintf("thread.%d.%d@%s", fm.Thread.ID, fm.User.ID, w.domain())
	m := &Message{To: fm.User.Email, Subject: subject, Text: text, HTML: html,
		MessageID: fmt.Sprintf("post.%d.%d@%s", fm.Post.ID, fm.User.ID, w.domain()), Headers: unsubscribeHeaders(link)}
	m.Headers["In-Reply-To"], m.Headers["References"] = "<"+root+">", "<"+root+">"
	_, err = w.send(ctx, m)
	state, reason := mailOutcome(err, w.giveUp(job))
	if state == models.MailQueued {
		return err
	}
	return w.store.RecordMail(ctx, job.ID, models.Mail{Kind: models.MailFollow, To: m.To, Subject: subject, Text: text, HTML: html,
		MessageID: m.MessageID, Headers: m.Headers, State: state, Reason: reason, UserID: &fm.User.ID})
}
