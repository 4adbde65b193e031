package httpcache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// WritePublic answers a document that is the same for everyone: cacheable
// by anyone for maxAge seconds, with a strong ETag over the body; a request
// that already holds this body gets 304.
func WritePublic(c *gin.Context, ctype string, body []byte, maxAge int) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	h.Set("ETag", etag)
	// The answer does not depend on who asks (a Vary on the cookie would
	// split shared caches per person for nothing).
	h.Del("Vary")
	if ETagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, ctype, body)
}

// ETagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func ETagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
