package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"sitrep/models"
	"sitrep/server/demo"
	"sitrep/server/httpcache"
	"sitrep/server/web"

	"github.com/gin-gonic/gin"
)

// cli runs the command line in-process.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cli.db")
	steps := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string // substrings
	}{
		{"migrate", "", []string{"migrate", "-db", db}, 0, fmt.Sprintf("migration(s); schema version %d", models.SchemaVersion()), ""},
		{"migrate again", "", []string{"migrate", "-db", db}, 0, "applied 0 migration(s)", ""},
		{"user add", "s3cret password\n", []string{"user", "add", "-db", db, "-name", "Support", "-email", "help@example.com", "-role", "staff"}, 0, "created staff Support", ""},
		{"user add no newline", "another password", []string{"user", "add", "-db", db, "-name", "bob", "-email", "bob@example.com"}, 0, "created customer bob", ""},
		{"user add duplicate", "s3cret password\n", []string{"user", "add", "-db", db, "-name", "support", "-email", "x@example.com"}, 1, "", "name: This name is taken."},
		{"user add bad role", "s3cret password\n", []string{"user", "add", "-db", db, "-name", "carol", "-email", "c@example.com", "-role", "king"}, 2, "", "-role must be"},
		{"user add no name", "s3cret password\n", []string{"user", "add", "-db", db, "-email", "c@example.com"}, 2, "", "-name and -email are required"},
		{"user add empty stdin", "", []string{"user", "add", "-db", db, "-name", "carol", "-email", "c@example.com"}, 1, "", "first line of standard input"},
		{"user add short password", "short\n", []string{"user", "add", "-db", db, "-name", "carol", "-email", "c@example.com"}, 1, "", "at least 10 characters"},
		{"user without add", "", []string{"user", "-db", db}, 2, "", "user needs a subcommand"},
		{"token add unknown", "", []string{"token", "add", "-db", db, "-user", "nobody"}, 1, "", `no user named "nobody"`},
		{"token add no user", "", []string{"token", "add", "-db", db}, 2, "", "-user is required"},
		{"token add missing db", "", []string{"token", "add", "-db", filepath.Join(dir, "typo.db"), "-user", "bob"}, 1, "", "typo.db"},
		{"rerender missing db", "", []string{"rerender", "-db", filepath.Join(dir, "typo.db")}, 1, "", "typo.db"},
		{"demo not empty", "", []string{"demo", "-db", db}, 1, "", "not empty"},
		{"backup no -to", "", []string{"backup", "-db", db}, 2, "", "-to is required"},
		{"backup missing db", "", []string{"backup", "-db", filepath.Join(dir, "none.db"), "-to", filepath.Join(dir, "b.db")}, 1, "", "none.db"},
		{"backup", "", []string{"backup", "-db", db, "-to", filepath.Join(dir, "b.db")}, 0, "verified", ""},
		{"backup exists", "", []string{"backup", "-db", db, "-to", filepath.Join(dir, "b.db")}, 1, "", "already exists"},
		{"unknown command", "", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", "", []string{"migrate", "-nope"}, 2, "", "flag provided but not defined: -nope"},
		{"stray argument", "", []string{"migrate", "-db", db, "extra"}, 2, "", `unexpected argument "extra"`},
		{"serve bad addr", "", []string{"serve", "-db", db, "-addr", "nonsense"}, 2, "", "-addr"},
		{"serve bad base url", "", []string{"-db", db, "-base-url", "ftp://x"}, 2, "", "-base-url"},
		{"serve bad proxy", "", []string{"-db", db, "-trusted-proxies", "10.0.0.0/99"}, 2, "", "-trusted-proxies"},
		{"serve bad flag threshold", "", []string{"-db", db, "-flag-threshold", "0"}, 2, "", "-flag-threshold"},
		{"serve empty site name", "", []string{"-db", db, "-site-name", " "}, 2, "", "-site-name"},
		{"rerender", "", []string{"rerender", "-db", db}, 0, "0 changed", ""},
		{"help", "", []string{"help"}, 0, "Commands:", ""},
		{"flag help", "", []string{"backup", "-h"}, 0, "-to", ""},
	}
	for _, s := range steps {
		code, out, errOut := cli(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q", s.name, code, out, errOut, s.code, s.out, s.err)
		}
		if code != 0 && strings.Count(strings.TrimRight(errOut, "\n"), "\n") > 0 {
			t.Errorf("%s: error is not one line: %q", s.name, errOut)
		}
	}

	// token add prints the token alone on one line, and it works.
	code, out, _ := cli(t, "", "token", "add", "-db", db, "-user", "SUPPORT")
	if code != 0 || !strings.HasPrefix(out, models.TokenPrefix) || strings.Count(out, "\n") != 1 {
		t.Fatalf("token add: %d %q", code, out)
	}
	store, err := models.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.UserByToken(context.Background(), strings.TrimSpace(out))
	if err != nil || u.Name != "Support" || u.Role != models.RoleStaff {
		t.Fatalf("token user: %+v %v", u, err)
	}
	// The backup restores: it opens and has the users.
	restored, err := models.Open(filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if _, err := restored.UserByName(context.Background(), "bob"); err != nil {
		t.Fatalf("backup lacks bob: %v", err)
	}
}

func TestCLIDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errOut := cli(t, "", "demo", "-db", db)
	if code != 0 || !strings.Contains(out, demo.Password) {
		t.Fatalf("demo: %d %q %q", code, out, errOut)
	}
	store, err := models.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, name := range demo.UserNames() {
		if _, err := store.Authenticate(context.Background(), name, demo.Password); err != nil {
			t.Errorf("demo user %s: %v", name, err)
		}
	}
	if code, _, errOut := cli(t, "", "demo", "-db", db); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Errorf("demo twice: %d %q", code, errOut)
	}
}

