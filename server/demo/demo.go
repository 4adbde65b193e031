// Package demo loads the demo scenario: an outage told through services, an
// incident with official updates, linked customer complaints and replies,
// and a moderator at work. Never load it on a real site.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sitrep/models"
)

// Password is shared by the demo accounts; it is printed when the demo
// loads and documented in the README.
const Password = "sitrep-demo"

var demoUsers = []struct {
	name string
	role models.Role
}{
	{"admin", models.RoleAdmin},
	{"sam.support", models.RoleStaff},
	{"morgan.mod", models.RoleModerator},
	{"casey", models.RoleCustomer},
	{"riley", models.RoleCustomer},
	{"jordan", models.RoleCustomer},
	{"deal.hunter", models.RoleCustomer},
}

var demoServices = []models.NewService{
	{Name: "Mail", Group: "Communication", Description: "Sending and receiving email, IMAP and SMTP."},
	{Name: "Calendar", Group: "Communication", Description: "Shared calendars and meeting invitations."},
	{Name: "Web portal", Group: "Accounts", Description: "Signing in and managing your subscription."},
	{Name: "API", Group: "Accounts", Description: "The public REST API for integrations."},
	{Name: "Status dashboard", Description: "This page and its feeds."},
}

// UserNames lists the demo accounts.
func UserNames() []string {
	names := make([]string, len(demoUsers))
	for i, u := range demoUsers {
		names[i] = u.name
	}
	return names
}

// ErrNotEmpty refuses to load the demo over a site's data.
var ErrNotEmpty = errors.New("the database is not empty; the demo loads only into a new database")

// demoThread is a customer thread of the demo story; replies follow in order.
type demoThread struct {
	author, service, title, body string
	replies                      []demoReply
	affected                     []string
}

type demoReply struct{ author, body string }

var demoThreads = []demoThread{
	{
		author: "casey", service: "Mail", title: "Mail stuck in the outbox since this morning",
		body: "Since this morning nothing leaves my outbox. The client shows this after a while:\n\n" +
			"```\n451 4.7.0 Temporary server error. Please try again later. <b>PRX4</b> & retry\n```\n\n" +
			"Receiving works, sending does not. Is anyone else seeing this?",
		replies: []demoReply{
			{"riley", "Same here, three offices affected. Webmail gives the same error.\n\n> Receiving works, sending does not.\n\nFor us receiving is **slow** too: mail from outside arrives 20-30 minutes late."},
			{"jordan", "Can confirm from the mobile app as well. Tried:\n\n- [x] restarting the app\n- [x] another network\n- [ ] crying\n\nNothing helps."},
			{"casey", "The status page said *All Systems Operational* for the first hour, which did not help. Glad this forum exists."},
		},
		affected: []string{"riley", "jordan"},
	},
	{
		author: "riley", service: "Calendar", title: "Meeting invitations never arrive",
		body: "Invitations I send from the calendar are not delivered. The calendar itself loads fine. " +
			"Probably the same mail problem? See the [mail thread](/threads/1).",
		replies: []demoReply{
			{"jordan", "Same: invitations stay in *pending*. Accepting one that came in yesterday works."},
		},
		affected: []string{"jordan"},
	},
	{
		author: "jordan", service: "Web portal", title: "How do I download last month's invoice?",
		body: "Not outage related: where in the web portal are invoices? I looked under *Subscription*.",
		replies: []demoReply{
			{"casey", "Under **Billing → Documents**, the second tab. It took me a while too."},
		},
	},
}

