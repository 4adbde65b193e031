package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type threadListPage struct {
	base
	Threads   []models.Thread
	Services  []models.Service
	ServiceID int64
	OpenOnly  bool
	Linked    bool
	Following bool
	Pager     pager
	// States is the viewer's follow of each listed thread they follow:
	// what they have not read.
	States map[int64]models.FollowState
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
	if v := c.Query("after"); v != "" {
		k, err := models.ParseThreadKey(v)
		if err != nil {
			return f, badRequest("after must be a place in the thread list, as a next link gives it.")
		}
		f.After = &k
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

// readThreadList reads the page of the thread list that the query asks
// for; the forum page and GET /api/v1/threads show it.
func (a *App) readThreadList(c *gin.Context) (models.ThreadFilter, models.Paged[models.Thread], error) {
	f, err := threadFilter(c)
	if err != nil {
		return f, models.Paged[models.Thread]{}, err
	}
	p, err := pageParam(c, models.ThreadsPerPage)
	if err != nil {
		return f, models.Paged[models.Thread]{}, err
	}
	threads, err := a.store.ListThreads(c.Request.Context(), f, p)
	return f, threads, err
}

func (a *App) threadList(c *gin.Context) error {
	f, threads, err := a.readThreadList(c)
	if err != nil {
		return err
	}
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return err
	}
	page := &threadListPage{base: a.base(c, "Forum"), Threads: threads.Items, Services: services,
		OpenOnly: f.OpenOnly, Linked: f.Linked, Following: f.FollowerID != nil, Pager: threadPager(c, threads)}
	if u := currentUser(c); u != nil {
		ids := make([]int64, len(threads.Items))
		for i, th := range threads.Items {
			ids[i] = th.ID
		}
		if page.States, err = a.store.FollowStates(c.Request.Context(), u, ids); err != nil {
			return err
		}
	}
	if f.ServiceID != nil {
		page.ServiceID = *f.ServiceID
	}
	return a.renderPage(c, http.StatusOK, "thread_list", page)
}

type threadNewPage struct {
	base
	Form     postForm
	Services []models.Service
}

func (a *App) showThreadForm(c *gin.Context, status int, f postForm) error {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return err
	}
	if f.SubmitKey == "" {
		f.SubmitKey = newSubmitKey()
	}
	return a.renderPage(c, status, "thread_new", &threadNewPage{base: a.base(c, "New thread"), Form: f, Services: services})
}

func (a *App) threadNew(c *gin.Context) error {
	f := postForm{Title: c.Query("title")}
	if id, err := strconv.ParseInt(c.Query("service"), 10, 64); err == nil {
		f.ServiceID = id
	}
	return a.showThreadForm(c, http.StatusOK, f)
}