func TestEnvironmentFallbacks(t *testing.T) {
	t.Setenv("SITREP_DB", filepath.Join(t.TempDir(), "env.db"))
	t.Setenv("SITREP_ADDR", "127.0.0.1:9999")
	t.Setenv("SITREP_BASE_URL", "https://status.example.com/")
	t.Setenv("SITREP_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
	t.Setenv("SITREP_FLAG_THRESHOLD", "5")
	t.Setenv("SITREP_SITE_NAME", " Example Status ")
	cfg, err := parseServeFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.BaseURL != "https://status.example.com" || !cfg.Secure() || len(cfg.TrustedProxies) != 2 ||
		cfg.FlagThreshold != 5 || cfg.SiteName != "Example Status" {
		t.Fatalf("config from env: %+v", cfg)
	}
	cfg, err = parseServeFlags([]string{"-addr", ":7000"})
	if err != nil || cfg.Addr != ":7000" {
		t.Fatalf("flag should win over env: %+v %v", cfg, err)
	}
	code, out, _ := cli(t, "", "migrate")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("schema version %d", models.SchemaVersion())) {
		t.Fatalf("migrate with SITREP_DB: %d %q", code, out)
	}
	if _, err := os.Stat(os.Getenv("SITREP_DB")); err != nil {
		t.Fatal("SITREP_DB not used")
	}
}

func TestOverloadFlags(t *testing.T) {
	cfg, err := parseServeFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxInFlight != 128*runtime.GOMAXPROCS(0) || cfg.CacheTTL != 5*time.Second || cfg.CacheEntries != httpcache.DefaultEntries {
		t.Errorf("defaults: %+v", cfg)
	}
	t.Setenv("SITREP_MAX_INFLIGHT", "0")
	t.Setenv("SITREP_CACHE_TTL", "0")
	t.Setenv("SITREP_CACHE_ENTRIES", "50")
	if cfg, err = parseServeFlags(nil); err != nil || cfg.MaxInFlight != 0 || cfg.CacheTTL != 0 || cfg.CacheEntries != 50 {
		t.Errorf("from the environment: %+v %v", cfg, err)
	}
	if cfg, err = parseServeFlags([]string{"-max-inflight", "64", "-cache-ttl", "2s"}); err != nil || cfg.MaxInFlight != 64 || cfg.CacheTTL != 2*time.Second {
		t.Errorf("flags over the environment: %+v %v", cfg, err)
	}
	for _, args := range [][]string{{"-max-inflight", "-1"}, {"-max-inflight", "lots"}, {"-cache-ttl", "2m"}, {"-cache-ttl", "-1s"}, {"-cache-entries", "0"}} {
		if _, err := parseServeFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestGracefulShutdown: when the context ends, readiness turns 503 and an
// in-flight request still completes before serve returns.
func TestGracefulShutdown(t *testing.T) {
	store, err := models.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := web.New(web.Config{MaxBodyBytes: 1 << 20}, store, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ShutdownGrace: 8 * time.Second} // a 2 s drain
	base := ""
	started, release := make(chan struct{}), make(chan struct{})
	r := h.(*gin.Engine)
	r.GET("/test-slow", func(c *gin.Context) {
		close(started)
		<-release
		c.String(http.StatusOK, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, app, log, ln, h) }()
	base = "http://" + ln.Addr().String()

	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/test-slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		got <- res.Status
	}()
	<-started
	cancel()
	// During the drain the listener still answers, and says not ready.
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("readiness during the drain: %v", err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness during the drain: %d, want 503", res.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if s := <-got; s != "200 OK" {
		t.Fatalf("in-flight request: %s", s)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
}