// Load fills an empty database with the demo scenario.
func Load(ctx context.Context, store *models.Store) error {
	n, err := store.CountUsers(ctx)
	if err != nil {
		return err
	}
	services, err := store.ListServices(ctx)
	if err != nil {
		return err
	}
	if n > 0 || len(services) > 0 {
		return ErrNotEmpty
	}
	// The story is told on a clock of its own: accounts a month old, then
	// the morning of the outage, a few minutes between posts.
	realNow := store.Now
	defer func() { store.Now = realNow }()
	clock := realNow().Add(-30 * 24 * time.Hour)
	store.Now = func() time.Time { return clock }

	users := map[string]*models.User{}
	for _, u := range demoUsers {
		created, err := store.CreateUser(ctx, models.NewUser{
			Name: u.name, Email: u.name + "@demo.example", Password: Password, Role: u.role, AllowReserved: true,
		})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.name, err)
		}
		users[u.name] = created
	}
	// The catalogue is older than the dashboard's 90 days, so every bar
	// has data.
	clock = realNow().Add(-365 * 24 * time.Hour)
	serviceIDs := map[string]int64{}
	for i, s := range demoServices {
		s.Position = i + 1
		created, err := store.CreateService(ctx, nil, s)
		if err != nil {
			return fmt.Errorf("demo service %s: %w", s.Name, err)
		}
		serviceIDs[s.Name] = created.ID
	}

	at := func(d time.Duration) { clock = realNow().Add(d) }
	if err := demoHistory(ctx, store, at, users["sam.support"], serviceIDs); err != nil {
		return err
	}

	at(-6 * time.Hour)
	var threadIDs []int64
	for _, dt := range demoThreads {
		clock = clock.Add(7 * time.Minute)
		sid := serviceIDs[dt.service]
		th, _, err := store.CreateThread(ctx, users[dt.author], models.NewThread{Title: dt.title, Body: dt.body, ServiceID: &sid})
		if err != nil {
			return fmt.Errorf("demo thread %q: %w", dt.title, err)
		}
		threadIDs = append(threadIDs, th.ID)
		for _, r := range dt.replies {
			clock = clock.Add(4 * time.Minute)
			if _, _, err := store.CreateReply(ctx, users[r.author], th.ID, models.NewPost{Body: r.body}); err != nil {
				return fmt.Errorf("demo reply in %q: %w", dt.title, err)
			}
		}
		for _, name := range dt.affected {
			if _, err := store.SetAffected(ctx, users[name], th.ID, true); err != nil {
				return err
			}
		}
	}
	if err := demoOutage(ctx, store, at, users, serviceIDs, threadIDs[:2]); err != nil {
		return err
	}
	return demoSubscriptions(ctx, store, serviceIDs)
}

// demoSubscriptions are a few confirmed subscribers, made after the story
// so that they are told only of what happens next: one to every service by
// e-mail, one to the communication services by e-mail, and a webhook (to a
// host that does not exist, so its delivery log shows retries).
func demoSubscriptions(ctx context.Context, store *models.Store, svc map[string]int64) error {
	for _, in := range []models.NewSubscription{
		{Email: "reader@demo.example"},
		{Email: "office@demo.example", ServiceIDs: []int64{svc["Mail"], svc["Calendar"]}},
		{Email: "ops@demo.example", WebhookURL: "https://hooks.demo.example/sitrep"},
	} {
		var token string
		if _, err := store.CreateSubscription(ctx, in, func(_ *models.Subscription, t string) models.Mail {
			token = t
			return models.Mail{Subject: "Confirm your subscription (demo)", Text: "The demo confirmed this subscription when it loaded."}
		}); err != nil {
			return fmt.Errorf("demo subscription %s: %w", in.Email, err)
		}
		if _, err := store.ConfirmSubscription(ctx, token); err != nil {
			return err
		}
	}
	return nil
}

