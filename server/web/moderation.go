package web

import (
	"errors"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// The moderation pages: the flag queue, tools on threads and posts, the user
// page with sanctions, and the audit log. Every action goes through a Store
// method that checks the role again and writes the audit entry in the same
// transaction.

// toolInput is what the moderation tools take, read from a form or from
// JSON; each tool uses the fields it needs.
type toolInput struct {
	Reason   string     `json:"reason"`
	Until    *time.Time `json:"until"`     // pin, silence, suspend
	Seconds  *int64     `json:"seconds"`   // slow-mode
	IntoID   int64      `json:"into_id"`   // merge
	ThreadID int64      `json:"thread_id"` // move
}

// readToolForm reads a moderation form into a toolInput.
func readToolForm(c *gin.Context) (toolInput, error) {
	if err := parseForm(c); err != nil {
		return toolInput{}, err
	}
	in := toolInput{Reason: c.PostForm("reason")}
	v := map[string]string{}
	var err error
	if in.Until, err = parseTime("until", c.PostForm("until")); err != nil {
		return in, err
	}
	number := func(field, msg string) int64 {
		s := strings.TrimSpace(c.PostForm(field))
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			v[field] = msg
		}
		return n
	}
	if _, ok := c.Request.PostForm["seconds"]; ok {
		n := number("seconds", "Slow mode is a number of seconds (0 turns it off).")
		in.Seconds = &n
	}
	in.IntoID = number("into_id", "Give the number of the thread to merge into.")
	in.ThreadID = number("thread_id", "Give the number of the thread to move the post to.")
	if len(v) > 0 {
		return in, &models.ValidationError{Fields: v}
	}
	return in, nil
}

// runThreadTool applies the thread tool the route names (lock, unlock, pin,
// unpin, slow-mode, merge, unmerge) and returns the thread to show (for a
// merge, the one merged into).
func (a *App) runThreadTool(c *gin.Context, id int64, in toolInput) (*models.Thread, error) {
	ctx, mod := c.Request.Context(), currentUser(c)
	switch toolName(c) {
	case "lock", "unlock":
		return a.store.SetLocked(ctx, mod, id, toolName(c) == "lock", in.Reason)
	case "pin":
		return a.store.SetPinned(ctx, mod, id, true, in.Until, in.Reason)
	case "unpin":
		return a.store.SetPinned(ctx, mod, id, false, nil, in.Reason)
	case "slow-mode":
		if in.Seconds == nil {
			return nil, &models.ValidationError{Fields: map[string]string{"seconds": "Give the seconds between posts, 0 to turn slow mode off."}}
		}
		// Clamp before converting so that a huge number cannot wrap around
		// into the allowed range; the Store refuses what is outside.
		secs := min(max(*in.Seconds, -1), int64(models.SlowModeMax/time.Second)+1)
		return a.store.SetSlowMode(ctx, mod, id, time.Duration(secs)*time.Second, in.Reason)
	case "merge":
		if in.IntoID == 0 {
			return nil, &models.ValidationError{Fields: map[string]string{"into_id": "Choose the thread to merge into."}}
		}
		return a.store.MergeThread(ctx, mod, id, in.IntoID, in.Reason)
	case "unmerge":
		return a.store.UnmergeThread(ctx, mod, id, in.Reason)
	}
	return nil, errNotFound
}

// runPostTool applies the post tool the route names (hide, unhide, move).
func (a *App) runPostTool(c *gin.Context, id int64, in toolInput) (*models.Post, error) {
	ctx, mod := c.Request.Context(), currentUser(c)
	switch toolName(c) {
	case "hide":
		return a.store.HidePost(ctx, mod, id, in.Reason)
	case "unhide":
		return a.store.UnhidePost(ctx, mod, id, in.Reason)
	case "move":
		if in.ThreadID == 0 {
			return nil, &models.ValidationError{Fields: map[string]string{"thread_id": "Choose the thread to move the post to."}}
		}
		return a.store.MovePost(ctx, mod, id, in.ThreadID, in.Reason)
	}
	return nil, errNotFound
}

// liftSanction is the sanction "kind" that lifts a silence or suspension.
const liftSanction = "lift"

// runSanction records a sanction of kind on the user, or lifts their
// silence or suspension (kind liftSanction; the sanction is then nil).
func (a *App) runSanction(c *gin.Context, userID int64, kind string, in toolInput) (*models.Sanction, error) {
	ctx, mod := c.Request.Context(), currentUser(c)
	if kind == liftSanction {
		return nil, a.store.LiftSanctions(ctx, mod, userID, in.Reason)
	}
	return a.store.SanctionUser(ctx, mod, userID, kind, in.Reason, in.Until)
}

// toolName is the last segment of the matched route, which names the
// action of the handlers that serve several tools.
func toolName(c *gin.Context) string { return path.Base(c.FullPath()) }