func (a *App) threadCreate(c *gin.Context) error {
	f, preview, err := a.readPostForm(c)
	if err != nil {
		return err
	}
	if preview {
		return a.showThreadForm(c, f.previewStatus(), f)
	}
	th, created, err := a.store.CreateThread(c.Request.Context(), currentUser(c), newThreadInput(f))
	if status, ok := f.refuse(c, err); ok {
		return a.showThreadForm(c, status, f)
	}
	if err != nil {
		return err
	}
	msg := "Your thread is posted."
	if !created {
		msg = "This was already posted; here it is."
	}
	return a.redirect(c, threadURL(th.ID), msg)
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

// postView is a post as the viewer may see it.
type postView struct {
	models.Post
	Visible bool
	CanEdit bool
	CanFlag bool
	Flagged bool // by the viewer
}

type threadPage struct {
	base
	// URL is the page's address, which live updates read again.
	URL    string
	Thread *models.Thread
	Posts  []postView
	// PostHTML is Posts rendered, from the fragment cache when it can.
	PostHTML  []template.HTML
	Pager     pager
	Affected  bool
	Following bool
	// FollowLevel is the viewer's level, or the one the follow form offers.
	FollowLevel  string
	FollowLevels []string
	// FirstUnread is the first post the viewer had not read when the page
	// was made (0: none).
	FirstUnread int64
	Reply       postForm
	Flag        flagForm // a refused flag, shown under its post
	FeedURL     string
	// An incident's own thread carries the incident; a customer thread
	// linked to one carries the banner; staff link customer threads.
	Incident *incidentView
	Tracked  *trackedView
	Link     *linkPicker
	// Moderators get the thread and post tools, and can undo the merges
	// into this thread.
	Moderator   bool
	MergedHere  []models.Thread
	FlagReasons []string
	// Silenced tells a silenced viewer why they cannot post.
	Silenced error
}

// inTimeline is the official update that post postID is, when the page's
// timeline shows it: the flow then marks it instead of showing it twice.
func (p *threadPage) inTimeline(postID int64) *models.IncidentUpdate {
	if p.Incident == nil {
		return nil
	}
	return p.Incident.byPost[postID]
}

// readThread keeps the viewer's place in a thread: the page says where the
// posts they have not read begin (and jumps there with JavaScript), and
// what it shows is marked read, with the notifications about the thread. It
// writes only when something changed.
func (a *App) readThread(c *gin.Context, page *threadPage, marks models.Marks, status int) error {
	shown := page.Posts
	if status != http.StatusOK || len(shown) == 0 {
		return nil
	}
	if marks.LastRead != 0 && marks.FirstUnread != 0 {
		page.FirstUnread = marks.FirstUnread
	}
	last := shown[len(shown)-1].ID
	if (marks.Following && marks.LastRead < last) || marks.UnreadNotices {
		return a.store.MarkRead(c.Request.Context(), currentUser(c).ID, page.Thread.ID, last)
	}
	return nil
}

// threadForms are the forms of a thread page that come back filled in: a
// refused or previewed reply or official update, a refused flag.
type threadForms struct {
	reply  postForm
	update incidentForm
	flag   flagForm
}

// showThread renders a thread page (an incident's page when the thread is
// an incident's) with forms carrying what was refused or previewed; a
// refused flag shows the page of its post.
func (a *App) showThread(c *gin.Context, status int, threadID int64, forms threadForms) error {
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, threadID)
	if err != nil {
		return err
	}
	if mergedAway(c, th, threadURL) {
		return nil
	}
	p, err := pageParam(c, models.PostsPerPage)
	if err != nil {
		return err
	}
	if forms.flag.page != 0 {
		p.Number = forms.flag.page
	}
	viewer := currentUser(c)
	posts, err := a.store.ListPosts(ctx, models.PostQuery{ThreadID: th.ID, Viewer: viewer, Placeholders: true}, p)
	if err != nil {
		return err
	}
	if len(posts.Items) == 0 && p.Number > 1 {
		return errNotFound
	}
	page := &threadPage{base: a.base(c, th.Title), Thread: th, Pager: newPager(c, posts.Page, posts.HasNext),
		Reply: forms.reply, Flag: forms.flag, FeedURL: threadURL(th.ID) + "/feed.atom", URL: c.Request.URL.RequestURI()}
	if c.Request.Method != http.MethodGet {
		// A refused or previewed form: the page is the thread's, not the
		// address the form was posted to.
		page.URL = threadURL(th.ID)
		page.Pager = pagerAt(page.URL, url.Values{}, posts.Page, posts.HasNext)
	}
	if page.Moderator = viewer != nil && viewer.Role.CanModerate(); page.Moderator {
		if page.MergedHere, err = a.store.MergedInto(ctx, th.ID); err != nil {
			return err
		}
	}
	page.FlagReasons, page.FollowLevels = models.FlagReasons, models.FollowLevels
	flagged := map[int64]bool{}
	if viewer != nil {
		page.Silenced = viewer.Silenced(a.now())
		ids := make([]int64, len(posts.Items))
		for i, po := range posts.Items {
			ids[i] = po.ID
		}
		if flagged, err = a.store.FlaggedBy(ctx, viewer.ID, ids); err != nil {
			return err
		}
	}
	for _, po := range posts.Items {
		page.Posts = append(page.Posts, postView{Post: po, Visible: po.VisibleTo(viewer), CanEdit: po.CanEdit(viewer), Flagged: flagged[po.ID],
			CanFlag: viewer != nil && viewer.ID != po.AuthorID && po.HiddenAt == nil && page.Silenced == nil && !flagged[po.ID]})
	}
	if viewer != nil {
		marks, err := a.store.MarksOn(ctx, viewer, th.ID)
		if err != nil {
			return err
		}
		page.Affected, page.Following, page.FollowLevel = marks.Affected, marks.Following, marks.Level
		if page.FollowLevel == "" {
			page.FollowLevel = models.FollowAll
		}
		if err := a.readThread(c, page, marks, status); err != nil {
			return err
		}
	}
	if page.Reply.SubmitKey == "" {
		page.Reply.SubmitKey = newSubmitKey()
	}
	if err := a.loadIncidentParts(c, page, forms.update); err != nil {
		return err
	}
	if !page.Following && page.Incident != nil {
		page.FollowLevel = models.FollowOfficial // an incident's own thread is loud
	}
	if err := a.renderPosts(page); err != nil {
		return err
	}
	return a.renderPage(c, status, "thread_show", page)
}

