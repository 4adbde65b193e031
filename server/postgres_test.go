package main

import (
	"path/filepath"
	"strings"
	"testing"

	"sitrep/models"
	"sitrep/models/testdb"
)

// TestCLIPostgres: every command takes a postgres:// URL for -db; backup
// says to use pg_dump; copy moves a SQLite site to an empty PostgreSQL
// database, once; a bad URL or an unreachable server is one clear line,
// with no password in it.
func TestCLIPostgres(t *testing.T) {
	server := testdb.Postgres(t)
	db, other, moved := testdb.Fresh(t, server), testdb.Fresh(t, server), testdb.Fresh(t, server)
	file := filepath.Join(t.TempDir(), "site.db")
	for _, s := range []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"migrate", "", []string{"migrate", "-db", db}, 0, "schema version", ""},
		{"migrate again", "", []string{"migrate", "-db", db}, 0, "applied 0 migration(s)", ""},
		{"user add", "s3cret password\n", []string{"user", "add", "-db", db, "-name", "Support", "-email", "help@example.com", "-role", "staff"}, 0, "created staff Support", ""},
		{"user add duplicate", "s3cret password\n", []string{"user", "add", "-db", db, "-name", "SUPPORT", "-email", "x@example.com"}, 1, "", "name: This name is taken."},
		{"token add", "", []string{"token", "add", "-db", db, "-user", "support"}, 0, models.TokenPrefix, ""},
		{"rerender", "", []string{"rerender", "-db", db}, 0, "0 changed", ""},
		{"demo not empty", "", []string{"demo", "-db", db}, 1, "", "not empty"},
		{"demo", "", []string{"demo", "-db", other}, 0, "demo loaded", ""},
		{"rerender demo", "", []string{"rerender", "-db", other}, 0, "changed", ""},
		{"backup", "", []string{"backup", "-db", db, "-to", "x.db"}, 1, "", "pg_dump"},
		{"demo on SQLite", "", []string{"demo", "-db", file}, 0, "demo loaded", ""},
		{"copy", "", []string{"copy", "-from", file, "-to", moved}, 0, "copied", ""},
		{"copy again", "", []string{"copy", "-from", file, "-to", moved}, 1, "", "already has data"},
		{"copy no -to", "", []string{"copy", "-from", file}, 2, "", "-from and -to are required"},
		{"copy missing source", "", []string{"copy", "-from", file + ".typo", "-to", moved}, 1, "", "site.db.typo"},
		{"bad url", "", []string{"migrate", "-db", "postgres://u:hunter2@[::1"}, 1, "", "database URL"},
		{"unreachable", "", []string{"migrate", "-db", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2"}, 1, "", "127.0.0.1:1"},
	} {
		code, out, errOut := cli(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q", s.name, code, out, errOut, s.code, s.out, s.err)
		}
		if code != 0 && strings.Count(strings.TrimRight(errOut, "\n"), "\n") > 0 {
			t.Errorf("%s: error is not one line: %q", s.name, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%s: the password shows: %q %q", s.name, out, errOut)
		}
	}
}
