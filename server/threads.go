package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/markup"
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
}

// newSubmitKey makes the hidden key that lets the server recognise the same
// form submitted twice.
func newSubmitKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// readPostForm reads a Markdown form; with the Preview button it also renders
// the preview with the same function that renders posts.
func readPostForm(c *gin.Context) (postForm, bool, error) {
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
	html, err := markup.Render(f.Body)
	if err != nil {
		f.Errors = map[string]string{"body": err.Error()}
	}
	f.Preview = html
	return f, true, nil
}

// previewStatus is 422 when the text cannot be posted as it is (too long),
// so that a preview never looks like a success it is not.
func (f *postForm) previewStatus() int {
	if f.Errors != nil {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// refuse fills the form with why a write was refused and returns the status
// to show it with; ok is false for errors that are not about the input.
func (f *postForm) refuse(err error) (status int, ok bool) {
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
		return http.StatusTooManyRequests, true
	case errors.As(err, &le):
		f.Message = le.Error()
		return http.StatusForbidden, true
	}
	return 0, false
}

type threadListPage struct {
	base
	Threads   []models.Thread
	Services  []models.Service
	ServiceID int64
	OpenOnly  bool
	Linked    bool
	Following bool
	Pager     pager
}

// threadFilter reads the list's filters from the query string.
func threadFilter(c *gin.Context) (models.ThreadFilter, error) {
	var f models.ThreadFilter
	if v := c.Query("service"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return f, badRequest("service must be a service id.")
		}
		f.ServiceID = &id
	}
	var following bool
	for name, dst := range map[string]*bool{"open": &f.OpenOnly, "linked": &f.Linked, "following": &following} {
		switch c.Query(name) {
		case "", "0", "false":
		case "1", "true", "on":
			*dst = true
		default:
			return f, badRequest(name + " must be true or false.")
		}
	}
	if following {
		u := currentUser(c)
		if u == nil {
			return f, &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Log in to see the threads you follow."}
		}
		f.FollowerID = &u.ID
	}
	return f, nil
}

func (a *app) threadList(c *gin.Context) {
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
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	page := &threadListPage{base: a.base(c, "Forum"), Threads: threads.Items, Services: services,
		OpenOnly: f.OpenOnly, Linked: f.Linked, Following: f.FollowerID != nil, Pager: newPager(c, threads.Page, threads.HasNext)}
	if f.ServiceID != nil {
		page.ServiceID = *f.ServiceID
	}
	a.renderPage(c, http.StatusOK, "thread_list", page)
}

type threadNewPage struct {
	base
	Form     postForm
	Services []models.Service
}

func (a *app) showThreadForm(c *gin.Context, status int, f postForm) {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	if f.SubmitKey == "" {
		f.SubmitKey = newSubmitKey()
	}
	a.renderPage(c, status, "thread_new", &threadNewPage{base: a.base(c, "New thread"), Form: f, Services: services})
}

func (a *app) threadNew(c *gin.Context) {
	f := postForm{Title: c.Query("title")}
	if id, err := strconv.ParseInt(c.Query("service"), 10, 64); err == nil {
		f.ServiceID = id
	}
	a.showThreadForm(c, http.StatusOK, f)
}

