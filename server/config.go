package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"sitrep/models"
	"sitrep/server/httpcache"
	"sitrep/server/notify"
	"sitrep/server/web"
)

// Config is everything `sitrep serve` can be told: the web application's
// settings and the process's own. Every flag has a SITREP_* environment
// fallback; a flag given on the command line wins.
type Config struct {
	web.Config
	Addr          string
	DB            string
	Demo          bool
	ShutdownGrace time.Duration
	LogFormat     string
	// SnapshotDir, when set, is kept a current static snapshot.
	SnapshotDir string
	// FlagThreshold is how many people flagging a post hide it pending review.
	FlagThreshold int
	// UpdateCadence is the default promise of an open incident's next update.
	UpdateCadence time.Duration
	// SMTP is the mail server (-smtp-url, -mail-from); nil when mail is off.
	SMTP *notify.SMTPConfig
}

// envDefault returns the environment's value for key, or def.
func envDefault(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// dbFlag registers -db with its SITREP_DB fallback; every subcommand has it.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", envDefault("SITREP_DB", "sitrep.db"), "SQLite database file, or a postgres:// URL (env SITREP_DB)")
}

// parseServeFlags reads serve's flags, then validates the result once.
func parseServeFlags(args []string) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c Config
	var proxies, maxBody, grace string
	fs.StringVar(&c.Addr, "addr", envDefault("SITREP_ADDR", ":8080"), "listen address (env SITREP_ADDR)")
	db := dbFlag(fs)
	fs.StringVar(&c.BaseURL, "base-url", envDefault("SITREP_BASE_URL", ""), "public URL, e.g. https://status.example.com (env SITREP_BASE_URL)")
	fs.StringVar(&proxies, "trusted-proxies", envDefault("SITREP_TRUSTED_PROXIES", ""), "comma-separated proxy IPs or CIDRs whose X-Forwarded-For is believed (env SITREP_TRUSTED_PROXIES)")
	fs.StringVar(&maxBody, "max-body", envDefault("SITREP_MAX_BODY", "1048576"), "largest request body in bytes (env SITREP_MAX_BODY)")
	demo, err := strconv.ParseBool(envDefault("SITREP_DEMO", "false"))
	if err != nil {
		return c, usagef("serve: SITREP_DEMO=%q must be true or false", os.Getenv("SITREP_DEMO"))
	}
	fs.BoolVar(&c.Demo, "demo", demo, "load the demo scenario when the database is empty (env SITREP_DEMO)")
	surge, err := strconv.ParseBool(envDefault("SITREP_SURGE_MODE", "true"))
	if err != nil {
		return c, usagef("serve: SITREP_SURGE_MODE=%q must be true or false", os.Getenv("SITREP_SURGE_MODE"))
	}
	fs.BoolVar(&c.SurgeMode, "surge-mode", surge, "count a customer's bare \"same here\" on an open incident's thread as \"I'm affected\" instead of a reply (env SITREP_SURGE_MODE)")
	fs.StringVar(&grace, "shutdown-grace", envDefault("SITREP_SHUTDOWN_GRACE", "20s"), "how long in-flight requests may finish on shutdown (env SITREP_SHUTDOWN_GRACE)")
	fs.StringVar(&c.SiteName, "site-name", envDefault("SITREP_SITE_NAME", web.DefaultSiteName), "the site's name on pages, feeds and the Statuspage API (env SITREP_SITE_NAME)")
	fs.StringVar(&c.SnapshotDir, "snapshot-dir", envDefault("SITREP_SNAPSHOT_DIR", ""), "keep a static snapshot of the public status at this path (a link to its newest version) (env SITREP_SNAPSHOT_DIR)")
	fs.StringVar(&c.LogFormat, "log-format", envDefault("SITREP_LOG_FORMAT", "text"), "log format: text or json (env SITREP_LOG_FORMAT)")
	var flagThreshold string
	fs.StringVar(&flagThreshold, "flag-threshold", envDefault("SITREP_FLAG_THRESHOLD", strconv.Itoa(models.DefaultFlagHideThreshold)),
		"how many people flagging a post hide it pending review (env SITREP_FLAG_THRESHOLD)")
	var cadence string
	fs.StringVar(&cadence, "update-cadence", envDefault("SITREP_UPDATE_CADENCE", strings.TrimSuffix(models.DefaultUpdateCadence.String(), "0s")),
		"the promise of an open incident's next update when staff leave it out, such as 30m; 0 promises nothing by default (env SITREP_UPDATE_CADENCE)")
	var inflight, cacheTTL, cacheEntries, streams, stale string
	fs.StringVar(&inflight, "max-inflight", envDefault("SITREP_MAX_INFLIGHT", strconv.Itoa(httpcache.DefaultMaxInFlight())), "requests worked on at once before shedding with 503; 0 turns shedding off (env SITREP_MAX_INFLIGHT)")
	fs.StringVar(&cacheTTL, "cache-ttl", envDefault("SITREP_CACHE_TTL", "5s"), "how long visitors' public pages and /api/v2 answers are cached; 0 turns the cache off (env SITREP_CACHE_TTL)")
	fs.StringVar(&stale, "stale-for", envDefault("SITREP_STALE_FOR", "15m"), "how long public pages' last good answers are kept, to be shown when the database cannot be read; 0 turns it off (env SITREP_STALE_FOR)")
	fs.StringVar(&streams, "max-streams", envDefault("SITREP_MAX_STREAMS", strconv.Itoa(web.DefaultMaxStreams)), "live-update streams open at once before new ones get 503 (env SITREP_MAX_STREAMS)")
	fs.StringVar(&cacheEntries, "cache-entries", envDefault("SITREP_CACHE_ENTRIES", strconv.Itoa(httpcache.DefaultEntries)), "most answers the cache holds (env SITREP_CACHE_ENTRIES)")
	var smtpURL, mailFrom string
	fs.StringVar(&smtpURL, "smtp-url", envDefault("SITREP_SMTP_URL", ""), "mail server: smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://...; empty: mail is off (env SITREP_SMTP_URL)")
	fs.StringVar(&mailFrom, "mail-from", envDefault("SITREP_MAIL_FROM", ""), "the sender of mails, e.g. \"Example Status <status@example.com>\"; required with -smtp-url (env SITREP_MAIL_FROM)")
	allowPrivate, err := strconv.ParseBool(envDefault("SITREP_WEBHOOK_ALLOW_PRIVATE", "false"))
	if err != nil {
		return c, usagef("serve: SITREP_WEBHOOK_ALLOW_PRIVATE=%q must be true or false", os.Getenv("SITREP_WEBHOOK_ALLOW_PRIVATE"))
	}
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", allowPrivate, "let webhooks reach loopback and private addresses; for tests and closed networks only (env SITREP_WEBHOOK_ALLOW_PRIVATE)")
	if err := parseFlags(fs, args, os.Stdout); err != nil {
		return c, err
	}
	c.DB = *db
	if smtpURL != "" {
		if c.SMTP, err = notify.ParseSMTP(smtpURL, mailFrom); err != nil {
			return c, usagef("serve: %v", err)
		}
	} else if mailFrom != "" {
		return c, usagef("serve: -mail-from is set but -smtp-url is not: set both to send mail")
	}
	c.MailOn = c.SMTP != nil
	if err := c.validate(proxies, maxBody, grace); err != nil {
		return c, usagef("serve: %v", err)
	}
	if err := c.validateLoad(inflight, cacheTTL, cacheEntries, streams, stale); err != nil {
		return c, usagef("serve: %v", err)
	}
	n, err := strconv.Atoi(flagThreshold)
	if err != nil || n < 1 {
		return c, usagef("serve: -flag-threshold %q must be a whole number, at least 1", flagThreshold)
	}
	c.FlagThreshold = n
	d, err := time.ParseDuration(cadence)
	if err != nil || d < 0 || d > models.MaxPromise || d%time.Minute != 0 {
		return c, usagef("serve: -update-cadence %q must be whole minutes from 0 (none) to 168h, such as 30m", cadence)
	}
	c.UpdateCadence = d
	return c, nil
}

