package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sitrep/models"
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
		{"migrate", "", []string{"migrate", "-db", db}, 0, fmt.Sprintf("applied %d migration(s)", models.SchemaVersion()), ""},
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
	if code != 0 || !strings.Contains(out, demoPassword) {
		t.Fatalf("demo: %d %q %q", code, out, errOut)
	}
	store, err := models.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for _, u := range demoUsers {
		got, err := store.Authenticate(ctx, u.name, demoPassword)
		if err != nil || got.Role != u.role {
			t.Errorf("demo user %s: %+v %v", u.name, got, err)
		}
	}
	services, _ := store.ListServices(ctx)
	if len(services) != len(demoServices) {
		t.Errorf("%d services, want %d", len(services), len(demoServices))
	}
	// The story: the mail outage resolved today from investigating with
	// kept promises and linked complaints, pinned in the forum; its fallout
	// still open with a promise; a resolved incident with a postmortem;
	// maintenance done and planned; a spam post in the queue.
	open := true
	incidents, _ := store.ListIncidents(ctx, models.IncidentFilter{Kind: models.KindIncident, Open: &open}, models.Page{})
	if len(incidents.Items) != 1 || incidents.Items[0].Status != models.StatusIdentified || incidents.Items[0].NextUpdateAt == nil ||
		incidents.Items[0].Overdue(time.Now()) != 0 {
		t.Fatalf("open incidents: %+v", incidents.Items)
	}
	fallout := incidents.Items[0]
	if linked, _ := store.LinkedThreads(ctx, &fallout); len(linked) != 1 {
		t.Errorf("%d threads linked to the open incident, want 1", len(linked))
	}
	all, _ := store.ListIncidents(ctx, models.IncidentFilter{}, models.Page{})
	if len(all.Items) != 5 {
		t.Errorf("%d incidents and maintenance windows, want 5", len(all.Items))
	}
	var outage *models.Incident
	for i, inc := range all.Items {
		if strings.HasPrefix(inc.Title, "Outgoing mail failing") {
			outage = &all.Items[i]
		}
	}
	if outage == nil || outage.Status != models.StatusResolved || outage.ResolvedAt == nil || time.Since(*outage.ResolvedAt) > 6*time.Hour {
		t.Fatalf("the mail outage is not resolved today: %+v", outage)
	}
	ups, _ := store.IncidentUpdates(ctx, nil, 0, outage.ID)
	var statuses []string
	for _, u := range ups {
		statuses = append(statuses, u.Status)
	}
	if strings.Join(statuses, " ") != "resolved monitoring identified investigating" {
		t.Errorf("the outage's updates, newest first: %v", statuses)
	}
	for _, u := range ups[1:] {
		if u.NextUpdateAt == nil {
			t.Errorf("update %q made no promise", u.Status)
		}
	}
	if linked, _ := store.LinkedThreads(ctx, outage); len(linked) != 1 {
		t.Errorf("%d threads linked to the outage, want 1", len(linked))
	}
	if counts, _ := store.AffectedCounts(ctx, outage.ID); counts[outage.ID] < 3 {
		t.Errorf("%d affected by the outage", counts[outage.ID])
	}
	threads, _ := store.ListThreads(ctx, models.ThreadFilter{}, models.Page{})
	if len(threads.Items) == 0 || threads.Items[0].ID != outage.ThreadID || !threads.Items[0].Pinned || threads.Items[0].PinnedUntil == nil {
		t.Errorf("the outage is not pinned, for the day, on top of the forum")
	}
	if flags, _ := store.FlagQueue(ctx, false, models.Page{}); len(flags.Items) != 1 {
		t.Errorf("%d flagged posts in the queue, want 1", len(flags.Items))
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
	if code != 0 || !strings.Contains(out, fmt.Sprintf("applied %d", models.SchemaVersion())) {
		t.Fatalf("migrate with SITREP_DB: %d %q", code, out)
	}
	if _, err := os.Stat(os.Getenv("SITREP_DB")); err != nil {
		t.Fatal("SITREP_DB not used")
	}
}