// toolDone answers a moderation form: back to where the action shows, or an
// error page whose message says what to fix (the action's form is one or two
// fields, shown again by going back).
func (a *App) toolDone(c *gin.Context, err error, to, msg string) error {
	if fe := fieldErrors(err); fe != nil {
		return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)}
	}
	if err != nil {
		return err
	}
	return a.redirect(c, to, msg)
}

// flagPost records the caller's flag on a post they may read. The post is
// read first: the flag may hide it from the flagger, who is still shown
// where it was; it is returned with a refusal too, to go back to.
func (a *App) flagPost(c *gin.Context, id int64, reason, note string) (*models.Flag, *models.Post, error) {
	ctx, u := c.Request.Context(), currentUser(c)
	p, err := a.store.PostByID(ctx, id, u)
	if err != nil {
		return nil, nil, err
	}
	f, err := a.store.FlagPost(ctx, u, id, reason, note)
	if err != nil {
		return nil, p, err
	}
	f.User = u
	return f, p, nil
}

// flagForm is a refused flag: what was chosen and written, and why it was
// refused; the thread page shows it open under its post.
type flagForm struct {
	PostID       int64
	Reason, Note string
	Errors       map[string]string
	page         int // the page of the thread that shows the post
}

// flagCreate records the viewer's flag on a post. A flag refused for its
// input comes back under the post; a second flag on the same post goes
// back to it, saying so.
func (a *App) flagCreate(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	f := flagForm{PostID: id, Reason: c.PostForm("reason"), Note: c.PostForm("note")}
	_, p, err := a.flagPost(c, id, f.Reason, f.Note)
	var ce *models.ConflictError
	switch {
	case errors.As(err, &ce):
		return a.redirectToPost(c, p, ce.Message)
	case fieldErrors(err) != nil:
		f.Errors = fieldErrors(err)
		if f.page, err = a.store.PostPosition(c.Request.Context(), p); err != nil {
			return err
		}
		return a.showThread(c, http.StatusUnprocessableEntity, p.ThreadID, threadForms{flag: f})
	case err != nil:
		return err
	}
	return a.redirectToPost(c, p, "Thank you: moderators will review the post.")
}

type modQueuePage struct {
	base
	Groups  []models.FlagGroup
	Pager   pager
	Reasons []string
	Handled bool
}

// flagState reads ?state=: the open flags (the default) or the handled ones.
func flagState(c *gin.Context) (handled bool, err error) {
	switch c.Query("state") {
	case "", "open":
		return false, nil
	case "handled":
		return true, nil
	}
	return false, badRequest("state must be open or handled.")
}

// readFlagQueue reads the page of the flag queue (open or handled) that the
// query asks for; the queue page and GET /api/v1/flags show it.
func (a *App) readFlagQueue(c *gin.Context) (handled bool, groups models.Paged[models.FlagGroup], err error) {
	p, err := pageParam(c, models.FlagsPerPage)
	if err != nil {
		return false, groups, err
	}
	if handled, err = flagState(c); err != nil {
		return false, groups, err
	}
	groups, err = a.store.FlagQueue(c.Request.Context(), handled, p)
	return handled, groups, err
}

func (a *App) modQueue(c *gin.Context) error {
	handled, groups, err := a.readFlagQueue(c)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "mod_flags", &modQueuePage{base: a.base(c, "Flag queue"), Groups: groups.Items,
		Pager: newPager(c, groups.Page, groups.HasNext), Handled: handled})
}

func (a *App) modResolve(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	action := c.PostForm("action")
	_, err = a.store.ResolveFlags(c.Request.Context(), currentUser(c), id, action, c.PostForm("reason"), c.PostForm("note"))
	msg := "The flags are dismissed."
	if action == "hide" {
		msg = "The post is hidden and its flags resolved."
	}
	return a.toolDone(c, err, "/mod/flags", msg)
}

// threadToolDone says what each thread tool did.
var threadToolDone = map[string]string{
	"lock": "The thread is locked.", "unlock": "The thread is open again.", "pin": "The thread is pinned.",
	"unpin": "The thread is unpinned.", "slow-mode": "Slow mode is set.", "merge": "The thread is merged into this one.",
	"unmerge": "The thread is split out again with the posts it had.",
}

// threadTool runs a thread tool from the thread page's forms.
func (a *App) threadTool(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	in, err := readToolForm(c)
	var th *models.Thread
	if err == nil {
		th, err = a.runThreadTool(c, id, in)
	}
	if fe := fieldErrors(err); fe != nil && toolName(c) == "merge" {
		return pickRefused(c, a.showMergePicker, id, fe)
	}
	if err != nil {
		return a.toolDone(c, err, "", "")
	}
	return a.redirect(c, threadURL(th.ID), threadToolDone[toolName(c)])
}

// postToolDone says what each post tool did.
var postToolDone = map[string]string{
	"hide":   "The post is hidden; readers see a placeholder with the reason.",
	"unhide": "The post is restored.",
	"move":   "The post is moved here.",
}