// validateLoad checks the overload settings: the in-flight bound and the
// visitors' micro-cache.
func (c *Config) validateLoad(inflight, cacheTTL, cacheEntries, streams, stale string) error {
	n, err := strconv.Atoi(inflight)
	if err != nil || n < 0 {
		return fmt.Errorf("-max-inflight %q must be a number of requests, or 0 for no limit", inflight)
	}
	c.MaxInFlight = n
	d, err := time.ParseDuration(cacheTTL)
	if err != nil || d < 0 || d > time.Minute {
		return fmt.Errorf("-cache-ttl %q must be a duration from 0 (off) to 1m, such as 5s", cacheTTL)
	}
	c.CacheTTL = d
	if c.CacheEntries, err = strconv.Atoi(cacheEntries); err != nil || c.CacheEntries < 1 {
		return fmt.Errorf("-cache-entries %q must be a number, at least 1", cacheEntries)
	}
	if c.StaleFor, err = time.ParseDuration(stale); err != nil || c.StaleFor < 0 || c.StaleFor > 24*time.Hour {
		return fmt.Errorf("-stale-for %q must be a duration from 0 (off) to 24h, such as 15m", stale)
	}
	if c.MaxStreams, err = strconv.Atoi(streams); err != nil || c.MaxStreams < 1 {
		return fmt.Errorf("-max-streams %q must be a number of streams, at least 1", streams)
	}
	return nil
}

// validateSite checks what the site says of itself: its public URL and its
// name (serve and snapshot).
func (c *Config) validateSite() error {
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-base-url %q is not an http(s) URL", c.BaseURL)
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	c.SiteName = strings.TrimSpace(c.SiteName)
	if c.SiteName == "" || len([]rune(c.SiteName)) > 80 || strings.IndexFunc(c.SiteName, unicode.IsControl) >= 0 {
		return errors.New("-site-name must be 1 to 80 printable characters")
	}
	return nil
}

func (c *Config) validate(proxies, maxBody, grace string) error {
	if c.DB == "" {
		return errors.New("-db must name a file")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr %q is not host:port", c.Addr)
	}
	if err := c.validateSite(); err != nil {
		return err
	}
	for _, p := range strings.Split(proxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return fmt.Errorf("-trusted-proxies: %q is not an IP or CIDR", p)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	n, err := strconv.ParseInt(maxBody, 10, 64)
	if err != nil || n < 1024 {
		return fmt.Errorf("-max-body %q must be a number of bytes, at least 1024", maxBody)
	}
	c.MaxBodyBytes = n
	d, err := time.ParseDuration(grace)
	if err != nil || d < 0 {
		return fmt.Errorf("-shutdown-grace %q is not a duration such as 20s", grace)
	}
	c.ShutdownGrace = d
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("-log-format must be text or json, not %q", c.LogFormat)
	}
	return nil
}
