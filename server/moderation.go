package main

import (
	"fmt"
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

// formID reads a positive id from a form field; field names the input in the
// message.
func formID(c *gin.Context, field, what string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(c.PostForm(field)), 10, 64)
	if err != nil || id < 1 {
		return 0, &models.ValidationError{Fields: map[string]string{field: "Give the number of the " + what + "."}}
	}
	return id, nil
}

// toolDone answers a moderation form: back to where the action shows, or an
// error page whose message says what to fix (the action's form is one or two
// fields, shown again by going back).
func (a *app) toolDone(c *gin.Context, err error, to, msg string) {
	if fe := fieldErrors(err); fe != nil {
		a.fail(c, &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)})
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.redirect(c, to, msg)
}

// flagCreate records the viewer's flag on a post.
func (a *app) flagCreate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	_, err = a.store.FlagPost(c.Request.Context(), currentUser(c), id, c.PostForm("reason"), c.PostForm("note"))
	if err != nil {
		a.toolDone(c, err, "", "")
		return
	}
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		// Flagging may have hidden it; the author and moderators still see it.
		a.redirect(c, "/threads", "Thank you: moderators will review the post.")
		return
	}
	a.redirectToPost(c, p, "Thank you: moderators will review the post.")
}

type modQueuePage struct {
	base
	Groups  []models.FlagGroup
	Pager   pager
	Reasons []string
}

func (a *app) modQueue(c *gin.Context) {
	p, err := pageParam(c, 25)
	if err != nil {
		a.fail(c, err)
		return
	}
	groups, err := a.store.OpenFlags(c.Request.Context(), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "mod_flags", &modQueuePage{base: a.base(c, "Flag queue"), Groups: groups.Items,
		Pager: newPager(c, groups.Page, groups.HasNext)})
}

func (a *app) modResolve(c *gin.Context) {
	id, err := pathID(c, "id")
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	action := c.PostForm("action")
	_, err = a.store.ResolveFlags(c.Request.Context(), currentUser(c), id, action, c.PostForm("reason"), c.PostForm("note"))
	msg := "The flags are dismissed."
	if action == "hide" {
		msg = "The post is hidden and its flags resolved."
	}
	a.toolDone(c, err, "/mod/flags", msg)
}

// threadTool runs the thread action named by the path's last segment.
func (a *app) threadTool(c *gin.Context) {
	id, err := pathID(c, "id")
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod, reason := c.Request.Context(), currentUser(c), c.PostForm("reason")
	to, msg := threadURL(id), ""
	switch path.Base(c.FullPath()) {
	case "lock":
		_, err = a.store.SetLocked(ctx, mod, id, true, reason)
		msg = "The thread is locked."
	case "unlock":
		_, err = a.store.SetLocked(ctx, mod, id, false, reason)
		msg = "The thread is open again."
	case "pin", "unpin":
		pin := path.Base(c.FullPath()) == "pin"
		var until *time.Time
		if until, err = parseTime("until", c.PostForm("until")); err == nil {
			_, err = a.store.SetPinned(ctx, mod, id, pin, until, reason)
		}
		msg = map[bool]string{true: "The thread is pinned.", false: "The thread is unpinned."}[pin]
	case "slow-mode":
		var secs int
		if secs, err = strconv.Atoi(strings.TrimSpace(c.PostForm("seconds"))); err != nil {
			err = &models.ValidationError{Fields: map[string]string{"seconds": "Slow mode is a number of seconds (0 turns it off)."}}
		} else {
			_, err = a.store.SetSlowMode(ctx, mod, id, time.Duration(secs)*time.Second, reason)
		}
		msg = "Slow mode is set."
		if secs == 0 {
			msg = "Slow mode is off."
		}
	case "merge":
		var into int64
		if into, err = formID(c, "into_id", "thread to merge into"); err == nil {
			_, err = a.store.MergeThread(ctx, mod, id, into, reason)
		}
		to, msg = threadURL(into), fmt.Sprintf("Thread %d is merged into this one.", id)
	}
	a.toolDone(c, err, to, msg)
}

// postTool hides, restores or moves the post in the path.
func (a *app) postTool(c *gin.Context) {
	id, err := pathID(c, "id")
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod, reason := c.Request.Context(), currentUser(c), c.PostForm("reason")
	var p *models.Post
	msg := ""
	switch path.Base(c.FullPath()) {
	case "hide":
		p, err = a.store.HidePost(ctx, mod, id, reason)
		msg = "The post is hidden; readers see a placeholder with the reason."
	case "unhide":
		p, err = a.store.UnhidePost(ctx, mod, id, reason)
		msg = "The post is restored."
	case "move":
		var to int64
		if to, err = formID(c, "thread_id", "thread to move to"); err == nil {
			p, err = a.store.MovePost(ctx, mod, id, to, reason)
		}
		msg = "The post is moved here."
	}
	if err != nil {
		a.toolDone(c, err, "", "")
		return
	}
	a.redirectToPost(c, p, msg)
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
}

// modUser shows a user's posts, the flags on them and their sanctions, with
// the sanction forms when the viewer outranks them.
func (a *app) modUser(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	u, err := a.store.UserByID(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	p, err := pageParam(c, 25)
	if err != nil {
		a.fail(c, err)
		return
	}
	posts, err := a.store.UserPosts(ctx, id, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	flags, err := a.store.UserFlags(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	sanctions, err := a.store.Sanctions(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	viewer := currentUser(c)
	a.renderPage(c, http.StatusOK, "mod_user", &modUserPage{base: a.base(c, "User "+u.Name), Subject: u, Posts: posts.Items,
		Pager: newPager(c, posts.Page, posts.HasNext), Flags: flags, Sanctions: sanctions, Now: a.now().UTC(),
		CanAct: viewer.ID != u.ID && viewer.Role.Rank() > u.Role.Rank()})
}

// modSanction warns, silences or suspends (form field kind), or lifts.
func (a *app) modSanction(c *gin.Context) {
	id, err := pathID(c, "id")
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod, reason := c.Request.Context(), currentUser(c), c.PostForm("reason")
	to := "/mod/users/" + strconv.FormatInt(id, 10)
	if path.Base(c.FullPath()) == "lift" {
		a.toolDone(c, a.store.LiftSanctions(ctx, mod, id, reason), to, "The sanction is lifted.")
		return
	}
	until, err := parseTime("until", c.PostForm("until"))
	if err == nil {
		_, err = a.store.SanctionUser(ctx, mod, id, c.PostForm("kind"), reason, until)
	}
	a.toolDone(c, err, to, "The "+c.PostForm("kind")+" is recorded; the user is told the reason.")
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

func (a *app) modAudit(c *gin.Context) {
	f, err := auditFilter(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	p, err := pageParam(c, 50)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	entries, err := a.store.ListAudit(ctx, f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	actions, err := a.store.AuditActions(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "mod_audit", &modAuditPage{base: a.base(c, "Audit log"), Entries: entries.Items,
		Actions: actions, Filter: f, Pager: newPager(c, entries.Page, entries.HasNext)})
}
