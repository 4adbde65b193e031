package models

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestCreateUserValidation(t *testing.T) {
	s := newTestStore(t)
	mustUser(t, s, "taken", RoleCustomer)
	long := strings.Repeat("x", 31)
	cases := []struct {
		name, email, password string
		field                 string // the field that must be refused, "" for success
	}{
		{"alice", "alice@example.com", "long enough password", ""},
		{"", "a@example.com", "long enough password", "name"},
		{"ab", "a@example.com", "long enough password", "name"},
		{long, "a@example.com", "long enough password", "name"},
		{"<script>", "a@example.com", "long enough password", "name"},
		{"José", "a@example.com", "long enough password", "name"},
		{"Support", "a@example.com", "long enough password", "name"},
		{"supp0rt-team", "a@example.com", "long enough password", "name"},
		{"ADM1N", "a@example.com", "long enough password", "name"},
		{"s.t.a.f.f", "a@example.com", "long enough password", "name"},
		{"Official_Sitrep", "a@example.com", "long enough password", "name"},
		{"TAKEN", "b@example.com", "long enough password", "name"},
		{"bob", "not-an-email", "long enough password", "email"},
		{"bob", "Bob <bob@example.com>", "long enough password", "email"},
		{"bob", "taken@EXAMPLE.com", "long enough password", "email"},
		{"bob", "bob@example.com", "short", "password"},
		{"bob", "bob@example.com", strings.Repeat("p", 73), "password"},
	}
	for _, c := range cases {
		_, err := s.CreateUser(context.Background(), NewUser{Name: c.name, Email: c.email, Password: c.password})
		var ve *ValidationError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.name, err)
		case c.field != "" && (!errors.As(err, &ve) || ve.Fields[c.field] == ""):
			t.Errorf("%q/%q: want a message on %s, got %v", c.name, c.email, c.field, err)
		}
	}
}

// TestConcurrentSignUpSameName: 50 simultaneous sign-ups for one name give
// exactly one account and clean validation errors for the rest.
func TestConcurrentSignUpSameName(t *testing.T) {
	s := newTestStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CreateUser(context.Background(), NewUser{Name: "rush", Email: "rush" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com", Password: "long enough password"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var ve *ValidationError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ve) && ve.Fields["name"] != "":
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if n, _ := s.CountUsers(context.Background()); ok != 1 || n != 1 {
		t.Fatalf("%d successes, %d users; want exactly 1", ok, n)
	}
}

func TestAuthenticate(t *testing.T) {
	s := newTestStore(t)
	mustUser(t, s, "alice", RoleCustomer)
	ctx := context.Background()
	for _, login := range []string{"alice", "ALICE", "alice@example.com", " alice "} {
		if _, err := s.Authenticate(ctx, login, "long enough password"); err != nil {
			t.Errorf("%q: %v", login, err)
		}
	}
	for _, c := range [][2]string{{"alice", "wrong password"}, {"nobody", "long enough password"}, {"", ""}} {
		if _, err := s.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%q: got %v, want ErrBadCredentials", c[0], err)
		}
	}
}

func TestChangeRoleRules(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	admin := mustUser(t, s, "boss", RoleAdmin)
	staff := mustUser(t, s, "helper", RoleStaff)
	mod := mustUser(t, s, "keeper", RoleModerator)

	if _, err := s.ChangeRole(ctx, mod, staff.ID, RoleCustomer); !errors.Is(err, ErrForbidden) {
		t.Errorf("moderator changing a role: %v, want ErrForbidden", err)
	}
	if _, err := s.ChangeRole(ctx, admin, admin.ID, RoleCustomer); err == nil {
		t.Error("an admin lowered their own role")
	}
	if _, err := s.ChangeRole(ctx, admin, staff.ID, "overlord"); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := s.ChangeRole(ctx, admin, 9999, RoleStaff); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	second := mustUser(t, s, "second", RoleCustomer)
	var err error
	if second, err = s.ChangeRole(ctx, admin, second.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	// Two admins: one may demote the other, and then the last one stays.
	if _, err := s.ChangeRole(ctx, second, admin.ID, RoleCustomer); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	var ve *ValidationError
	if _, err := s.ChangeRole(ctx, second, second.ID, RoleCustomer); !errors.As(err, &ve) {
		t.Errorf("the last admin demoted themselves: %v", err)
	}
	var admins int64
	s.db.Model(&User{}).Where("role = ?", RoleAdmin).Count(&admins)
	if admins != 1 {
		t.Fatalf("%d admins left, want 1", admins)
	}
}

func TestRoleChangeRevokesCredentials(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	admin := mustUser(t, s, "boss", RoleAdmin)
	staff := mustUser(t, s, "helper", RoleStaff)
	secret, _ := s.CreateSession(ctx, staff.ID)
	_, token, _ := s.CreateToken(ctx, staff.ID, "script")
	if _, err := s.ChangeRole(ctx, admin, staff.ID, RoleCustomer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserBySession(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("session after role change: %v, want revoked", err)
	}
	if _, err := s.UserByToken(ctx, token); !errors.Is(err, ErrRevoked) {
		t.Errorf("token after role change: %v, want revoked", err)
	}
}

func TestChangePasswordEndsSessions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "alice", RoleCustomer)
	secret, _ := s.CreateSession(ctx, u.ID)
	var ve *ValidationError
	if err := s.ChangePassword(ctx, u.ID, "wrong", "another long password"); !errors.As(err, &ve) || ve.Fields["current_password"] == "" {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := s.ChangePassword(ctx, u.ID, "long enough password", "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserBySession(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("old session after password change: %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice", "another long password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestListUsersPaginatesAndEscapesLike(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, n := range []string{"anna", "bert", "carl", "dora", "emil"} {
		mustUser(t, s, n, RoleCustomer)
	}
	p1, err := s.ListUsers(ctx, UserFilter{}, Page{Number: 1, PerPage: 2})
	if err != nil || len(p1.Items) != 2 || !p1.HasNext || p1.Items[0].Name != "anna" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p3, _ := s.ListUsers(ctx, UserFilter{}, Page{Number: 3, PerPage: 2})
	if len(p3.Items) != 1 || p3.HasNext {
		t.Fatalf("page 3: %+v", p3)
	}
	if r, _ := s.ListUsers(ctx, UserFilter{Query: "%"}, Page{}); len(r.Items) != 0 {
		t.Errorf("%% matched %d users; LIKE wildcards must be literal", len(r.Items))
	}
	if r, _ := s.ListUsers(ctx, UserFilter{Query: "OR"}, Page{}); len(r.Items) != 1 {
		t.Errorf("query 'OR' matched %d users, want dora", len(r.Items))
	}
}

func TestRoles(t *testing.T) {
	var names []string
	for _, r := range Roles {
		names = append(names, string(r))
	}
	if !sort.SliceIsSorted(Roles, func(i, j int) bool { return Roles[i].Rank() < Roles[j].Rank() }) {
		t.Error("Roles must be listed lowest first")
	}
	if Role("root").Valid() || !RoleAdmin.IsStaff() || !RoleAdmin.CanModerate() || RoleStaff.CanModerate() || RoleModerator.IsStaff() {
		t.Errorf("role capabilities are wrong for %v", names)
	}
}
