package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// app holds every dependency of the HTTP handlers explicitly.
type app struct {
	cfg    Config
	store  *models.Store
	views  *views
	assets *assets
	log    *slog.Logger
	now    func() time.Time

	loginByAccount *limiter
	loginByIP      *limiter
	signupByIP     *limiter

	// shed bounds the requests in flight and cache holds visitors' pages
	// for a few seconds (overload.go); either is nil when turned off.
	shed  *shedder
	cache *responseCache

	// flashKey signs flash cookies. It lives in memory: a restart between a
	// redirect and the next page only loses one message.
	flashKey []byte
	ready    atomic.Bool
}

func newApp(cfg Config, store *models.Store, log *slog.Logger) (*app, error) {
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
		cfg.SiteName = defaultSiteName
	}
	a := &app{
		cfg: cfg, store: store, views: v, assets: as, log: log, now: time.Now,
		loginByAccount: newLimiter(5, 15*time.Minute),
		loginByIP:      newLimiter(30, 15*time.Minute),
		signupByIP:     newLimiter(10, time.Hour),
		flashKey:       key,
	}
	for _, l := range []*limiter{a.loginByAccount, a.loginByIP, a.signupByIP} {
		l.now = func() time.Time { return a.now() }
	}
	a.shed = newShedder(cfg.MaxInFlight, shedWait)
	a.cache = newResponseCache(cfg.CacheTTL, cfg.CacheEntries, cacheMaxBytes, func() time.Time { return a.now() })
	a.ready.Store(true)
	return a, nil
}

// base is embedded in every page's data.
type base struct {
	SiteName string
	Title    string
	User     *models.User
	Flash    *flash
	Path     string
}

func (a *app) base(c *gin.Context, title string) base {
	return base{SiteName: a.cfg.SiteName, Title: title, User: currentUser(c), Flash: a.takeFlash(c), Path: c.Request.URL.Path}
}

// renderPage writes a page, or a plain 500 if the page itself fails.
func (a *app) renderPage(c *gin.Context, status int, name string, data any) {
	body, err := a.views.render(name, data)
	if err != nil {
		logRenderFailure(a.log, c, err)
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8",
			[]byte("Internal error. Request id: "+requestID(c)+"\n"))
		return
	}
	if status >= http.StatusBadRequest {
		// An error page may echo what was sent: never keep it.
		c.Header("Cache-Control", "no-store")
	}
	c.Data(status, "text/html; charset=utf-8", body)
}

// Cookies.

func (a *app) sessionCookieName() string {
	if a.cfg.Secure() {
		return "__Host-sitrep_session"
	}
	return "sitrep_session"
}

func (a *app) setCookie(c *gin.Context, name, value string, maxAge int) {
	// No cache may keep an answer that sets a cookie and hand it to others.
	c.Header("Cache-Control", "no-store")
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	})
}

// startSession logs the user in with a fresh session id, ending the session
// the browser had before (so a planted id never becomes a logged-in one).
func (a *app) startSession(c *gin.Context, userID int64) error {
	if old, err := c.Cookie(a.sessionCookieName()); err == nil && old != "" {
		if err := a.store.DeleteSession(c.Request.Context(), old); err != nil {
			return err
		}
	}
	secret, err := a.store.CreateSession(c.Request.Context(), userID)
	if err != nil {
		return err
	}
	a.setCookie(c, a.sessionCookieName(), secret, int(models.SessionLifetime/time.Second))
	return nil
}

// Flash messages survive one redirect in a signed cookie.

type flash struct {
	Kind    string // success or error
	Message string
}

const flashCookie = "sitrep_flash"

func (a *app) flashSign(v string) string {
	m := hmac.New(sha256.New, a.flashKey)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *app) setFlash(c *gin.Context, kind, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\n" + msg))
	a.setCookie(c, flashCookie, v+"."+a.flashSign(v), 60)
}

// takeFlash reads and clears the flash message, ignoring forged ones.
func (a *app) takeFlash(c *gin.Context) *flash {
	raw, err := c.Cookie(flashCookie)
	if err != nil || raw == "" {
		return nil
	}
	a.setCookie(c, flashCookie, "", -1)
	v, sig, ok := strings.Cut(raw, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.flashSign(v))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	kind, msg, _ := strings.Cut(string(b), "\n")
	return &flash{Kind: kind, Message: msg}
}

// redirect answers a successful form post: 303 See Other to the result.
func (a *app) redirect(c *gin.Context, to, flashMsg string) {
	if flashMsg != "" {
		a.setFlash(c, "success", flashMsg)
	}
	c.Redirect(http.StatusSeeOther, to)
}

// safeNext accepts only same-site paths for ?next= redirects.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, `/\`) || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}