// postTool hides, restores or moves the post in the path.
func (a *App) postTool(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	in, err := readToolForm(c)
	var p *models.Post
	if err == nil {
		p, err = a.runPostTool(c, id, in)
	}
	if fe := fieldErrors(err); fe != nil && toolName(c) == "move" {
		return pickRefused(c, a.showMovePicker, id, fe)
	}
	if err != nil {
		return a.toolDone(c, err, "", "")
	}
	return a.redirectToPost(c, p, postToolDone[toolName(c)])
}

type modUserPage struct {
	base
	Subject   *models.User
	Posts     []models.Post
	Pager     pager
	Flags     []models.Flag
	Sanctions []models.Sanction
	Now       time.Time
	CanAct    bool
	// The sanction and lift forms, filled in again when refused.
	Sanction, Lift sanctionForm
}

// sanctionForm is the sanction or the lift form as it was sent, and why it
// was refused.
type sanctionForm struct {
	Kind, Reason, Until string
	Next                string // where the flag queue's inline form returns
	Errors              map[string]string
	Message             string
}

// modUser shows a user's posts, the flags on them and their sanctions, with
// the sanction forms when the viewer outranks them.
func (a *App) modUser(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return a.showModUser(c, http.StatusOK, id, &modUserPage{})
}

// showModUser renders the moderators' page of user id into page, whose
// forms may carry a refused sanction or lift.
func (a *App) showModUser(c *gin.Context, status int, id int64, page *modUserPage) error {
	ctx := c.Request.Context()
	u, err := a.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	posts, err := a.readUserPosts(c, id)
	if err != nil {
		return err
	}
	if page.Flags, err = a.store.UserFlags(ctx, id); err != nil {
		return err
	}
	if page.Sanctions, err = a.store.Sanctions(ctx, id); err != nil {
		return err
	}
	page.base, page.Subject, page.Posts = a.base(c, "User "+u.Name), u, posts.Items
	page.Pager, page.Now, page.CanAct = newPager(c, posts.Page, posts.HasNext), a.now().UTC(), currentUser(c).CanSanction(u)
	return a.renderPage(c, status, "mod_user", page)
}

// modSanction warns, silences or suspends (form field kind), or lifts. A
// form refused for its input, or for a sanction in force, comes back on the
// user's page with the message beside it.
func (a *App) modSanction(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	in, err := readToolForm(c)
	f := sanctionForm{Kind: c.PostForm("kind"), Reason: c.PostForm("reason"), Until: c.PostForm("until"), Next: c.PostForm("next")}
	kind := f.Kind
	if toolName(c) == liftSanction {
		kind = liftSanction
	}
	if err == nil {
		_, err = a.runSanction(c, id, kind, in)
	}
	var ce *models.ConflictError
	status := http.StatusUnprocessableEntity
	switch {
	case fieldErrors(err) != nil:
		f.Errors = fieldErrors(err)
	case errors.As(err, &ce):
		f.Message, status = ce.Message, http.StatusConflict
	case err != nil:
		return err
	}
	if err != nil {
		page := &modUserPage{Sanction: f}
		if kind == liftSanction {
			page = &modUserPage{Lift: f}
		}
		return a.showModUser(c, status, id, page)
	}
	msg := "The " + kind + " is recorded; the user is told the reason."
	if kind == liftSanction {
		msg = "The silence or suspension is lifted."
	}
	to := "/mod/users/" + strconv.FormatInt(id, 10)
	if f.Next != "" {
		to = safeNext(f.Next) // the flag queue's inline form returns there
	}
	return a.redirect(c, to, msg)
}

type modAuditPage struct {
	base
	Entries []models.AuditEntry
	Actions []string
	Filter  models.AuditFilter
	Pager   pager
}

// auditFilter reads the audit log's filters from the query string.
func auditFilter(c *gin.Context) (models.AuditFilter, error) {
	f := models.AuditFilter{Action: c.Query("action"), TargetType: c.Query("target_type")}
	for name, dst := range map[string]*int64{"actor_id": &f.ActorID, "target_id": &f.TargetID} {
		if v := c.Query(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return f, badRequest(name + " must be a positive number.")
			}
			*dst = n
		}
	}
	return f, nil
}

// readAudit reads the page of the audit log, filtered, that the query asks
// for; the audit page and GET /api/v1/audit show it.
func (a *App) readAudit(c *gin.Context) (models.AuditFilter, models.Paged[models.AuditEntry], error) {
	f, err := auditFilter(c)
	if err != nil {
		return f, models.Paged[models.AuditEntry]{}, err
	}
	p, err := pageParam(c, models.AuditPerPage)
	if err != nil {
		return f, models.Paged[models.AuditEntry]{}, err
	}
	entries, err := a.store.ListAudit(c.Request.Context(), f, p)
	return f, entries, err
}

func (a *App) modAudit(c *gin.Context) error {
	f, entries, err := a.readAudit(c)
	if err != nil {
		return err
	}
	actions, err := a.store.AuditActions(c.Request.Context())
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "mod_audit", &modAuditPage{base: a.base(c, "Audit log"), Entries: entries.Items,
		Actions: actions, Filter: f, Pager: newPager(c, entries.Page, entries.HasNext)})
}