func (a *app) threadCreate(c *gin.Context) {
	f, preview, err := readPostForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if preview {
		a.showThreadForm(c, f.previewStatus(), f)
		return
	}
	th, created, err := a.store.CreateThread(c.Request.Context(), currentUser(c), newThreadInput(f))
	if status, ok := f.refuse(err); ok {
		a.showThreadForm(c, status, f)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	msg := "Your thread is posted."
	if !created {
		msg = "This was already posted; here it is."
	}
	a.redirect(c, threadURL(th.ID), msg)
}

func newThreadInput(f postForm) models.NewThread {
	in := models.NewThread{Title: f.Title, Body: f.Body, SubmitKey: f.SubmitKey}
	if f.ServiceID != 0 {
		in.ServiceID = &f.ServiceID
	}
	return in
}

// mergedAway answers 301 to the thread th was merged into, so that its
// addresses (page, feed, JSON; url makes the one of the same kind) keep
// working. It tells whether it answered.
func mergedAway(c *gin.Context, th *models.Thread, url func(int64) string) bool {
	if th.MergedIntoID == nil {
		return false
	}
	c.Redirect(http.StatusMovedPermanently, url(*th.MergedIntoID))
	return true
}

func threadURL(id int64) string { return "/threads/" + strconv.FormatInt(id, 10) }

func postURL(id int64) string { return "/posts/" + strconv.FormatInt(id, 10) }

// postView is a post as the viewer may see it.
type postView struct {
	models.Post
	Visible bool
	CanEdit bool
	CanFlag bool
}

type threadPage struct {
	base
	Thread    *models.Thread
	Posts     []postView
	Pager     pager
	Affected  bool
	Following bool
	Reply     postForm
	FeedURL   string
	// An incident's own thread carries the incident; a customer thread
	// linked to one carries the banner; staff get link targets on others.
	Incident    *incidentView
	Tracked     *trackedView
	LinkTargets []models.Incident
	// Moderators get the thread and post tools, and can undo the merges
	// into this thread.
	Moderator   bool
	MergedHere  []models.Thread
	FlagReasons []string
	// Silenced tells a silenced viewer why they cannot post.
	Silenced error
}

// showThread renders a thread page (an incident's page when the thread is
// an incident's); reply and update carry a refused or previewed reply or
// official update back into their forms.
func (a *app) showThread(c *gin.Context, status int, threadID int64, reply postForm, update incidentForm) {
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, threadID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if mergedAway(c, th, threadURL) {
		return
	}
	p, err := pageParam(c, models.PostsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	viewer := currentUser(c)
	posts, err := a.store.ListPosts(ctx, models.PostQuery{ThreadID: th.ID, Viewer: viewer, Placeholders: true}, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	if len(posts.Items) == 0 && p.Number > 1 {
		a.fail(c, errNotFound)
		return
	}
	page := &threadPage{base: a.base(c, th.Title), Thread: th, Pager: newPager(c, posts.Page, posts.HasNext),
		Reply: reply, FeedURL: threadURL(th.ID) + "/feed.atom"}
	if page.Moderator = viewer != nil && viewer.Role.CanModerate(); page.Moderator {
		if page.MergedHere, err = a.store.MergedInto(ctx, th.ID); err != nil {
			a.fail(c, err)
			return
		}
	}
	page.FlagReasons = models.FlagReasons
	if viewer != nil {
		page.Silenced = viewer.Silenced(a.now())
	}
	for _, po := range posts.Items {
		page.Posts = append(page.Posts, postView{Post: po, Visible: po.VisibleTo(viewer), CanEdit: po.CanEdit(viewer),
			CanFlag: viewer != nil && viewer.ID != po.AuthorID && po.HiddenAt == nil})
	}
	if viewer != nil {
		marks, err := a.store.MarksOn(ctx, viewer.ID, th.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		page.Affected, page.Following = marks.Affected, marks.Following
	}
	if page.Reply.SubmitKey == "" {
		page.Reply.SubmitKey = newSubmitKey()
	}
	if err := a.loadIncidentParts(c, page, update); err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, status, "thread_show", page)
}

func (a *app) threadShow(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	a.showThread(c, http.StatusOK, id, postForm{}, incidentForm{})
}

func (a *app) replyCreate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	f, preview, err := readPostForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if preview {
		a.showThread(c, f.previewStatus(), id, f, incidentForm{})
		return
	}
	p, created, err := a.store.CreateReply(c.Request.Context(), currentUser(c), id, models.NewPost{Body: f.Body, SubmitKey: f.SubmitKey})
	if status, ok := f.refuse(err); ok {
		a.showThread(c, status, id, f, incidentForm{})
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	msg := "Your reply is posted."
	if !created {
		msg = "This was already posted."
	}
	a.redirectToPost(c, p, msg)
}

// redirectToPost sends the browser to the page of the thread that shows p.
func (a *app) redirectToPost(c *gin.Context, p *models.Post, msg string) {
	n, err := a.store.PostPosition(c.Request.Context(), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	to := threadURL(p.ThreadID)
	if n > 1 {
		to += "?page=" + strconv.Itoa(n)
	}
	a.redirect(c, fmt.Sprintf("%s#post-%d", to, p.ID), msg)
}

// threadMark is a signed-in person's on/off mark on a thread ("I'm
// affected", following): the form sends field=1 or 0, and both are
// idempotent. The flash says what is now true.
func (a *app) threadMark(field string, set func(ctx context.Context, u *models.User, threadID int64, on bool) error, on, off string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := idAndForm(c)
		if err != nil {
			a.fail(c, err)
			return
		}
		mark := c.PostForm(field) == "1"
		if err := set(c.Request.Context(), currentUser(c), id, mark); err != nil {
			a.fail(c, err)
			return
		}
		msg := off
		if mark {
			msg = on
		}
		a.redirect(c, threadURL(id)+"#"+field, msg)
	}
}

func (a *app) threadAffected() gin.HandlerFunc {
	return a.threadMark("affected", func(ctx context.Context, u *models.User, id int64, on bool) error {
		_, err := a.store.SetAffected(ctx, u, id, on)
		return err
	}, "You are marked as affected.", "You are no longer marked as affected.")
}

func (a *app) threadFollow() gin.HandlerFunc {
	return a.threadMark("following", a.store.SetFollowing,
		"You follow this thread: the forum lists it under “Threads I follow”.", "You no longer follow this thread.")
}
