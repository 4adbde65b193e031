package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/server/live"
)

// errStreamsFull refuses a stream past the bound; the page falls back to
// polling slowly, or to nothing.
var errStreamsFull = &httpError{Status: http.StatusServiceUnavailable, Code: "overloaded",
	Message: "Too many live pages are open right now; this page stays as it is. Reload it later.", RetryAfter: 30 * time.Second}

// stream is GET /api/v1/stream: ?thread=ID (a thread's posts and its
// incident), ?status=1 (the dashboard's data) or ?notifications=1 (the
// caller's notifications), as Server-Sent Events.
func (a *App) stream(c *gin.Context) error {
	var t live.Topic
	topics := 0
	if v := c.Query("thread"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return badRequest("thread must be a thread id.")
		}
		// Threads are public; the one rule is that it exists.
		if _, err := a.store.ThreadByID(c.Request.Context(), id); err != nil {
			return err
		}
		t.ThreadID, topics = id, topics+1
	}
	if c.Query("status") != "" {
		t.Status, topics = true, topics+1
	}
	if c.Query("notifications") != "" {
		u := currentUser(c)
		if u == nil {
			return &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Log in to follow your notifications."}
		}
		t.UserID, topics = u.ID, topics+1
	}
	if topics != 1 {
		return badRequest("Ask for one stream: ?thread=ID, ?status=1 or ?notifications=1.")
	}
	var last int64
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("Last-Event-ID must be an event id.")
		}
		last = n
	}
	err := live.Stream(c.Request.Context(), c.Writer, a.live, t, last, live.Heartbeat)
	if errors.Is(err, live.ErrFull) {
		return errStreamsFull
	}
	return err
}