func (a *App) threadShow(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return a.showThread(c, http.StatusOK, id, threadForms{})
}

func (a *App) replyCreate(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, preview, err := a.readPostForm(c)
	if err != nil {
		return err
	}
	if preview {
		return a.showThread(c, f.previewStatus(), id, threadForms{reply: f})
	}
	if c.PostForm("post_anyway") == "" {
		counted, err := a.countSameHere(c, id, f.Body)
		if err != nil {
			return err
		}
		if counted {
			f.SameHere = true
			return a.showThread(c, http.StatusOK, id, threadForms{reply: f})
		}
	}
	p, created, err := a.store.CreateReply(c.Request.Context(), currentUser(c), id, models.NewPost{Body: f.Body, SubmitKey: f.SubmitKey})
	if status, ok := f.refuse(c, err); ok {
		return a.showThread(c, status, id, threadForms{reply: f})
	}
	if err != nil {
		return err
	}
	msg := "Your reply is posted."
	if !created {
		msg = "This was already posted."
	}
	return a.redirectToPost(c, p, msg)
}

// countSameHere turns a reply that says nothing but "same here", on an
// open incident's thread, into an "I'm affected" mark; it tells whether it
// did (the reply is then not posted, unless the person asks again).
func (a *App) countSameHere(c *gin.Context, threadID int64, body string) (bool, error) {
	ctx, u := c.Request.Context(), currentUser(c)
	th, err := a.store.ThreadByID(ctx, threadID)
	if err != nil {
		return false, err
	}
	if on, err := a.inSurge(ctx, th, u); !on || err != nil {
		return false, err
	}
	latest, err := a.store.LatestPosts(ctx, th.ID, nil, surgeLatest)
	if err != nil || !sameHere(body, latest) {
		return false, err
	}
	_, err = a.store.SetAffected(ctx, u, th.ID, true)
	return err == nil, err
}

// redirectToPost sends the browser to the page of the thread that shows p.
func (a *App) redirectToPost(c *gin.Context, p *models.Post, msg string) error {
	n, err := a.store.PostPosition(c.Request.Context(), p)
	if err != nil {
		return err
	}
	to := threadURL(p.ThreadID)
	if n > 1 {
		to += "?page=" + strconv.Itoa(n)
	}
	return a.redirect(c, fmt.Sprintf("%s#post-%d", to, p.ID), msg)
}

// threadAffected says the viewer is affected (affected=1) or no longer is
// (0); both are idempotent.
func (a *App) threadAffected(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	on := c.PostForm("affected") == "1"
	if _, err := a.store.SetAffected(c.Request.Context(), currentUser(c), id, on); err != nil {
		return err
	}
	msg := "You are no longer marked as affected."
	if on {
		msg = "You are marked as affected."
	}
	return a.redirect(c, threadURL(id)+"#affected", msg)
}

// threadFollow follows the thread at the form's level, or stops following
// it (following=0).
func (a *App) threadFollow(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	on := c.PostForm("following") != "0"
	level, err := a.store.SetFollowing(c.Request.Context(), currentUser(c), id, on, c.PostForm("level"))
	if err != nil {
		return err
	}
	msg := map[string]string{
		"":                    "You no longer follow this thread.",
		models.FollowAll:      "You follow this thread: you are told of every reply, and it is listed under “Threads I follow”.",
		models.FollowOfficial: "You follow this thread for official updates: you are told of those, of linking and of resolution.",
		models.FollowMuted:    "This thread is muted: it stays under “Threads I follow”, and you are told of nothing.",
	}[level]
	return a.redirect(c, threadURL(id)+"#following", msg)
}
