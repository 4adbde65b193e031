package web

// The data sets several files start from, and the background work that
// tests run by hand.

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"sitrep/models"
	"sitrep/server/notify"
)

// The data sets several files start from.

// actor is who walks a route in the role matrix.
type actor string

const (
	visitor   actor = "visitor"
	owner     actor = "owner"    // the customer who owns the object in the path
	customer  actor = "customer" // another customer
	staff     actor = "staff"
	moderator actor = "moderator"
	admin     actor = "admin"
)

var actors = []actor{visitor, owner, customer, staff, moderator, admin}

// fixture is the data every matrix cell starts from.
type fixture struct {
	users    map[actor]*models.User
	tokenID  int64 // an API token of owner
	threadID int64 // a thread started by owner
	postID   int64 // its first post
	// An open and a resolved incident declared by staff on serviceID.
	serviceID, incidentID, resolvedID int64
	// Moderation: another customer's locked and pinned thread whose first
	// post is hidden; a reply by that customer in owner's thread, newer than
	// it; a flag on owner's post; a silenced user. Staff linked the locked
	// thread to the open incident.
	lockedID, hiddenPostID, replyID, flagID, silencedID int64
	// A thread by customer merged into the locked one.
	mergedID int64
	// An active e-mail subscription and its unsubscribe token, a pending
	// one's confirmation token, and a pending sign-up's token.
	subscriptionID                              int64
	unsubscribeToken, confirmToken, signupToken string
}

func newFixture(e *testEnv) *fixture {
	f := &fixture{users: map[actor]*models.User{}}
	for _, a := range []struct {
		who  actor
		role models.Role
	}{{owner, models.RoleCustomer}, {customer, models.RoleCustomer}, {staff, models.RoleStaff}, {moderator, models.RoleModerator}, {admin, models.RoleAdmin}} {
		f.users[a.who] = e.user(string(a.who)+"-user", a.role)
	}
	tok, _, err := e.store.CreateToken(context.Background(), f.users[owner].ID, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	f.tokenID = tok.ID
	// Accounts are two days old, so the new-account posting interval is
	// past; the clock moves on after the thread so nobody posts too soon.
	e.clock.Advance(48 * time.Hour)
	f.threadID = e.thread(f.users[owner], "Mail is down for me", "Since 9:00.").ID
	f.postID = e.posts(f.threadID)[0].ID
	f.serviceID = e.service(models.NewService{Name: "Mail"}).ID
	for _, id := range []*int64{&f.incidentID, &f.resolvedID} {
		*id = e.incident(f.users[staff], models.NewIncident{Kind: models.KindIncident,
			Title: "Mail delivery delayed", Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
			Services: []models.ServiceChange{{ServiceID: f.serviceID, Status: models.DegradedPerformance}}}).ID
	}
	if _, err := e.store.PostUpdate(context.Background(), f.users[staff], f.resolvedID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		e.t.Fatal(err)
	}
	f.moderationFixture(e)
	if _, err := e.store.LinkThread(context.Background(), f.users[staff], f.lockedID, f.incidentID); err != nil {
		e.t.Fatal(err)
	}
	f.subscriptionFixture(e)
	e.clock.Advance(time.Hour)
	return f
}

// subscriptionFixture makes an active subscription, a pending one and a
// pending sign-up, keeping their tokens.
func (f *fixture) subscriptionFixture(e *testEnv) {
	ctx := context.Background()
	keep := func(into *string) func(*models.Subscription, string) models.Mail {
		return func(_ *models.Subscription, token string) models.Mail {
			*into = token
			return models.Mail{Subject: "Confirm"}
		}
	}
	var active string
	sub, err := e.store.CreateSubscription(ctx, models.NewSubscription{Email: "reader@example.com"}, keep(&active))
	if err == nil {
		_, err = e.store.ConfirmSubscription(ctx, active)
	}
	if err == nil {
		_, err = e.store.CreateSubscription(ctx, models.NewSubscription{Email: "waiting@example.com", ServiceIDs: []int64{f.serviceID}}, keep(&f.confirmToken))
	}
	if err == nil {
		err = e.store.StartSignup(ctx, models.NewUser{Name: "pending-user", Email: "pending@example.com", Password: testPassword}, "", models.SignupMails{
			Confirm: func(token string) models.Mail { f.signupToken = token; return models.Mail{Subject: "Confirm"} },
			Exists:  func(string) models.Mail { return models.Mail{} },
		})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	f.subscriptionID, f.unsubscribeToken = sub.ID, sub.UnsubscribeToken()
}

func (f *fixture) moderationFixture(e *testEnv) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			e.t.Helper()
			e.t.Fatal(err)
		}
	}
	admin, cust := f.users[admin], f.users[customer]
	locked := e.thread(cust, "Calendar invites vanish", "Gone.")
	f.lockedID = locked.ID
	f.hiddenPostID = e.posts(locked.ID)[0].ID
	_, err := e.store.HidePost(ctx, admin, f.hiddenPostID, "off-topic")
	must(err)
	_, err = e.store.SetLocked(ctx, admin, locked.ID, true, "duplicate")
	must(err)
	_, err = e.store.SetPinned(ctx, admin, locked.ID, true, nil, "")
	must(err)
	e.clock.Advance(time.Minute)
	f.replyID = e.reply(cust, f.threadID, "Same here.").ID
	e.clock.Advance(time.Minute)
	merged := e.thread(cust, "Invites gone again", "Still gone.")
	_, err = e.store.MergeThread(ctx, admin, merged.ID, locked.ID, "duplicate")
	must(err)
	f.mergedID = merged.ID
	flag, err := e.store.FlagPost(ctx, cust, f.postID, "spam", "")
	must(err)
	f.flagID = flag.ID
	quiet := e.user("quiet-user", models.RoleCustomer)
	until := e.clock.Now().Add(24 * time.Hour)
	_, err = e.store.SanctionUser(ctx, admin, quiet.ID, models.SanctionSilence, "spam", &until)
	must(err)
	f.silencedID = quiet.ID
}

