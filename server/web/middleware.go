package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/httpcache"
	"sitrep/server/statuspage"
)

const (
	ctxCacheKey  = "cache_key"
	ctxRequestID = "request_id"
	ctxUser      = "user"
	ctxRevoked   = "revoked"
)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// currentUser is the signed-in user, or nil.
func currentUser(c *gin.Context) *models.User {
	if u, ok := c.Get(ctxUser); ok {
		return u.(*models.User)
	}
	return nil
}

// requestLog gives each request an id (echoed in X-Request-ID and shown on
// 500 pages) and writes one structured access-log line when it ends.
func (a *App) requestLog(c *gin.Context) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	// The Store records it in audit entries.
	c.Request = c.Request.WithContext(models.WithRequestID(c.Request.Context(), id))
	start := time.Now()
	c.Next()
	if isSnapshot(c.Request) {
		return // a snapshot's pages are not visitors' requests
	}
	attrs := []any{
		"request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "bytes", c.Writer.Size(),
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "ip", c.ClientIP(),
	}
	if u := currentUser(c); u != nil {
		attrs = append(attrs, "user_id", u.ID)
	}
	a.log.Info("request", attrs...)
}

// recoverPanic turns a panic into a logged 500 with the request id.
func (a *App) recoverPanic(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				a.fail(c, fmt.Errorf("panic: %v", r))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// contentSecurityPolicy allows no inline script and no framing. Images come
// from this site only: posts show other hosts' images as links
// (server/markup), and a post rendered before that rule still makes no
// reader's browser fetch one.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	badgeHeaders(c.Request.URL.Path, h)
	c.Next()
}

// crossOrigin refuses state-changing requests sent by a browser from another
// site (Sec-Fetch-Site, else Origin against Host). Requests without either
// header are not from a browser page (curl, API clients with a bearer token)
// and pass; the SameSite=Lax session cookie is the second line of defence.
func (a *App) crossOrigin(c *gin.Context) {
	if err := a.crossSite(c.Request); err != nil {
		a.fail(c, errCrossSite)
		return
	}
	c.Next()
}

// crossOriginCheck tells a browser's cross-site request from a same-origin
// one (Fetch metadata, then Origin against Host).
var crossOriginCheck = http.NewCrossOriginProtection()

// crossSite is crossOriginCheck, and when the site's scheme is known from
// the base URL, an Origin judged without Fetch metadata must have that
// scheme too: the check compares only hosts, and http://site is another
// origin than https://site (a page on the plain-HTTP site, or one a network
// attacker serves there, must not post to the HTTPS one).
func (a *App) crossSite(r *http.Request) error {
	if err := crossOriginCheck.Check(r); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil // safe methods pass, as the check lets them
	}
	origin := r.Header.Get("Origin")
	if origin == "" || r.Header.Get("Sec-Fetch-Site") != "" || a.cfg.BaseURL == "" {
		return nil
	}
	base, err := url.Parse(a.cfg.BaseURL)
	if err != nil || base.Scheme == "" {
		return nil
	}
	if o, err := url.Parse(origin); err != nil || !strings.EqualFold(o.Scheme, base.Scheme) {
		return errCrossSite
	}
	return nil
}

// limitBody refuses bodies over the configured size with 413, up front when
// the length is declared and while reading when it is not.
func (a *App) limitBody(c *gin.Context) {
	if c.Request.ContentLength > a.cfg.MaxBodyBytes {
		a.fail(c, errTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxBodyBytes)
	c.Next()
}

// loadUser identifies the caller from a bearer token or the session cookie,
// reading the user and role from the database on every request.
func (a *App) loadUser(c *gin.Context) {
	ctx := c.Request.Context()
	var (
		u   *models.User
		err error
	)
	// Other schemes (a proxy's Basic credentials) are not Sitrep's to read.
	if scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		if token = strings.TrimSpace(token); token == "" {
			a.fail(c, &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Send the token as: Authorization: Bearer TOKEN."})
			return
		}
		if u, err = a.store.UserByToken(ctx, token); errors.Is(err, models.ErrNotFound) {
			a.fail(c, &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "This API token is not valid."})
			return
		}
	} else if secret, cerr := c.Cookie(a.sessionCookieName()); cerr == nil && secret != "" {
		u, err = a.store.UserBySession(ctx, secret)
		if errors.Is(err, models.ErrNotFound) {
			err = nil // expired or logged out: a visitor
		}
	}
	var re *models.RevokedError
	var se *models.SanctionedError
	switch {
	case errors.As(err, &re), errors.As(err, &se):
		// Credentials that no longer work: a visitor on public pages, a
		// 403 with the reason everywhere else.
		c.Set(ctxRevoked, err)
	case err != nil:
		a.fail(c, err)
		return
	case u != nil:
		c.Set(ctxUser, u)
		// Pages for a signed-in user are personal: never store them.
		c.Header("Cache-Control", "no-store")
	}
	c.Header("Vary", "Cookie, Authorization")
	c.Next()
}

