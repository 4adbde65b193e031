package web

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// httpError is an error with the status, machine code and human message the
// client sees.
type httpError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is sent as a Retry-After header (429, 503).
	RetryAfter time.Duration
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

var (
	errUnauthorized = &httpError{http.StatusUnauthorized, "unauthorized", "Log in to do this.", 0}
	errForbidden    = &httpError{http.StatusForbidden, "forbidden", "You do not have permission to do this.", 0}
	errNotFound     = &httpError{http.StatusNotFound, "not_found", "There is nothing here. The page may have moved, or the address may be mistyped.", 0}
	errTooLarge     = &httpError{http.StatusRequestEntityTooLarge, "too_large", "The request is too large.", 0}
	errCrossSite    = &httpError{http.StatusForbidden, "cross_site", "This request came from another site and was refused. Go back, reload the page and try again.", 0}
	errBadJSON      = &httpError{http.StatusBadRequest, "bad_request", "The request body is not valid JSON.", 0}
	// errUnavailable is the database not answering: the write (or a page
	// with no last good copy) is refused, to be tried again shortly.
	errUnavailable = &httpError{http.StatusServiceUnavailable, "unavailable",
		"The database is not answering right now, so this cannot be done. Please try again in a minute.", 30 * time.Second}
)

func badRequest(msg string) *httpError {
	return &httpError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

func tooManyRequests(retry time.Duration, msg string) *httpError {
	return &httpError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: msg, RetryAfter: retry}
}

// classify maps any error to what the client sees. Unknown errors are 500s
// whose details stay in the log.
func classify(err error) *httpError {
	var he *httpError
	var ve *models.ValidationError
	var re *models.RevokedError
	var mbe *http.MaxBytesError
	var rl *models.RateLimitError
	var le *models.LockedError
	var de *models.DeniedError
	var ce *models.ConflictError
	var se *models.SanctionedError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &rl):
		return tooManyRequests(rl.RetryAfter, rl.Message)
	case errors.As(err, &le):
		return &httpError{Status: http.StatusForbidden, Code: "locked", Message: le.Error()}
	case errors.As(err, &ve):
		return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: ve.Error()}
	case errors.As(err, &re):
		return &httpError{Status: http.StatusForbidden, Code: "revoked",
			Message: "Your session or token was ended (" + re.Reason + "). Log in again."}
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.As(err, &de):
		return &httpError{Status: http.StatusForbidden, Code: "forbidden", Message: de.Message}
	case errors.As(err, &ce):
		return &httpError{Status: http.StatusConflict, Code: "conflict", Message: ce.Message}
	case errors.As(err, &se):
		code := "silenced"
		if se.Kind == models.SanctionSuspension {
			code = "suspended"
		}
		return &httpError{Status: http.StatusForbidden, Code: code, Message: se.Error()}
	case errors.Is(err, models.ErrNotFound):
		return errNotFound
	case errors.Is(err, models.ErrForbidden):
		return errForbidden
	case errors.Is(err, models.ErrConflict):
		return &httpError{Status: http.StatusConflict, Code: "conflict", Message: "This conflicts with something that exists already."}
	case models.Unavailable(err):
		return errUnavailable
	}
	return &httpError{Status: http.StatusInternalServerError, Code: "internal",
		Message: "Something went wrong on our side. It has been logged; please try again."}
}

// isAPI tells whether a request wants JSON answers.
func isAPI(c *gin.Context) bool { return strings.HasPrefix(c.Request.URL.Path, "/api/") }

// fail answers with the page or JSON for err and stops the handler chain.
func (a *App) fail(c *gin.Context, err error) {
	he := classify(err)
	if he == errUnavailable && a.serveStale(c) {
		a.log.Warn("database unavailable: served the last good answer", "request_id", requestID(c), "path", c.Request.URL.Path, "error", err)
		return
	}
	if he.Status >= 500 {
		a.log.Error("request failed", "request_id", requestID(c), "method", c.Request.Method,
			"path", c.Request.URL.Path, "error", err)
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	if he.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((he.RetryAfter+time.Second-1)/time.Second)))
	}
	if isAPI(c) {
		c.AbortWithStatusJSON(he.Status, gin.H{"error": gin.H{"code": he.Code, "message": he.Message}})
		return
	}
	page := &errorPage{
		base:      a.base(c, http.StatusText(he.Status)),
		Heading:   errorHeading(he.Status),
		Message:   he.Message,
		ShowLogin: he.Status == http.StatusUnauthorized || he.Code == "revoked",
		Draft:     a.keptDraft(c, he.Status),
	}
	if he.Status >= 500 {
		page.RequestID = requestID(c)
	}
	if page.Ended == page.Message {
		page.Ended = "" // said once, as the page's message
	}
	a.renderPage(c, he.Status, "error", page)
	c.Abort()
}

type errorPage struct {
	base
	Heading   string
	Message   string
	ShowLogin bool
	RequestID string
	Draft     *draft
}

// draft is what a person typed into a form that was refused, shown on the
// error page so that it is never lost; Retry offers to send it again as it
// was (its submit_key included, so a retry cannot post twice).
type draft struct {
	Action string
	Retry  bool
	Texts  []draftField // free text, shown to copy or send again
	Hidden []draftField // the form's other fields, carried for Retry
}

type draftField struct{ Name, Label, Value string }

// draftTexts are the form fields a person writes in, with their labels.
var draftTexts = map[string]string{"title": "Title", "body": "Message", "postmortem": "Postmortem", "reason": "Reason", "note": "Note", "description": "Description"}

// keptDraft collects the free text of a refused form post, or nil when it
// had none (or was not a form). Passwords are never echoed.
func (a *App) keptDraft(c *gin.Context, status int) *draft {
	// Another site's form never gets its text shown back, let alone a
	// button that would send it from here (load shedding runs before the
	// cross-site check).
	if c.Request.Method != http.MethodPost || a.crossSite(c.Request) != nil {
		return nil
	}
	if c.Request.PostForm == nil {
		// Refused before the handler read it (a guard, load shedding); the
		// body is bounded by limitBody or shedLoad.
		_ = c.Request.ParseForm() // unreadable: there is no draft to keep
	}
	form := c.Request.PostForm
	if len(form) == 0 {
		return nil
	}
	d := &draft{Action: c.Request.URL.Path, Retry: status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests}
	for _, name := range slices.Sorted(maps.Keys(form)) {
		v := form.Get(name)
		switch {
		case strings.Contains(name, "password"), name == "preview":
		case draftTexts[name] != "" && strings.TrimSpace(v) != "":
			d.Texts = append(d.Texts, draftField{name, draftTexts[name], v})
		default:
			d.Hidden = append(d.Hidden, draftField{Name: name, Value: v})
		}
	}
	if len(d.Texts) == 0 {
		return nil
	}
	return d
}

func errorHeading(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Please log in"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusRequestEntityTooLarge:
		return "Too large"
	case http.StatusUnprocessableEntity:
		return "Please check your input"
	case http.StatusTooManyRequests:
		return "Slow down"
	case http.StatusServiceUnavailable:
		return "Temporarily unavailable"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return http.StatusText(status)
}