// spFixture is a fixed data set seen through the Statuspage API: a grouped
// pair of services and two loose ones, an open incident with two updates
// and transitions, a resolved incident with a postmortem, an active and an
// upcoming maintenance.
type spFixture struct {
	staff                      *models.User
	website, mail, webmail     *models.Service
	api                        *models.Service
	open, resolved             *models.Incident
	activeMaint, upcomingMaint *models.Incident
}

func newSPFixture(e *testEnv) *spFixture {
	e.t.Helper()
	ctx := context.Background()
	f := &spFixture{staff: e.user("sam.support", models.RoleStaff)}
	f.website = e.service(models.NewService{Name: "Website", Description: "The public site and sign-up.", Position: 1})
	f.mail = e.service(models.NewService{Name: "Mail delivery", Description: "Sending and receiving mail.", Group: "Mail", Position: 2})
	f.webmail = e.service(models.NewService{Name: "Webmail", Group: "Mail", Position: 3})
	f.api = e.service(models.NewService{Name: "API", Position: 4})
	declare := func(in models.NewIncident) *models.Incident { return e.incident(f.staff, in) }
	post := func(id int64, in models.NewUpdate) {
		if _, err := e.store.PostUpdate(ctx, f.staff, id, in); err != nil {
			e.t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { v := e.clock.Now().Add(d); return &v }

	// 09:30 a minor incident on the website, resolved at 09:40, with a
	// postmortem at 09:45.
	f.resolved = declare(models.NewIncident{Kind: models.KindIncident, Title: "Website slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Pages load slowly; we are looking into it.",
		Services: []models.ServiceChange{{ServiceID: f.website.ID, Status: models.DegradedPerformance}}})
	e.clock.Advance(10 * time.Minute)
	post(f.resolved.ID, models.NewUpdate{Status: models.StatusResolved, Body: "A cache node was replaced. Pages load normally."})
	e.clock.Advance(5 * time.Minute)
	if _, err := e.store.SetPostmortem(ctx, f.staff, f.resolved.ID, "A cache node ran out of memory."); err != nil {
		e.t.Fatal(err)
	}
	// 09:50 two maintenance windows: webmail from 10:00 to 12:30, the API
	// in two days.
	e.clock.Advance(5 * time.Minute)
	f.activeMaint = declare(models.NewIncident{Kind: models.KindMaintenance, Title: "Webmail migration",
		Body: "Webmail moves to new servers.", ScheduledFor: at(10 * time.Minute), ScheduledUntil: at(160 * time.Minute),
		Services: []models.ServiceChange{{ServiceID: f.webmail.ID, Status: models.UnderMaintenance}}})
	f.upcomingMaint = declare(models.NewIncident{Kind: models.KindMaintenance, Title: "API upgrade",
		Body: "The API is upgraded; expect short interruptions.", ScheduledFor: at(48 * time.Hour), ScheduledUntil: at(50 * time.Hour),
		Services: []models.ServiceChange{{ServiceID: f.api.ID, Status: models.UnderMaintenance}}})
	e.clock.Advance(10 * time.Minute)
	if n, err := e.store.AdvanceMaintenance(ctx); err != nil || n != 1 {
		e.t.Fatalf("AdvanceMaintenance: %d, %v", n, err)
	}
	// 10:10 a major incident on mail; at 10:25 the cause is identified and
	// webmail is affected too.
	e.clock.Advance(10 * time.Minute)
	f.open = declare(models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery delayed", Impact: "major",
		Status: models.StatusInvestigating, Body: "Outgoing mail is **delayed** by up to an hour.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.PartialOutage}}})
	e.clock.Advance(15 * time.Minute)
	post(f.open.ID, models.NewUpdate{Status: models.StatusIdentified,
		Body:     "We found the cause: a *queue* backlog.\n\n- mail is queued, not lost\n- webmail is slow\n\nSee [the thread](https://example.com/t).",
		Services: []models.ServiceChange{{ServiceID: f.webmail.ID, Status: models.DegradedPerformance}}})
	e.clock.Advance(time.Minute)
	return f
}

// runJobs does the due background jobs (notifications) as the server's
// worker does, until none is left.
func (e *testEnv) runJobs() {
	e.t.Helper()
	w := notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for w.RunDue(context.Background()) > 0 {
	}
}

// startBackground runs what the server runs beside its handlers, for the
// test's duration: the live-update broker and the job worker.
func (e *testEnv) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := e.app.RunLive(ctx); err != nil {
			e.t.Errorf("live: %v", err)
		}
	})
	wg.Go(func() { notify.NewWorker(e.store, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx) })
	e.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
