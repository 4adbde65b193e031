package models

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sitrep/models/testdb"

	"gorm.io/gorm"
)

func TestPragmas(t *testing.T) {
	s := newSQLiteStore(t)
	for pool, db := range map[string]*gorm.DB{"reader": s.db, "writer": s.wdb} {
		busy := map[string]string{"reader": "2000", "writer": "10000"}[pool]
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": busy} {
			var got string
			if err := db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool, pragma, got, want)
			}
		}
	}
}

func TestBackupIsConsistentAndVerified(t *testing.T) {
	s := newSQLiteStore(t)
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

// TestBackupOnPostgreSQL: a PostgreSQL database is not copied as a file;
// the error says what to use.
func TestBackupOnPostgreSQL(t *testing.T) {
	s, err := Open(testdb.Fresh(t, testdb.Postgres(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "b.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup on PostgreSQL: %v, want a pointer to pg_dump", err)
	}
}

// TestReadSnapshot: reads in a snapshot see one state of the database while
// a write commits beside them, the write does not wait for them, and the
// connection goes back to the pool out of its transaction even when the
// request was cancelled.
func TestReadSnapshot(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	mustUser(t, s, "alice", RoleCustomer)
	err := s.readSnapshot(ctx, func(rs *Store) error {
		before, err := rs.CountUsers(ctx)
		if err != nil {
			return err
		}
		// A snapshot holding the write lock would make this wait out the
		// busy timeout and fail.
		start := time.Now()
		mustUser(t, s, "bob", RoleCustomer)
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("the write waited %v for the snapshot", waited)
		}
		after, err := rs.CountUsers(ctx)
		if err != nil {
			return err
		}
		if before != 1 || after != 1 {
			t.Errorf("the snapshot counted %d users, then %d; want 1 both times", before, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountUsers(ctx); n != 2 {
		t.Fatalf("%d users after the snapshot, want 2", n)
	}

	// One connection in the pool: the write after a cancelled snapshot gets
	// the snapshot's connection, and could not begin its own transaction
	// if the snapshot's were still open.
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
	cancelled, cancel := context.WithCancel(ctx)
	err = s.readSnapshot(cancelled, func(rs *Store) error {
		if _, err := rs.CountUsers(cancelled); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "carol", RoleCustomer)
}
