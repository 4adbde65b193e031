// Package testdb gives each test a database of its own: a file in the
// test's temporary folder or, when the environment variable
// SITREP_TEST_DATABASE_URL names a PostgreSQL server, a fresh database on
// that server, dropped when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
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
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL, not %q", EnvURL, server)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "sitrep_t_" + hex.EncodeToString(b)
	admin(tb, server, "CREATE DATABASE "+name)
	tb.Cleanup(func() { admin(tb, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's own database.
func admin(tb testing.TB, server, stmt string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatalf("%s: cannot reach PostgreSQL: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		tb.Fatalf("%s: %v", stmt, err)
	}
}