// statuspageCORS opens every answer under the Statuspage API to scripts on
// other sites, errors and refusals included, so that a widget can read why.
func statuspageCORS(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, statuspage.Prefix) {
		statuspage.CORS(c.Writer.Header())
	}
	c.Next()
}

// isVisitor tells whether a request may be answered from the visitors'
// cache: a GET without an Authorization header and without a session
// cookie, which is what loadUser sees as a visitor. A flash cookie also
// skips the cache, since its page shows (and clears) the message.
func (a *App) isVisitor(c *gin.Context) bool {
	r := c.Request
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "" || isSnapshot(r) {
		return false
	}
	for _, name := range []string{a.sessionCookieName(), flashCookie} {
		if _, err := r.Cookie(name); err == nil {
			return false
		}
	}
	return true
}

// visitorCache answers visitors from the micro-cache. The key is the host
// (absolute links are built from it when no base URL is set), the path and
// the route's own query parameters in the route table's order; a visitor's
// request keeps only those, so what the handler reads is what the key says.
// Every request of the route notes the key, so that an error can fall back
// on the last good answer (see fail).
func (a *App) visitorCache(params []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a.cache == nil || c.Request.Method != http.MethodGet {
			c.Next()
			return
		}
		uri := canonicalURI(c.Request.URL, params)
		key := c.Request.Host + " " + uri
		c.Set(ctxCacheKey, key)
		if !a.isVisitor(c) {
			c.Next()
			return
		}
		c.Request.URL.RawQuery = strings.TrimPrefix(strings.TrimPrefix(uri, c.Request.URL.Path), "?")
		a.cache.Serve(c, key)
	}
}

// canonicalURI is u's path and, of its query, only params, in that order.
func canonicalURI(u *url.URL, params []string) string {
	in := u.Query()
	var b strings.Builder
	for _, p := range params {
		for _, x := range in[p] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(p) + "=" + url.QueryEscape(x))
		}
	}
	if b.Len() == 0 {
		return u.Path
	}
	return u.Path + "?" + b.String()
}

// purgeAfterChange empties the visitors' cache after a change by staff, a
// moderator or an admin (an official update, a status change, a hidden
// post), so that visitors see those at once rather than up to a TTL later.
// Customers' replies, the bulk of the writes on an outage day, wait for the
// TTL, or the cache would be emptied many times a second.
func (a *App) purgeAfterChange(c *gin.Context) {
	c.Next()
	if a.cache == nil {
		return
	}
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	if u := currentUser(c); u != nil && (u.Role.IsStaff() || u.Role.CanModerate()) && c.Writer.Status() < http.StatusBadRequest {
		a.cache.Purge()
	}
}

// errOverloaded refuses a request past the bound on requests in flight.
var errOverloaded = &httpError{
	Status: http.StatusServiceUnavailable, Code: "overloaded",
	Message:    "The site is very busy right now. Please try again in a few seconds.",
	RetryAfter: httpcache.RetryAfter,
}

// shedLoad admits a request when a slot is free within a short wait and
// answers 503 overloaded with Retry-After otherwise. It runs before
// loadUser, so a refused request costs no database work, and after the
// visitors' cache, so a hit takes no slot.
func (a *App) shedLoad(c *gin.Context) {
	s := a.shed
	if s == nil {
		c.Next()
		return
	}
	if !s.Acquire(c.Request.Context()) {
		// The error page reads a form (no database work) to give the
		// person their text back to send again; limitBody has not run.
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxBodyBytes)
		a.fail(c, errOverloaded)
		return
	}
	defer s.Release()
	c.Next()
}

// access is who may use a route.
type access int

const (
	public access = iota
	signedIn
	staffOnly     // staff and admins: official statements
	moderatorOnly // moderators and admins
	adminOnly
)

func (ac access) allows(r models.Role) bool {
	switch ac {
	case public, signedIn:
		return true
	case staffOnly:
		return r.IsStaff()
	case moderatorOnly:
		return r.CanModerate()
	case adminOnly:
		return r == models.RoleAdmin
	}
	return false // unknown levels fail closed
}

// guard enforces a route's access level. It fails closed: no user means 401
// (a page GET redirects to log-in), revoked credentials or a lesser role 403.
func (a *App) guard(ac access) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ac == public {
			c.Next()
			return
		}
		u := currentUser(c)
		if u == nil {
			if revoked, ok := c.Get(ctxRevoked); ok {
				a.fail(c, revoked.(error))
				return
			}
			if !isAPI(c) && c.Request.Method == http.MethodGet {
				c.Header("Cache-Control", "no-store")
				c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
				c.Abort()
				return
			}
			a.fail(c, errUnauthorized)
			return
		}
		if !ac.allows(u.Role) {
			a.fail(c, errForbidden)
			return
		}
		c.Next()
	}
}
