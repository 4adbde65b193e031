package main

import (
	"context"
	"errors"
	"fmt"

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
	for _, u := range demoUsers {
		if _, err := store.CreateUser(ctx, models.NewUser{
			Name: u.name, Email: u.name + "@demo.example", Password: demoPassword, Role: u.role, AllowReserved: true,
		}); err != nil {
			return fmt.Errorf("demo user %s: %w", u.name, err)
		}
	}
	for i, s := range demoServices {
		s.Position = i + 1
		if _, err := store.CreateService(ctx, s); err != nil {
			return fmt.Errorf("demo service %s: %w", s.Name, err)
		}
	}
	return nil
}
