package models

import (
	"context"
	"path/filepath"
	"testing"
)

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