// demoHistory tells what happened before today: a resolved API incident
// three weeks ago with its postmortem, maintenance ten days ago, and
// maintenance planned for the day after tomorrow.
func demoHistory(ctx context.Context, store *models.Store, at func(time.Duration), staff *models.User, svc map[string]int64) error {
	day := 24 * time.Hour
	at(-20*day - 3*time.Hour)
	next := store.Now().Add(time.Hour)
	inc, err := store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident, Title: "Slow API responses",
		Impact: "minor", Status: models.StatusInvestigating, NextUpdateAt: &next,
		Body:     "API calls take up to 10 seconds. We are investigating.",
		Services: []models.ServiceChange{{ServiceID: svc["API"], Status: models.DegradedPerformance}}})
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	at(-20*day - time.Hour)
	if _, err := store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved,
		Body: "A slow database query was fixed; response times are back to normal."}); err != nil {
		return err
	}
	if _, err := store.SetPostmortem(ctx, staff, inc.ID, "## What happened\n\nA new report ran an unindexed query on the primary database for two hours.\n\n"+
		"## What we changed\n\n- The query now uses an index.\n- Reports run on a replica."); err != nil {
		return err
	}

	at(-11 * day)
	from, until := store.Now().Add(day), store.Now().Add(day+90*time.Minute)
	m, err := store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Web portal database upgrade",
		Body:     "The web portal is read-only during the upgrade.",
		Services: []models.ServiceChange{{ServiceID: svc["Web portal"], Status: models.UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	if err != nil {
		return err
	}
	for _, d := range []time.Duration{-10 * day, -10*day + 90*time.Minute} {
		at(d)
		if _, err := store.AdvanceMaintenance(ctx); err != nil {
			return fmt.Errorf("demo maintenance %d: %w", m.ID, err)
		}
	}

	at(-time.Hour)
	from, until = store.Now().Add(2*day+time.Hour), store.Now().Add(2*day+3*time.Hour)
	_, err = store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Calendar storage migration",
		Body:     "Calendars move to new storage. Invitations may be delayed by a few minutes; nothing is lost.",
		Services: []models.ServiceChange{{ServiceID: svc["Calendar"], Status: models.UnderMaintenance}}, ScheduledFor: &from, ScheduledUntil: &until})
	return err
}

// demoOutage is today's story. Customers report first; staff declare the
// incident (the status dashboard is hit too), link the customer threads and
// post updates with promises, kept, from investigating to resolved, while
// customers answer on the incident and a moderator pins it and keeps the
// spam out. The fallout is still open: meeting invitations held during the
// outage arrive late, and staff move the calendar complaint to that
// incident.
func demoOutage(ctx context.Context, store *models.Store, at func(time.Duration), users map[string]*models.User, svc map[string]int64, complaints []int64) error {
	staff := users["sam.support"]
	at(-5*time.Hour - 15*time.Minute)
	next := store.Now().Add(30 * time.Minute)
	inc, err := store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident,
		Title: "Outgoing mail failing; status dashboard unavailable", Impact: "major", Status: models.StatusInvestigating, NextUpdateAt: &next,
		Body: "Customers cannot send mail (error `451 4.7.0`); incoming mail is delayed. " +
			"The status dashboard was unreachable too, which is why this first word comes late. We are investigating.",
		Services: []models.ServiceChange{{ServiceID: svc["Mail"], Status: models.MajorOutage},
			{ServiceID: svc["Calendar"], Status: models.DegradedPerformance},
			{ServiceID: svc["Status dashboard"], Status: models.PartialOutage}}})
	if err != nil {
		return fmt.Errorf("demo incident: %w", err)
	}
	at(-5*time.Hour - 10*time.Minute)
	for _, id := range complaints {
		if _, err := store.LinkThread(ctx, staff, id, inc.ID); err != nil {
			return err
		}
	}
	at(-4*time.Hour - 50*time.Minute)
	next = store.Now().Add(70 * time.Minute)
	if _, err := store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusIdentified, NextUpdateAt: &next,
		Body: "We found the cause: a certificate on the outbound mail relays expired at 06:12 UTC, and the dashboard's " +
			"health checks used the same relays. A new certificate is being rolled out relay by relay.",
		Services: []models.ServiceChange{{ServiceID: svc["Status dashboard"], Status: models.DegradedPerformance}}}); err != nil {
		return err
	}
	if err := demoReplies(ctx, store, at, users, inc.ThreadID, -4*time.Hour-40*time.Minute, []demoReply{
		{"casey", "Thanks, an actual cause and a time for the next word. That is all we needed."},
		{"riley", "Will queued mail be sent once it is fixed, or do we have to send it again?"},
	}, "casey", "riley", "jordan"); err != nil {
		return err
	}
	// The moderator pins the incident in the forum for the day; a spammer
	// shows up and two customers flag the post, which waits in the
	// moderators' queue.
	pinUntil := store.Now().Add(24 * time.Hour)
	if _, err := store.SetPinned(ctx, users["morgan.mod"], inc.ThreadID, true, &pinUntil, "the outage everyone asks about"); err != nil {
		return err
	}
	at(-4*time.Hour - 20*time.Minute)
	spam, _, err := store.CreateReply(ctx, users["deal.hunter"], complaints[0], models.NewPost{
		Body: "Mail down? Switch to **SuperMail Pro** today, 90% off for the next hour only!"})
	if err != nil {
		return err
	}
	for _, name := range []string{"casey", "jordan"} {
		if _, err := store.FlagPost(ctx, users[name], spam.ID, "spam", ""); err != nil {
			return err
		}
	}
	at(-3*time.Hour - 45*time.Minute)
	next = store.Now().Add(75 * time.Minute)
	if _, err := store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusMonitoring, NextUpdateAt: &next,
		Body: "All relays have the new certificate and queued mail is being delivered: **you do not need to send it again**. " +
			"Delivery is still slower than usual while the queue drains.",
		Services: []models.ServiceChange{{ServiceID: svc["Mail"], Status: models.DegradedPerformance},
			{ServiceID: svc["Calendar"], Status: models.Operational},
			{ServiceID: svc["Status dashboard"], Status: models.Operational}}}); err != nil {
		return err
	}
	at(-2*time.Hour - 35*time.Minute)
	if _, err := store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved,
		Body: "The queue has drained and mail is delivered on time again. Every message sent during the outage was delivered; " +
			"nothing was lost. We will publish a postmortem here, including how the status dashboard came to depend on the mail relays."}); err != nil {
		return err
	}
	return demoFallout(ctx, store, at, users, svc, complaints[1])
}

