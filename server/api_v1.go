package main

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// apiUser is the JSON shape of the caller's own account.
type apiUser struct {
	ID    int64       `json:"id"`
	Name  string      `json:"name"`
	Role  models.Role `json:"role"`
	Email string      `json:"email"`
}

func toAPIUser(u *models.User) apiUser {
	return apiUser{ID: u.ID, Name: u.Name, Role: u.Role, Email: u.Email}
}

func (a *app) apiMe(c *gin.Context) {
	c.JSON(http.StatusOK, toAPIUser(currentUser(c)))
}

// apiMeUpdate changes the caller's email; the body's other fields are ignored.
func (a *app) apiMeUpdate(c *gin.Context) {
	var in struct {
		Email *string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	u := currentUser(c)
	if in.Email != nil {
		if err := a.store.UpdateEmail(c.Request.Context(), u.ID, *in.Email); err != nil {
			a.fail(c, err)
			return
		}
	}
	fresh, err := a.store.UserByID(c.Request.Context(), u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIUser(fresh))
}

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
	Posts          []apiPost  `json:"posts,omitempty"`
	// The page of posts a thread answer holds (?page=), and whether more follow.
	Page    int   `json:"page,omitempty"`
	HasMore *bool `json:"has_more,omitempty"`
}

type apiPost struct {
	ID        int64         `json:"id"`
	ThreadID  int64         `json:"thread_id"`
	Author    string        `json:"author"`
	AuthorID  int64         `json:"author_id"`
	Role      models.Role   `json:"role"`
	Official  bool          `json:"official"`
	Body      string        `json:"body"`
	BodyHTML  template.HTML `json:"body_html"`
	CreatedAt time.Time     `json:"created_at"`
	EditedAt  *time.Time    `json:"edited_at"`
	Hidden    bool          `json:"hidden,omitempty"`
	URL       string        `json:"url"`
}

type apiRevision struct {
	ID        int64         `json:"id"`
	Editor    string        `json:"editor"`
	Body      string        `json:"body"`
	BodyHTML  template.HTML `json:"body_html"`
	CreatedAt time.Time     `json:"created_at"`
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

func toAPIPost(p *models.Post) apiPost {
	out := apiPost{ID: p.ID, ThreadID: p.ThreadID, AuthorID: p.AuthorID, Official: p.Official, Body: p.Source, BodyHTML: p.HTML,
		CreatedAt: p.CreatedAt.UTC(), EditedAt: utcPtr(p.EditedAt), Hidden: p.HiddenAt != nil, URL: postURL(p.ID)}
	if p.Author != nil {
		out.Author, out.Role = p.Author.Name, p.Author.Role
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

func (a *app) apiThreadList(c *gin.Context) {
	f, err := threadFilter(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	p, err := pageParam(c, models.ThreadsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	threads, err := a.store.ListThreads(c.Request.Context(), f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apiThread, 0, len(threads.Items))
	for i := range threads.Items {
		out = append(out, toAPIThread(&threads.Items[i]))
	}
	c.JSON(http.StatusOK, gin.H{"threads": out, "page": threads.Page.Number, "has_more": threads.HasNext})
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
func answerCreated(c *gin.Context, created bool, body any) {
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	c.JSON(status, body)
}

func (a *app) apiThreadCreate(c *gin.Context) {
	var in apiThreadInput
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	th, created, err := a.store.CreateThread(c.Request.Context(), currentUser(c),
		models.NewThread{Title: in.Title, Body: in.Body, ServiceID: in.ServiceID, SubmitKey: idempotencyKey(c)})
	if err != nil {
		a.fail(c, err)
		return
	}
	a.apiThreadAnswer(c, th.ID, func(t apiThread) { answerCreated(c, created, t) })
}

// apiThreadAnswer loads a thread with one page of the posts the caller may
// read and hands it to answer.
func (a *app) apiThreadAnswer(c *gin.Context, id int64, answer func(apiThread)) {
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	if mergedAway(c, th, func(id int64) string { return "/api/v1" + threadURL(id) }) {
		return
	}
	p, err := pageParam(c, models.PostsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	posts, err := a.store.ListPosts(ctx, models.PostQuery{ThreadID: th.ID, Viewer: currentUser(c)}, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := toAPIThread(th)
	out.Page, out.HasMore = posts.Page.Number, &posts.HasNext
	out.Posts = make([]apiPost, 0, len(posts.Items))
	for i := range posts.Items {
		out.Posts = append(out.Posts, toAPIPost(&posts.Items[i]))
	}
	answer(out)
}

func (a *app) apiThreadShow(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	a.apiThreadAnswer(c, id, func(t apiThread) { c.JSON(http.StatusOK, t) })
}

// apiBody is the body of a reply or an edit.
type apiBody struct {
	Body string `json:"body"`
}

func (a *app) apiReplyCreate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in apiBody
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	u := currentUser(c)
	p, created, err := a.store.CreateReply(c.Request.Context(), u, id, models.NewPost{Body: in.Body, SubmitKey: idempotencyKey(c)})
	if err != nil {
		a.fail(c, err)
		return
	}
	p.Author = u
	answerCreated(c, created, toAPIPost(p))
}

func (a *app) apiPostUpdate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in apiBody
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	if _, err := a.store.EditPost(c.Request.Context(), currentUser(c), id, in.Body); err != nil {
		a.fail(c, err)
		return
	}
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIPost(p))
}

func (a *app) apiPostRevisions(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	p, err := pageParam(c, models.RevisionsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	_, revs, err := a.store.PostRevisions(c.Request.Context(), id, currentUser(c), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apiRevision, 0, len(revs.Items))
	for _, r := range revs.Items {
		out = append(out, apiRevision{ID: r.ID, Editor: r.Editor.Name, Body: r.Source, BodyHTML: r.HTML, CreatedAt: r.CreatedAt.UTC()})
	}
	c.JSON(http.StatusOK, gin.H{"revisions": out, "page": revs.Page.Number, "has_next": revs.HasNext})
}

// apiAffected is PUT (mark) and DELETE (unmark) on a thread's affected set.
func (a *app) apiAffected(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	on := c.Request.Method == http.MethodPut
	n, err := a.store.SetAffected(c.Request.Context(), currentUser(c), id, on)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"affected_count": n, "affected": on})
}

// apiFollowing is PUT (follow) and DELETE (stop following) on a thread; the
// threads one follows are GET /api/v1/threads?following=true.
func (a *app) apiFollowing(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	on := c.Request.Method == http.MethodPut
	if err := a.store.SetFollowing(c.Request.Context(), currentUser(c), id, on); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"following": on})
}
