package main

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
)

const (
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
func (a *app) requestLog(c *gin.Context) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	// The Store records it in audit entries.
	c.Request = c.Request.WithContext(models.WithRequestID(c.Request.Context(), id))
	start := time.Now()
	c.Next()
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
func (a *app) recoverPanic(c *gin.Context) {
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

// contentSecurityPolicy allows no inline script and no framing. Images may
// come from http(s) because posts may embed them.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	c.Next()
}

// crossOrigin refuses state-changing requests sent by a browser from another
// site (Sec-Fetch-Site, else Origin against Host). Requests without either
// header are not from a browser page (curl, API clients with a bearer token)
// and pass; the SameSite=Lax session cookie is the second line of defence.
func (a *app) crossOrigin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := crossOriginCheck.Check(c.Request); err != nil {
			a.fail(c, errCrossSite)
			return
		}
		c.Next()
	}
}

// crossOriginCheck tells a browser's cross-site request from a same-origin
// one (Fetch metadata, then Origin against Host).
var crossOriginCheck = http.NewCrossOriginProtection()

// limitBody refuses bodies over the configured size with 413, up front when
// the length is declared and while reading when it is not.
func (a *app) limitBody(c *gin.Context) {
	if c.Request.ContentLength > a.cfg.MaxBodyBytes {
		a.fail(c, errTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxBodyBytes)
	c.Next()
}

// loadUser identifies the caller from a bearer token or the session cookie,
// reading the user and role from the database on every request.
func (a *app) loadUser(c *gin.Context) {
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
func (a *app) guard(ac access) gin.HandlerFunc {
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
