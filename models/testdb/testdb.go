// Package testdb gives each test a database of its own: a file in the
// test's temporary folder or, when the environment variable
// SITREP_TEST_DATABASE_URL names a PostgreSQL server, a fresh database on
// that server, dropped when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that selects PostgreSQL for the tests, for
// example postgres://postgres@127.0.0.1:5432/test. Set but unreachable, the
// tests fail: they never fall back to SQLite nor skip.
const EnvURL = "SITREP_TEST_DATABASE_URL"

// DSN is what models.Open takes for a new, empty database: PostgreSQL's
// when EnvURL is set, else the file name in the test's temporary folder.
func DSN(tb testing.TB, name string) string {
	tb.Helper()
	if server := os.Getenv(EnvURL); server != "" {
		return Fresh(tb, server)
	}
	return filepath.Join(tb.TempDir(), name)
}

// Postgres is the server EnvURL names; a test that needs PostgreSQL itself
// is skipped, saying why, when it is unset.
func Postgres(tb testing.TB) string {
	tb.Helper()
	server := os.Getenv(EnvURL)
	if server == "" {
		tb.Skipf("%s is not set: this test needs PostgreSQL (for example %s=postgres://postgres@127.0.0.1:5432/test)", EnvURL, EnvURL)
	}
	return server
}

// Fresh creates a database of a random name on the server of the URL
// server, dropped when the test ends, and returns its URL.
func Fresh(tb testing.TB, server string) string {
	tb.Helper()
	return fresh(tb, server, "")
}

// Migrated is like DSN, for a database that migrate (which opens the
// database at the URL it is given, migrates it and closes it) has brought
// up to date. On PostgreSQL it is a copy of a template database that
// migrate prepares once for the test binary, which Main drops at the end:
// copying is much faster than running every migration again. On SQLite it
// is a new file, left for the caller to migrate.
func Migrated(tb testing.TB, name string, migrate func(dsn string) error) string {
	tb.Helper()
	server := os.Getenv(EnvURL)
	if server == "" {
		return filepath.Join(tb.TempDir(), name)
	}
	template.once.Do(func() {
		template.name = randomName("sitrep_tpl_")
		if template.err = exec(server, "CREATE DATABASE "+template.name); template.err != nil {
			return
		}
		template.server = server
		template.err = migrate(withDatabase(server, template.name))
	})
	if template.err != nil {
		tb.Fatalf("%s: the migrated template database: %v", EnvURL, template.err)
	}
	return fresh(tb, server, template.name)
}

// template is the migrated database Migrated copies.
var template struct {
	once         sync.Once
	server, name string // server is set once the database exists
	err          error
}

// Main runs the tests of a package whose tests call Migrated, then drops
// the template database: func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if template.server != "" {
		if err := exec(template.server, "DROP DATABASE IF EXISTS "+template.name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		}
	}
	return code
}

// fresh creates a database of a random name on server, a copy of the
// database template when it is not empty, dropped when the test ends, and
// returns its URL.
func fresh(tb testing.TB, server, template string) string {
	tb.Helper()
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL, not %q", EnvURL, server)
	}
	name := randomName("sitrep_t_")
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if err := exec(server, stmt); err != nil {
		tb.Fatalf("%s: %v", EnvURL, err)
	}
	tb.Cleanup(func() {
		if err := exec(server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("%s: %v", EnvURL, err)
		}
	})
	return withDatabase(server, name)
}

func randomName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withDatabase is the URL server with its database replaced by name.
func withDatabase(server, name string) string {
	u, _ := url.Parse(server)
	u.Path = "/" + name
	return u.String()
}

// exec runs one statement on the server's own database.
func exec(server, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}
