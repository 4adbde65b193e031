package web

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// serveStale answers a public page, feed or Statuspage document that could
// not be made because the database did not answer, from its last good
// answer, if one is kept (up to -stale-for). Pages say how old it is;
// documents say it themselves (Statuspage's page.updated_at, a feed's
// updated). It tells whether it answered.
func (a *App) serveStale(c *gin.Context) bool {
	key := c.GetString(ctxCacheKey)
	if key == "" || a.cache == nil || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		return false
	}
	cp, ok := a.cache.Stale(key)
	if !ok {
		return false
	}
	h := c.Writer.Header()
	for k, v := range cp.Header {
		h[k] = v
	}
	age := max(a.now().Sub(cp.Made), 0)
	h.Set("Age", strconv.Itoa(int(age.Seconds())))
	h.Set("X-Cache", "stale")
	// Shared caches may keep it briefly, as they would the fresh answer.
	h.Set("Cache-Control", "public, max-age=30")
	h.Del("ETag")
	body := cp.Body
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		body = staleNote(body, cp.Made.UTC().Format("15:04 UTC"))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method == http.MethodGet {
		_, _ = c.Writer.Write(body)
	}
	c.Abort()
	return true
}

// staleMark is where a page takes the note: first thing in its main part
// (layout.html).
var staleMark = []byte(`<main id="main" class="container">`)

// staleNote puts the "as of" note into a page's body.
func staleNote(page []byte, asOf string) []byte {
	note := `<div class="banner banner-stale" role="status"><strong>As of ` + template.HTMLEscapeString(asOf) +
		`, live data unavailable:</strong> this page may be out of date. Reload it in a minute.</div>`
	return bytes.Replace(page, staleMark, append(append([]byte{}, staleMark...), note...), 1)
}
