package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// Cookies: the session (a server-side row; the cookie holds its secret) and
// the flash message of the next page.

func (a *App) sessionCookieName() string {
	if a.cfg.Secure() {
		return "__Host-sitrep_session"
	}
	return "sitrep_session"
}

func (a *App) setCookie(c *gin.Context, name, value string, maxAge int) {
	// No cache may keep an answer that sets a cookie and hand it to others.
	c.Header("Cache-Control", "no-store")
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	})
}

// startSession logs the user in with a fresh session id, ending the session
// the browser had before (so a planted id never becomes a logged-in one).
func (a *App) startSession(c *gin.Context, userID int64) error {
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

func (a *App) flashSign(v string) string {
	m := hmac.New(sha256.New, a.flashKey)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *App) setFlash(c *gin.Context, kind, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\n" + msg))
	a.setCookie(c, flashCookie, v+"."+a.flashSign(v), 60)
}

// takeFlash reads and clears the flash message, ignoring forged ones.
func (a *App) takeFlash(c *gin.Context) *flash {
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
func (a *App) redirect(c *gin.Context, to, flashMsg string) error {
	if flashMsg != "" {
		a.setFlash(c, "success", flashMsg)
	}
	c.Redirect(http.StatusSeeOther, to)
	return nil
}

// safeNext accepts only same-site paths for ?next= redirects.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, `/\`) || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}
