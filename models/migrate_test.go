package models

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"
)

// TestSchemaMatchesModels fails when a migration and the Go structs disagree:
// every model field has a column, every column has a field, and every table
// has a model.
func TestSchemaMatchesModels(t *testing.T) {
	s := newTestStore(t)
	m := s.db.Migrator()
	modelled := map[string]bool{}
	for _, model := range tables {
		sch, err := schema.Parse(model, &sync.Map{}, s.db.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		modelled[sch.Table] = true
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
	tablesSQL := `SELECT name FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%'
			AND (m.name = v.name OR m.name LIKE v.name || '_%'))`
	if s.pg {
		tablesSQL = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name <> 'post_search'`
	}
	var names []string
	if err := s.db.Raw(tablesSQL).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !modelled[n] {
			t.Errorf("table %s has no model in tables", n)
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
		if i > 0 && m.version <= migrations[i-1].version {
			t.Fatalf("migration %d has version %d: versions must increase", i, m.version)
		}
	}
	// A database from a newer binary is refused, not silently used.
	s.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', ?)", SchemaVersion()+1, time.Now())
	if _, err := s.Migrate(context.Background()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("migrate on a newer schema: %v", err)
	}
}

// TestMigration5KeepsData upgrades a database of schema 4 with a silenced
// user, a suspended one and a merged thread: each keeps its reason, authors
// follow their threads and the thread theirs was merged into.
func TestMigration5KeepsData(t *testing.T) {
	s := openStore(t)
	all := migrations
	migrations = all[:4]
	_, err := s.Migrate(context.Background())
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
	if n, err := s.Migrate(context.Background()); err != nil || n != len(migrations)-4 {
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

// TestMigrateRunsAStepMergedBelow: a step numbered below one already
// applied (made on another branch meanwhile) still runs.
func TestMigrateRunsAStepMergedBelow(t *testing.T) {
	s := openStore(t)
	all := migrations
	var without []migration
	for _, m := range all {
		if m.version != 6 {
			without = append(without, m)
		}
	}
	migrations = without
	_, err := s.Migrate(context.Background())
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Migrate(context.Background()); err != nil || n != 1 {
		t.Fatalf("the missing step: applied %d, %v", n, err)
	}
	if !s.db.Migrator().HasTable("events") {
		t.Error("step 6 did not run")
	}
}
