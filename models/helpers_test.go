package models

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.PasswordCost = bcrypt.MinCost
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUser(t *testing.T, s *Store, name string, role Role) *User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Name: name, Email: name + "@example.com", Password: "long enough password", Role: role, AllowReserved: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// oldUser is a customer whose account is older than a day, so the stricter
// new-account interval does not apply.
func oldUser(t *testing.T, s *Store, name string) *User {
	t.Helper()
	u := mustUser(t, s, name, RoleCustomer)
	u.CreatedAt = u.CreatedAt.Add(-48 * time.Hour)
	s.db.Model(&User{}).Where("id = ?", u.ID).Update("created_at", u.CreatedAt)
	return u
}

func mustThread(t *testing.T, s *Store, author *User, title, body string) *Thread {
	t.Helper()
	th, _, err := s.CreateThread(context.Background(), author, NewThread{Title: title, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// advance moves the store's clock forward past any posting interval.
func advance(s *Store, d time.Duration) {
	now := s.now().Add(d)
	s.Now = func() time.Time { return now }
}

// benchStore is a migrated database in b's temporary folder with one user,
// for benchmarks that bulk-load rows.
func benchStore(b *testing.B) (*Store, *User) {
	s, err := Open(b.TempDir() + "/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	u := &User{Name: "author", Email: "a@example.com", PasswordHash: "x", Role: RoleCustomer}
	if err := s.db.Create(u).Error; err != nil {
		b.Fatal(err)
	}
	return s, u
}

// incidentFixture is a store at a fixed time with two services and a staff
// member.
type incidentFixture struct {
	s          *Store
	staff      *User
	mail, dash *Service
}

func newIncidentFixture(t *testing.T) *incidentFixture {
	t.Helper()
	s := newTestStore(t)
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	mail, err := s.CreateService(ctx, nil, NewService{Name: "Mail", Position: 1})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := s.CreateService(ctx, nil, NewService{Name: "Dashboard", Position: 2})
	if err != nil {
		t.Fatal(err)
	}
	return &incidentFixture{s: s, staff: mustUser(t, s, "carol", RoleStaff), mail: mail, dash: dash}
}

func (f *incidentFixture) statuses(t *testing.T) (mail, dash ComponentStatus) {
	t.Helper()
	st, err := f.s.ServiceStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	get := func(id int64) ComponentStatus {
		if v, ok := st[id]; ok {
			return v
		}
		return Operational
	}
	return get(f.mail.ID), get(f.dash.ID)
}

func (f *incidentFixture) declare(t *testing.T, changes ...ServiceChange) *Incident {
	t.Helper()
	inc, err := f.s.DeclareIncident(context.Background(), f.staff, NewIncident{Kind: KindIncident, Title: "Mail delivery delayed",
		Impact: "major", Status: StatusInvestigating, Body: "We are looking into it.", Services: changes})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

type modFixture struct {
	s                 *Store
	mod, admin, staff *User
	alice, bob, carol *User
	thread            *Thread
	first, reply      *Post
}

func newModFixture(t *testing.T) *modFixture {
	t.Helper()
	s := newTestStore(t)
	f := &modFixture{s: s, mod: mustUser(t, s, "morgan", RoleModerator), admin: mustUser(t, s, "root", RoleAdmin),
		staff: mustUser(t, s, "sam", RoleStaff), alice: oldUser(t, s, "alice"), bob: oldUser(t, s, "bob"), carol: oldUser(t, s, "carol")}
	f.thread = mustThread(t, s, f.alice, "Mail is down", "Since nine.")
	advance(s, time.Minute)
	var err error
	if f.reply, _, err = s.CreateReply(context.Background(), f.bob, f.thread.ID, NewPost{Body: "Buy cheap watches"}); err != nil {
		t.Fatal(err)
	}
	posts, _ := s.ListPosts(context.Background(), PostQuery{ThreadID: f.thread.ID}, Page{})
	f.first = &posts.Items[0]
	advance(s, time.Minute)
	return f
}

func (f *modFixture) auditCount(t *testing.T, action string) int {
	t.Helper()
	list, err := f.s.ListAudit(context.Background(), AuditFilter{Action: action}, Page{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
