package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// JSON shapes of the forum (names from the API contract).

type apiThread struct {
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	Author         string     `json:"author"`
	ServiceID      *int64     `json:"service_id"`
	IncidentID     *int64     `json:"incident_id"`
	Locked         bool       `json:"locked"`
	LockReason     string     `json:"lock_reason,omitempty"`
	Pinned         bool       `json:"pinned"`
	PinnedUntil    *time.Time `json:"pinned_until"`
	SlowMode       int        `json:"slow_mode_seconds"`
	PostCount      int        `json:"post_count"`
	AffectedCount  int        `json:"affected_count"`
	LastActivityAt time.Time  `json:"last_activity_at"`
	CreatedAt      time.Time  `json:"created_at"`
	URL            string     `json:"url"`
	// Posts is sent with a thread (as [] when the caller may read none of
	// them) and left out of lists (nil).
	Posts []apiPost `json:"posts,omitzero"`
	// The page of posts a thread answer holds (?page=), and whether more follow.
	Page    int   `json:"page,omitempty"`
	HasMore *bool `json:"has_more,omitempty"`
}

func toAPIThread(t *models.Thread) apiThread {
	out := apiThread{ID: t.ID, Title: t.Title, ServiceID: t.ServiceID, IncidentID: t.IncidentID, Locked: t.Locked, LockReason: t.LockReason,
		Pinned: t.Pinned, PinnedUntil: utcPtr(t.PinnedUntil), SlowMode: t.SlowModeSeconds, PostCount: t.PostCount, AffectedCount: t.AffectedCount,
		LastActivityAt: t.LastActivityAt.UTC(), CreatedAt: t.CreatedAt.UTC(), URL: threadURL(t.ID)}
	if t.Author != nil {
		out.Author = t.Author.Name
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *App) apiThreadList(c *gin.Context) error {
	_, threads, err := a.readThreadList(c)
	if err != nil {
		return err
	}
	out := make([]apiThread, 0, len(threads.Items))
	for i := range threads.Items {
		out = append(out, toAPIThread(&threads.Items[i]))
	}
	return writeJSON(c, http.StatusOK, listJSON("threads", out, threads))
}

// apiThreadInput is all a client may set on a new thread.
type apiThreadInput struct {
	Title     string `json:"title"`
	Body      string `json:"body"`
	ServiceID *int64 `json:"service_id"`
}

// idempotencyKey reads the optional Idempotency-Key header, the API's
// duplicate-submit guard.
func idempotencyKey(c *gin.Context) string { return c.GetHeader("Idempotency-Key") }

// answerCreated is 201 for a new resource and 200 when an idempotent retry
// found the one created before.
func answerCreated(c *gin.Context, created bool, body any) error {
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return writeJSON(c, status, body)
}

func (a *App) apiThreadCreate(c *gin.Context) error {
	var in apiThreadInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	th, created, err := a.store.CreateThread(c.Request.Context(), currentUser(c),
		models.NewThread{Title: in.Title, Body: in.Body, ServiceID: in.ServiceID, SubmitKey: idempotencyKey(c)})
	if err != nil {
		return err
	}
	out, done, err := a.readAPIThread(c, th.ID)
	if err != nil || done {
		return err
	}
	return answerCreated(c, created, out)
}

// readAPIThread loads a thread with one page of the posts the caller may
// read; done is true when it answered already (a merged thread's address
// redirects to the thread it was merged into).
func (a *App) readAPIThread(c *gin.Context, id int64) (out apiThread, done bool, err error) {
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, id)
	if err != nil {
		return out, false, err
	}
	if mergedAway(c, th, func(id int64) string { return "/api/v1" + threadURL(id) }) {
		return out, true, nil
	}
	p, err := pageParam(c, models.PostsPerPage)
	if err != nil {
		return out, false, err
	}
	posts, err := a.store.ListPosts(ctx, models.PostQuery{ThreadID: th.ID, Viewer: currentUser(c)}, p)
	if err != nil {
		return out, false, err
	}
	out = toAPIThread(th)
	out.Page, out.HasMore = posts.Page.Number, &posts.HasNext
	out.Posts = make([]apiPost, 0, len(posts.Items))
	for i := range posts.Items {
		out.Posts = append(out.Posts, toAPIPost(&posts.Items[i]))
	}
	return out, false, nil
}

func (a *App) apiThreadShow(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, done, err := a.readAPIThread(c, id)
	if err != nil || done {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// apiBody is the body of a reply or an edit.
type apiBody struct {
	Body string `json:"body"`
}

func (a *App) apiReplyCreate(c *gin.Context) error {
	var in apiBody
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	u := currentUser(c)
	p, created, err := a.store.CreateReply(c.Request.Context(), u, id, models.NewPost{Body: in.Body, SubmitKey: idempotencyKey(c)})
	if err != nil {
		return err
	}
	p.Author = u
	return answerCreated(c, created, toAPIPost(p))
}

// apiAffected is PUT (mark) and DELETE (unmark) on a thread's affected set.
func (a *App) apiAffected(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	on := c.Request.Method == http.MethodPut
	n, err := a.store.SetAffected(c.Request.Context(), currentUser(c), id, on)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, gin.H{"affected_count": n, "affected": on})
}

// apiFollowing is PUT (follow at {level}; no body: all) and DELETE (stop
// following) on a thread; the threads one follows are GET
// /api/v1/threads?following=true.
func (a *App) apiFollowing(c *gin.Context) error {
	in := struct {
		Level string `json:"level"`
	}{Level: models.FollowAll}
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	on := c.Request.Method == http.MethodPut
	if on && in.Level == "" {
		in.Level = models.FollowAll
	}
	level, err := a.store.SetFollowing(c.Request.Context(), currentUser(c), id, on, in.Level)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, gin.H{"following": on, "level": level})
}