// demoFallout is the incident still open: meeting invitations held during
// the mail outage arrive late, with a promise of the next word.
func demoFallout(ctx context.Context, store *models.Store, at func(time.Duration), users map[string]*models.User, svc map[string]int64, complaint int64) error {
	staff := users["sam.support"]
	at(-90 * time.Minute)
	next := store.Now().Add(30 * time.Minute)
	inc, err := store.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident,
		Title: "Meeting invitations arrive late", Impact: "minor", Status: models.StatusInvestigating, NextUpdateAt: &next,
		Body:     "Some meeting invitations sent during this morning's mail outage are still arriving, hours late. Mail itself works normally.",
		Services: []models.ServiceChange{{ServiceID: svc["Calendar"], Status: models.DegradedPerformance}}})
	if err != nil {
		return fmt.Errorf("demo fallout: %w", err)
	}
	at(-85 * time.Minute)
	if _, err := store.LinkThread(ctx, staff, complaint, inc.ID); err != nil {
		return err
	}
	at(-40 * time.Minute)
	next = store.Now().Add(50 * time.Minute)
	if _, err := store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusIdentified, NextUpdateAt: &next,
		Body: "The calendar kept its own queue of invitations during the outage and sends it in small batches. " +
			"We are sending the rest now; some people may get an invitation twice. Accepting either copy works."}); err != nil {
		return err
	}
	return demoReplies(ctx, store, at, users, inc.ThreadID, -30*time.Minute, []demoReply{
		{"jordan", "Got three copies of Monday's planning invitation, but at least it arrived. Thanks for saying that either copy works."},
	}, "jordan", "riley")
}

// demoReplies posts customers' replies five minutes apart from offset, then
// marks the affected.
func demoReplies(ctx context.Context, store *models.Store, at func(time.Duration), users map[string]*models.User, threadID int64, offset time.Duration, replies []demoReply, affected ...string) error {
	for i, r := range replies {
		at(offset + time.Duration(i)*5*time.Minute)
		if _, _, err := store.CreateReply(ctx, users[r.author], threadID, models.NewPost{Body: r.body}); err != nil {
			return err
		}
	}
	for _, name := range affected {
		if _, err := store.SetAffected(ctx, users[name], threadID, true); err != nil {
			return err
		}
	}
	return nil
}
