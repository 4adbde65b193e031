package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sitrep/models"
)

// TestMailFlags: -smtp-url, -mail-from and -webhook-allow-private, with
// their environment fallbacks, checked with one-line errors.
func TestMailFlags(t *testing.T) {
	cfg, err := parseServeFlags(nil)
	if err != nil || cfg.SMTP != nil || cfg.MailOn || cfg.WebhookAllowPrivate {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	t.Setenv("SITREP_SMTP_URL", "smtp://user:secret@mail.example.com:2525")
	t.Setenv("SITREP_MAIL_FROM", "Example Status <status@example.com>")
	t.Setenv("SITREP_WEBHOOK_ALLOW_PRIVATE", "true")
	cfg, err = parseServeFlags(nil)
	if err != nil || cfg.SMTP == nil || cfg.SMTP.Host != "mail.example.com" || cfg.SMTP.Port != 2525 || cfg.SMTP.User != "user" ||
		cfg.SMTP.Address != "status@example.com" || !cfg.MailOn || !cfg.WebhookAllowPrivate {
		t.Fatalf("from the environment: %+v %v", cfg, err)
	}
	if cfg, err = parseServeFlags([]string{"-smtp-url", "smtps://mail.example.com", "-webhook-allow-private=false"}); err != nil ||
		!cfg.SMTP.Implicit || cfg.SMTP.Port != 465 || cfg.WebhookAllowPrivate {
		t.Fatalf("flags over the environment: %+v %v", cfg, err)
	}
	for _, k := range []string{"SITREP_SMTP_URL", "SITREP_MAIL_FROM", "SITREP_WEBHOOK_ALLOW_PRIVATE"} {
		os.Unsetenv(k) // t.Setenv puts it back
	}
	db := filepath.Join(t.TempDir(), "flags.db")
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"-smtp-url", "smtp://mail.example.com"}, "-mail-from is required with -smtp-url"},
		{[]string{"-mail-from", "status@example.com"}, "-mail-from is set but -smtp-url is not"},
		{[]string{"-smtp-url", "http://user:secret@mail.example.com", "-mail-from", "status@example.com"}, "-smtp-url"},
		{[]string{"-smtp-url", "smtp://mail.example.com", "-mail-from", "nobody"}, "-mail-from"},
		{[]string{"-webhook-allow-private=maybe"}, "webhook-allow-private"},
	} {
		code, _, errOut := cli(t, "", append([]string{"serve", "-db", db}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.says) || strings.Count(strings.TrimRight(errOut, "\n"), "\n") > 0 || strings.Contains(errOut, "secret") {
			t.Errorf("%v: exit %d, %q; want 2 and one line saying %q", c.args, code, errOut, c.says)
		}
	}
	t.Setenv("SITREP_WEBHOOK_ALLOW_PRIVATE", "maybe")
	if _, err := parseServeFlags(nil); err == nil || !strings.Contains(err.Error(), "SITREP_WEBHOOK_ALLOW_PRIVATE") {
		t.Errorf("a bad SITREP_WEBHOOK_ALLOW_PRIVATE: %v", err)
	}
}

// TestMailOffIsLoggedOnce: without -smtp-url the server says once, at
// start, that mail is off and where the mails go instead.
func TestMailOffIsLoggedOnce(t *testing.T) {
	store, err := models.Open(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var buf bytes.Buffer
	cfg, err := parseServeFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LinkURL = linkURL(cfg)
	if _, err := newWorker(cfg, store, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "mail is off"); n != 1 || !strings.Contains(buf.String(), "/admin/outbox") {
		t.Errorf("log: %q", buf.String())
	}
	if cfg.LinkURL != "http://localhost:8080" {
		t.Errorf("links without -base-url lead to %q", cfg.LinkURL)
	}
}
