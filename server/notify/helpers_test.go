package notify

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"sitrep/models"
	"sitrep/server/notify/mailtest"
)

// env is a store on a test clock with a staff member and two services, and
// a worker that delivers to the world the test sets up.
type env struct {
	t      testing.TB
	store  *models.Store
	path   string
	clock  *clock
	worker *Worker
	staff  *models.User
	mail   *models.Service
	web    *models.Service
	smtp   *mailtest.Server // nil: mail is off
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const testBase = "https://status.example.com"

// newEnv makes an env; withSMTP starts an in-process SMTP server the
// worker sends through.
func newEnv(t testing.TB, withSMTP bool) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.db")
	store, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &clock{now: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	store.Now = c.Now
	store.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, path: path, clock: c}
	e.staff, err = store.CreateUser(ctx, models.NewUser{Name: "sam.support", Email: "sam@example.com", Password: "long enough password", Role: models.RoleStaff, AllowReserved: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.mail, err = store.CreateService(ctx, nil, models.NewService{Name: "Mail", Position: 1}); err != nil {
		t.Fatal(err)
	}
	if e.web, err = store.CreateService(ctx, nil, models.NewService{Name: "Web", Position: 2}); err != nil {
		t.Fatal(err)
	}
	settings := Settings{Site: Site{Name: "Example Status", BaseURL: testBase}, BaseURLSet: true, AllowPrivate: true}
	if withSMTP {
		e.smtp, err = mailtest.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.smtp.Close() })
		cfg, err := ParseSMTP(e.smtp.URL(), "Example Status <status@example.com>")
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewSMTPMailer(cfg, 16) // as serve makes it: one per job at once
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		settings.Mailer = m
	}
	e.worker = NewWorker(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.worker.Now = c.Now
	e.worker.Configure(settings)
	return e
}

// run does the due jobs until none is left.
func (e *env) run() {
	for e.worker.RunDue(context.Background()) > 0 {
	}
}

// subscribe makes an active subscription.
func (e *env) subscribe(in models.NewSubscription) *models.Subscription {
	e.t.Helper()
	var token string
	sub, err := e.store.CreateSubscription(context.Background(), in, func(_ *models.Subscription, t string) models.Mail {
		token = t
		return models.Mail{Subject: "Confirm", Text: "Confirm: " + t}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.ConfirmSubscription(context.Background(), token); err != nil {
		e.t.Fatal(err)
	}
	// The confirmation mail is not what the tests look at.
	if err := e.sql(`DELETE FROM jobs WHERE kind = 'mail'; DELETE FROM outbox`); err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func openDB(path string) (*sql.DB, error) {
	return sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
}

// sql runs statements on the database file directly.
func (e *env) sql(q string, args ...any) error {
	db, err := openDB(e.path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(q, args...)
	return err
}

// count is the number of rows q counts.
func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	db, err := openDB(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// seedSubscribers adds n active subscriptions of every service in one
// statement: e-mail ones to sub-N@example.com, or webhooks to hook.
func (e *env) seedSubscribers(n int, hook string) {
	e.t.Helper()
	kind := "email"
	if hook != "" {
		kind = "webhook"
	}
	now := e.clock.Now()
	err := e.sql(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
		INSERT INTO subscriptions (kind, email, webhook_url, secret, all_services, state, unsubscribe_hash, created_at, confirmed_at, updated_at)
		SELECT ?, 'sub-' || i || '@example.com', ?, 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', 1, 'active', 'seed-' || i || '-' || ?, ?, ?, ? FROM k`,
		n, kind, hook, fmt.Sprint(now.UnixNano()), now, now, now)
	if err != nil {
		e.t.Fatal(err)
	}
}

// declare opens an incident on the mail service.
func (e *env) declare(title string) *models.Incident {
	e.t.Helper()
	inc, err := e.store.DeclareIncident(context.Background(), e.staff, models.NewIncident{Kind: models.KindIncident, Title: title,
		Impact: "major", Status: models.StatusInvestigating, Body: "We are **looking** into it.",
		Services: []models.ServiceChange{{ServiceID: e.mail.ID, Status: models.PartialOutage}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// update posts an official update.
func (e *env) update(incidentID int64, in models.NewUpdate) *models.IncidentUpdate {
	e.t.Helper()
	u, err := e.store.PostUpdate(context.Background(), e.staff, incidentID, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}
