package models

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"sitrep/models/testdb"
)

// openStore opens an empty database (see testdb.DSN: SQLite, or
// PostgreSQL when the tests are told to use it), closed when the test
// ends. Only migration tests want it unmigrated; the rest use
// newTestStore.
func openStore(tb testing.TB) *Store {
	tb.Helper()
	return openAt(tb, testdb.DSN(tb, "test.db"))
}

// openAt opens the database at dsn, closed when the test ends.
func openAt(tb testing.TB, dsn string) *Store {
	tb.Helper()
	s, err := Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	s.PasswordCost = bcrypt.MinCost // hashing at the real cost would dominate the tests' time
	return s
}

// newSQLiteStore is a migrated, empty SQLite database whatever the tests
// run on, for the tests of what only SQLite has (pragmas, its query
// plans, file backups).
func newSQLiteStore(tb testing.TB) *Store {
	tb.Helper()
	return migrated(tb, openAt(tb, filepath.Join(tb.TempDir(), "test.db")))
}

// newTestStore is a migrated, empty database on the real clock.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	return migrated(tb, openAt(tb, testdb.Migrated(tb, "test.db", migrateAt)))
}

// migrated brings s up to date (on a copy of the migrated template, there
// is nothing to do).
func migrated(tb testing.TB, s *Store) *Store {
	tb.Helper()
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// migrateAt migrates the database at dsn, for testdb.Migrated.
func migrateAt(dsn string) error {
	_, err := MigrateAt(context.Background(), dsn)
	return err
}

// mustUser creates an account named name (email name@example.com, password
// "long enough password"); reserved names are allowed so that tests can
// name staff freely.
func mustUser(tb testing.TB, s *Store, name string, role Role) *User {
	tb.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Name: name, Email: name + "@example.com", Password: "long enough password", Role: role, AllowReserved: true})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// oldUser is a customer whose account is older than a day, so the stricter
// new-account interval does not apply.
func oldUser(t *testing.T, s *Store, name string) *User {
	t.Helper()
	u := mustUser(t, s, name, RoleCustomer)
	u.CreatedAt = u.CreatedAt.Add(-48 * time.Hour)
	if err := s.db.Model(&User{}).Where("id = ?", u.ID).Update("created_at", u.CreatedAt).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

// mustThread starts a thread as author.
func mustThread(t *testing.T, s *Store, author *User, title, body string) *Thread {
	t.Helper()
	th, _, err := s.CreateThread(context.Background(), author, NewThread{Title: title, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// setClock stops the store's clock at at.
func setClock(s *Store, at time.Time) {
	s.Now = func() time.Time { return at }
}

// advance moves the store's clock forward by d and stops it there, so a test
// can step past posting intervals, promises and maintenance windows.
func advance(s *Store, d time.Duration) { setClock(s, s.now().Add(d)) }

// countQueries counts the queries s sends from now on, whether they read
// models (Find, First, Count, Pluck) or raw rows (Raw and Scan).
func countQueries(t *testing.T, s *Store) *int {
	t.Helper()
	n := new(int)
	count := func(*gorm.DB) { *n++ }
	if err := s.db.Callback().Query().After("gorm:query").Register("test:count_queries", count); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Callback().Row().After("gorm:row").Register("test:count_queries", count); err != nil {
		t.Fatal(err)
	}
	return n
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
	setClock(s, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
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

// modFixture is a forum with a moderator, an admin, a staff member and three
// customers, and alice's thread with bob's spam reply, the clock two minutes
// on.
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

// runNotifications does the notify jobs that are due, as the server's
// worker does, drops the jobs that take news out (announcements and mails,
// which the notify package's tests cover), and fails on any other kind of
// job left due.
func runNotifications(t *testing.T, s *Store) {
	t.Helper()
	jobs, err := s.ClaimJobs(context.Background(), 1000, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == JobFanout || j.Kind == JobFollowMail {
			if err := s.FinishJob(context.Background(), j.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if j.Kind != JobNotify {
			t.Fatalf("unexpected job %s", j.Kind)
		}
		var nj NotifyJob
		if err := json.Unmarshal([]byte(j.Payload), &nj); err != nil {
			t.Fatal(err)
		}
		if err := s.DoJob(context.Background(), j.ID, func(tx *Tx) error { return tx.WriteNotifications(nj) }); err != nil {
			t.Fatalf("job %d (%s): %v", j.ID, j.Payload, err)
		}
	}
}

// notificationsOf lists u's notifications as "kind count text", newest
// first.
func notificationsOf(t *testing.T, s *Store, u *User) []string {
	t.Helper()
	list, err := s.Notifications(context.Background(), u.ID, Page{PerPage: MaxPerPage})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range list.Items {
		out = append(out, fmt.Sprintf("%s %d %s", n.Kind, n.Count, n.Text()))
	}
	return out
}
