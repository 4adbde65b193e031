package models

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm/schema"
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

// allModels lists every model type with a table. A new model must be added
// here, and the drift test then checks its migration.
var allModels = []any{&User{}, &Session{}, &APIToken{}, &Service{}, &schemaMigration{},
	&Thread{}, &Post{}, &PostRevision{}, &AffectedMark{},
	&Incident{}, &IncidentService{}, &IncidentUpdate{}, &UpdateTransition{}, &ServiceStatusChange{},
	&Flag{}, &Sanction{}, &AuditEntry{}, &Follow{}}

// TestSchemaMatchesModels fails when a migration and the Go structs disagree:
// every model field has a column, every column has a field, and every table
// has a model.
func TestSchemaMatchesModels(t *testing.T) {
	s := newTestStore(t)
	m := s.db.Migrator()
	tables := map[string]bool{}
	for _, model := range allModels {
		sch, err := schema.Parse(model, &sync.Map{}, s.db.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		tables[sch.Table] = true
		cols, err := m.ColumnTypes(model)
		if err != nil {
			t.Fatalf("%s: %v", sch.Table, err)
		}
		inDB := map[string]bool{}
		for _, c := range cols {
			inDB[c.Name()] = true
		}
		inStruct := map[string]bool{}
		for _, f := range sch.Fields {
			if f.DBName == "" {
				continue
			}
			inStruct[f.DBName] = true
			if !inDB[f.DBName] {
				t.Errorf("table %s has no column %s for field %s.%s", sch.Table, f.DBName, sch.Name, f.Name)
			}
		}
		for c := range inDB {
			if !inStruct[c] {
				t.Errorf("table %s column %s has no field in %s", sch.Table, c, sch.Name)
			}
		}
	}
	// Full-text tables are kept by hand, not by a model; skip them and
	// their shadow tables.
	var names []string
	if err := s.db.Raw(`SELECT name FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%'
			AND (m.name = v.name OR m.name LIKE v.name || '_%'))`).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !tables[n] {
			t.Errorf("table %s has no model in allModels", n)
		}
	}
}

func TestMigrateIsIdempotentAndVersioned(t *testing.T) {
	s := newTestStore(t)
	n, err := s.Migrate(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("second migrate applied %d, err %v; want 0, nil", n, err)
	}
	var versions []int
	s.db.Raw("SELECT version FROM schema_migrations ORDER BY version").Scan(&versions)
	if len(versions) != len(migrations) || versions[len(versions)-1] != SchemaVersion() {
		t.Fatalf("recorded versions %v, want %d steps up to %d", versions, len(migrations), SchemaVersion())
	}
	for i, m := range migrations {
		if m.version != i+1 {
			t.Fatalf("migration %d has version %d: versions must be 1, 2, 3 ... in order", i, m.version)
		}
	}
	// A database from a newer binary is refused, not silently used.
	s.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', ?)", SchemaVersion()+1, time.Now())
	if _, err := s.Migrate(context.Background()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("migrate on a newer schema: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	s := newTestStore(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

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

func TestSessionLifecycle(t *testing.T) {
	s := newTestStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	u := mustUser(t, s, "alice", RoleCustomer)
	secret, err := s.CreateSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored Session
	s.db.First(&stored)
	if stored.ID == secret || strings.Contains(stored.ID, secret) {
		t.Fatal("the session secret is stored in clear")
	}
	if got, err := s.UserBySession(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("live session: %v %v", got, err)
	}
	if _, err := s.UserBySession(ctx, "forged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged session: %v", err)
	}
	now = now.Add(SessionLifetime + time.Second)
	if _, err := s.UserBySession(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	// A new log-in prunes expired sessions.
	if _, err := s.CreateSession(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	var n int64
	s.db.Model(&Session{}).Count(&n)
	if n != 1 {
		t.Errorf("%d sessions after pruning, want 1", n)
	}
}

func TestTokens(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "alice", RoleCustomer)
	other := mustUser(t, s, "bob", RoleCustomer)
	tok, secret, err := s.CreateToken(ctx, u.ID, "cron")
	if err != nil || !strings.HasPrefix(secret, TokenPrefix) || tok.Hash == secret {
		t.Fatalf("token %v %q %v", tok, secret, err)
	}
	if got, err := s.UserByToken(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("token user: %v %v", got, err)
	}
	if _, _, err := s.CreateToken(ctx, u.ID, " "); err == nil {
		t.Error("empty token name accepted")
	}
	if err := s.RevokeToken(ctx, other.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking someone else's token: %v", err)
	}
	if err := s.RevokeToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked token: %v", err)
	}
	if ts, _ := s.ListTokens(ctx, u.ID); len(ts) != 0 {
		t.Errorf("revoked token still listed: %v", ts)
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

func TestBackupIsConsistentAndVerified(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustUser(t, s, "alice", RoleCustomer)
	to := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, to); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, to); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	restored, err := Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if u, err := restored.UserByName(ctx, "alice"); err != nil || u.Email != "alice@example.com" {
		t.Fatalf("restored user: %v %v", u, err)
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

// TestMigration5KeepsData upgrades a database of schema 4 with a silenced
// user, a suspended one and a merged thread: each keeps its reason, authors
// follow their threads and the thread theirs was merged into.
func TestMigration5KeepsData(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := migrations
	migrations = all[:4]
	_, err = s.Migrate(context.Background())
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	later := now.Add(time.Hour)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at, silenced_until, sanction_reason)
			VALUES (1, 'quiet', 'q@example.com', 'x', 'customer', ?, ?, ?, 'spam')`, []any{now, now, later}},
		{`INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at, suspended_until, sanction_reason)
			VALUES (2, 'gone', 'g@example.com', 'x', 'customer', ?, ?, ?, 'abuse')`, []any{now, now, later}},
		{`INSERT INTO threads (id, title, author_id, last_activity_at, created_at, updated_at) VALUES (1, 'Mail is down', 1, ?, ?, ?)`, []any{now, now, now}},
		{`INSERT INTO threads (id, title, author_id, last_activity_at, created_at, updated_at, merged_into_id) VALUES (2, 'Mail down too', 2, ?, ?, ?, 1)`, []any{now, now, now}},
	} {
		if err := s.db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Migrate(context.Background()); err != nil || n != SchemaVersion()-4 {
		t.Fatalf("upgrade: %d steps, %v", n, err)
	}
	quiet, _ := s.UserByID(context.Background(), 1)
	gone, _ := s.UserByID(context.Background(), 2)
	if quiet.SilenceReason != "spam" || quiet.SuspensionReason != "" || gone.SuspensionReason != "abuse" || gone.SilenceReason != "" {
		t.Errorf("reasons after the upgrade: %+v %+v", quiet, gone)
	}
	var follows []Follow
	s.db.Order("thread_id, user_id").Find(&follows)
	if len(follows) != 3 || follows[0].UserID != 1 || follows[1].ThreadID != 1 || follows[1].UserID != 2 || follows[2].ThreadID != 2 {
		t.Errorf("follows after the upgrade: %+v", follows)
	}
}
