package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sitrep/models"
)

// demoPassword is shared by the demo accounts; it is printed when the demo
// loads and documented in the README. Never load the demo on a real site.
const demoPassword = "sitrep-demo"

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
}

var demoServices = []models.NewService{
	{Name: "Mail", Group: "Communication", Description: "Sending and receiving email, IMAP and SMTP."},
	{Name: "Calendar", Group: "Communication", Description: "Shared calendars and meeting invitations."},
	{Name: "Web portal", Group: "Accounts", Description: "Signing in and managing your subscription."},
	{Name: "API", Group: "Accounts", Description: "The public REST API for integrations."},
	{Name: "Status dashboard", Description: "This page and its feeds."},
}

func demoUserNames() []string {
	names := make([]string, len(demoUsers))
	for i, u := range demoUsers {
		names[i] = u.name
	}
	return names
}

var errNotEmpty = errors.New("the database is not empty; the demo loads only into a new database")

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

// loadDemo fills an empty database with the demo scenario.
func loadDemo(ctx context.Context, store *models.Store) error {
	n, err := store.CountUsers(ctx)
	if err != nil {
		return err
	}
	services, err := store.ListServices(ctx)
	if err != nil {
		return err
	}
	if n > 0 || len(services) > 0 {
		return errNotEmpty
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
			Name: u.name, Email: u.name + "@demo.example", Password: demoPassword, Role: u.role, AllowReserved: true,
		})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.name, err)
		}
		users[u.name] = created
	}
	serviceIDs := map[string]int64{}
	for i, s := range demoServices {
		s.Position = i + 1
		created, err := store.CreateService(ctx, s)
		if err != nil {
			return fmt.Errorf("demo service %s: %w", s.Name, err)
		}
		serviceIDs[s.Name] = created.ID
	}

	clock = realNow().Add(-3 * time.Hour)
	for _, dt := range demoThreads {
		clock = clock.Add(7 * time.Minute)
		sid := serviceIDs[dt.service]
		th, _, err := store.CreateThread(ctx, users[dt.author], models.NewThread{Title: dt.title, Body: dt.body, ServiceID: &sid})
		if err != nil {
			return fmt.Errorf("demo thread %q: %w", dt.title, err)
		}
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
	return nil
}
