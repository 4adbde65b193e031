package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"sitrep/models"
	"sitrep/server/markup"

	"github.com/gin-gonic/gin"
)

// postForm is a Markdown form's state: what was typed, its preview, and
// what was wrong with it. A refused post always comes back with its text.
type postForm struct {
	Title     string
	ServiceID int64
	Body      string
	SubmitKey string
	Preview   template.HTML
	Errors    map[string]string
	Message   string // a refusal that is not about one field (429, locked)
	// Wait is how many seconds a form refused for coming too soon must
	// wait; the page says so, and counts it down with JavaScript.
	Wait    int
	limited bool // a preview refused for asking too often
	// SameHere says the text was counted as an "I'm affected" mark
	// instead of posted (surge mode); the form offers to post it anyway.
	SameHere bool
}

// newSubmitKey makes the hidden key that lets the server recognise the same
// form submitted twice.
func newSubmitKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// readPostForm reads a Markdown form; with the Preview button it also renders
// the preview.
func (a *App) readPostForm(c *gin.Context) (postForm, bool, error) {
	if err := parseForm(c); err != nil {
		return postForm{}, false, err
	}
	f := postForm{Title: c.PostForm("title"), Body: c.PostForm("body"), SubmitKey: c.PostForm("submit_key")}
	if v := c.PostForm("service_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return f, false, badRequest("Unknown service.")
		}
		f.ServiceID = id
	}
	if c.PostForm("preview") == "" {
		return f, false, nil
	}
	p, err := a.preview(c, f.Body)
	f.Preview, f.Errors, f.Message, f.limited = p.HTML, p.Errors, p.Message, p.limited
	return f, true, err
}

// previewed is a rendered preview, or why there is none.
type previewed struct {
	HTML    template.HTML
	Errors  map[string]string // the body's error
	Message string            // asked for too many previews
	limited bool
}

// preview renders body for a Preview button with the function that renders
// posts. Previews are counted per person (previewAccount), so that asking
// for them is no way around the posting pace to keep the server rendering.
func (a *App) preview(c *gin.Context, body string) (previewed, error) {
	if len(body) > markup.MaxSourceBytes {
		return previewed{Errors: map[string]string{"body": markup.ErrTooLong.Error()}}, nil
	}
	ok, retry, err := a.take(c.Request.Context(), previewAccount.of(accountKey(currentUser(c))))
	if err != nil {
		return previewed{}, err
	}
	if !ok {
		c.Header("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
		return previewed{Message: "You asked for many previews in a short time. " + tryAgainIn(retry) + " Your text is kept below.", limited: true}, nil
	}
	html, err := markup.Render(body)
	if err != nil {
		return previewed{Errors: map[string]string{"body": err.Error()}}, nil
	}
	return previewed{HTML: html}, nil
}

// status is 422 when the text cannot be posted as it is (too long), so
// that a preview never looks like a success it is not, and 429 when no
// preview was made for asking too often.
func (p previewed) status() int {
	switch {
	case p.limited:
		return http.StatusTooManyRequests
	case p.Errors != nil:
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// previewStatus is the status of a form shown with its preview.
func (f *postForm) previewStatus() int {
	return previewed{Errors: f.Errors, limited: f.limited}.status()
}

// refuse fills the form with why a write was refused and returns the status
// to show it with (a 429 says when to retry in Retry-After too); ok is false
// for errors that are not about the input.
func (f *postForm) refuse(c *gin.Context, err error) (status int, ok bool) {
	var rl *models.RateLimitError
	var le *models.LockedError
	var se *models.SanctionedError
	switch {
	case errors.As(err, &se):
		f.Message = se.Error()
		return http.StatusForbidden, true
	case fieldErrors(err) != nil:
		f.Errors = fieldErrors(err)
		return http.StatusUnprocessableEntity, true
	case errors.As(err, &rl):
		f.Message = rl.Message + " Your text is kept below."
		if rl.Why != "" { // the page says the wait, and counts it down
			f.Message, f.Wait = rl.Why+" Your text is kept below.", rl.Seconds()
		}
		c.Header("Retry-After", strconv.Itoa(rl.Seconds()))
		return http.StatusTooManyRequests, true
	case errors.As(err, &le):
		f.Message = le.Error()
		return http.StatusForbidden, true
	}
	return 0, false
}
