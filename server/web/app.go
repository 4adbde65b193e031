// Package web is Sitrep's HTTP application: the route table (who may use a
// route, whether visitors' answers are cached, whether it is shed under
// load), middleware, errors, views and forms, and the handlers by resource,
// the page and the JSON side by side (threads.go beside threads_api.go).
package web

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"sitrep/models"
	"sitrep/server/httpcache"
	"sitrep/server/live"
	"sitrep/server/notify/ssrf"
	"sitrep/server/statuspage"
)

// DefaultSiteName is the site's name unless the operator names it.
const DefaultSiteName = "Sitrep"

// Config is what the application is told by the operator.
type Config struct {
	// SiteName names the site on pages, in feeds and as the Statuspage
	// page's name.
	SiteName string
	// BaseURL is the public URL ("" when not set): absolute links, the
	// Statuspage page id, and Secure cookies when it is https.
	BaseURL        string
	TrustedProxies []string
	MaxBodyBytes   int64
	// MaxInFlight bounds the requests worked on at once; 0 turns shedding off.
	MaxInFlight int
	// CacheTTL is how long visitors' pages stay in the micro-cache; 0 turns
	// it off.
	CacheTTL time.Duration
	// StaleFor is how long a public page's last good answer is kept, to be
	// shown (with an "as of" note) when the database cannot be read; 0
	// turns it off.
	StaleFor     time.Duration
	CacheEntries int
	// MaxStreams bounds the live-update streams open at once; past it a
	// new stream gets 503 with Retry-After.
	MaxStreams int
	// SurgeMode counts a customer's bare "same here" on an open incident's
	// thread as an "I'm affected" mark instead of a reply.
	SurgeMode bool
	// MailOn says the server sends mail (-smtp-url): sign-up then
	// confirms the address by mail first.
	MailOn bool
	// LinkURL is the absolute address that links in mails start with:
	// BaseURL, or a stand-in when it is not set (never the request's
	// Host, which the sender of the request chooses).
	LinkURL string
	// WebhookAllowPrivate lets webhook subscriptions name loopback and
	// private addresses (-webhook-allow-private).
	WebhookAllowPrivate bool
}

// DefaultMaxStreams is the bound on open streams unless the operator sets
// one: an idle stream costs about 20 KB.
const DefaultMaxStreams = 2500

// Secure tells whether the site is served over HTTPS, which switches the
// session cookie to Secure with the __Host- prefix.
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// App holds every dependency of the HTTP handlers explicitly.
type App struct {
	cfg    Config
	store  *models.Store
	views  *views
	assets *assets
	log    *slog.Logger
	now    func() time.Time
	site   statuspage.Site

	// shed bounds the requests in flight and cache holds visitors' pages
	// for a few seconds; either is nil when turned off.
	shed  *httpcache.Shedder
	cache *httpcache.Cache
	// live fans the database's events out to the open streams.
	live *live.Broker
	// officialChange hears of every official change (events that purge
	// caches), for the snapshot writer.
	officialChange chan struct{}

	// resolver looks up webhook hosts when a subscription is made.
	resolver ssrf.Resolver

	// flashKey signs flash cookies. It lives in memory: a restart between a
	// redirect and the next page only loses one message.
	flashKey []byte
	ready    atomic.Bool
}

// New builds the application on an open, migrated store.
func New(cfg Config, store *models.Store, log *slog.Logger) (*App, error) {
	as, err := newAssets()
	if err != nil {
		return nil, err
	}
	v, err := newViews(as)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if cfg.SiteName == "" {
		cfg.SiteName = DefaultSiteName
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	a := &App{
		cfg: cfg, store: store, views: v, assets: as, log: log, now: time.Now,
		site:     statuspage.Site{Name: cfg.SiteName, BaseURL: cfg.BaseURL},
		flashKey: key,
		resolver: net.DefaultResolver,
	}
	a.shed = httpcache.NewShedder(cfg.MaxInFlight, httpcache.ShedWait)
	a.cache = httpcache.New(cfg.CacheTTL, cfg.StaleFor, cfg.CacheEntries, httpcache.MaxBytes, func() time.Time { return a.now() })
	a.live = live.NewBroker(store, log, cfg.MaxStreams)
	a.officialChange = make(chan struct{}, 1)
	// A change by staff on any instance empties this one's cache and
	// rewrites its snapshot.
	a.live.OnPurge = func() {
		if a.cache != nil {
			a.cache.Purge()
		}
		select {
		case a.officialChange <- struct{}{}:
		default:
		}
	}
	a.ready.Store(true)
	return a, nil
}

// RunLive delivers the database's events to this instance's streams (and
// purges its cache on official changes) until ctx ends.
func (a *App) RunLive(ctx context.Context) error { return a.live.Run(ctx) }

// Drain makes readiness answer 503, so that a load balancer stops sending
// requests before the server shuts down.
func (a *App) Drain() { a.ready.Store(false) }

// CloseStreams ends the live-update streams (at shutdown: they never go
// idle, and browsers reconnect by themselves).
func (a *App) CloseStreams() { a.live.Close() }

// Handler is the whole HTTP application.
func (a *App) Handler() (http.Handler, error) { return a.router() }
