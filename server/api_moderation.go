package main

import (
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// JSON shapes of moderation (names from the API contract). Every Store call
// runs in the request's context, which carries the request id that audit
// entries record (requestLog puts it there).

type apiFlag struct {
	ID        int64     `json:"id"`
	PostID    int64     `json:"post_id"`
	ThreadID  int64     `json:"thread_id"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
}

type apiSanction struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Kind      string     `json:"kind"`
	Reason    string     `json:"reason"`
	EndsAt    *time.Time `json:"ends_at"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

type apiAuditEntry struct {
	ID         int64     `json:"id"`
	Actor      *string   `json:"actor"` // null for the system (auto-hide, expiry)
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   int64     `json:"target_id"`
	Reason     string    `json:"reason"`
	Before     string    `json:"before"`
	After      string    `json:"after"`
	RequestID  string    `json:"request_id"`
	CreatedAt  time.Time `json:"created_at"`
}

func toAPIFlag(f *models.Flag, threadID int64) apiFlag {
	out := apiFlag{ID: f.ID, PostID: f.PostID, ThreadID: threadID, Reason: f.Reason, Note: f.Note, CreatedAt: f.CreatedAt.UTC()}
	if f.User != nil {
		out.User = f.User.Name
	}
	return out
}

// toolName is the last segment of the matched route, which names the
// action of the handlers that serve several tools.
func toolName(c *gin.Context) string { return path.Base(c.FullPath()) }

// apiFlagCreate flags a post the caller may read.
func (a *app) apiFlagCreate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	ctx, u := c.Request.Context(), currentUser(c)
	// Read first: the flag may hide the post from the flagger.
	p, err := a.store.PostByID(ctx, id, u)
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := a.store.FlagPost(ctx, u, id, in.Reason, in.Note)
	if err != nil {
		a.fail(c, err)
		return
	}
	f.User = u
	c.JSON(http.StatusCreated, toAPIFlag(f, p.ThreadID))
}

// apiFlagList is the review queue, one entry per open flag; a page holds
// the flags of up to per_page posts, oldest first.
func (a *app) apiFlagList(c *gin.Context) {
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
	out := []apiFlag{}
	for _, g := range groups.Items {
		for i := range g.Flags {
			out = append(out, toAPIFlag(&g.Flags[i], g.Thread.ID))
		}
	}
	c.JSON(http.StatusOK, gin.H{"flags": out, "page": groups.Page.Number, "has_next": groups.HasNext})
}

// apiFlagResolve dismisses every open flag on the flagged post or hides it.
func (a *app) apiFlagResolve(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	p, err := a.store.ResolveFlags(c.Request.Context(), currentUser(c), id, in.Action, in.Reason, in.Note)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.answerPost(c, p.ID)
}

// answerPost answers with a post as the moderator sees it, author loaded.
func (a *app) answerPost(c *gin.Context, id int64) {
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIPost(p))
}

// apiThreadTool is lock, unlock, pin, unpin, slow-mode and merge; the
// route's last segment says which.
func (a *app) apiThreadTool(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Reason  string     `json:"reason"`
		Until   *time.Time `json:"until"`   // pin
		Seconds *int64     `json:"seconds"` // slow-mode
		IntoID  int64      `json:"into_id"` // merge
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod := c.Request.Context(), currentUser(c)
	var th *models.Thread
	switch toolName(c) {
	case "lock", "unlock":
		th, err = a.store.SetLocked(ctx, mod, id, toolName(c) == "lock", in.Reason)
	case "pin":
		th, err = a.store.SetPinned(ctx, mod, id, true, in.Until, in.Reason)
	case "unpin":
		th, err = a.store.SetPinned(ctx, mod, id, false, nil, in.Reason)
	case "slow-mode":
		if in.Seconds == nil {
			err = &models.ValidationError{Fields: map[string]string{"seconds": "Give the seconds between posts, 0 to turn slow mode off."}}
			break
		}
		// Clamp before converting so that a huge number cannot wrap
		// around into the allowed range; the Store refuses what is outside.
		secs := min(max(*in.Seconds, -1), int64(models.SlowModeMax/time.Second)+1)
		th, err = a.store.SetSlowMode(ctx, mod, id, time.Duration(secs)*time.Second, in.Reason)
	case "merge":
		th, err = a.store.MergeThread(ctx, mod, id, in.IntoID, in.Reason)
	default:
		err = errNotFound
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIThread(th))
}

// apiPostTool is hide, unhide and move; the route's last segment says which.
func (a *app) apiPostTool(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Reason   string `json:"reason"`
		ThreadID int64  `json:"thread_id"` // move
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod := c.Request.Context(), currentUser(c)
	switch toolName(c) {
	case "hide":
		_, err = a.store.HidePost(ctx, mod, id, in.Reason)
	case "unhide":
		_, err = a.store.UnhidePost(ctx, mod, id, in.Reason)
	case "move":
		_, err = a.store.MovePost(ctx, mod, id, in.ThreadID, in.Reason)
	default:
		err = errNotFound
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.answerPost(c, id)
}

// sanctionKinds maps the user tools to the sanctions they give.
var sanctionKinds = map[string]string{
	"warn":    models.SanctionWarning,
	"silence": models.SanctionSilence,
	"suspend": models.SanctionSuspension,
}

// apiUserSanction is warn, silence, suspend and lift; the route's last
// segment says which.
func (a *app) apiUserSanction(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	var in struct {
		Reason string     `json:"reason"`
		Until  *time.Time `json:"until"`
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	ctx, mod := c.Request.Context(), currentUser(c)
	tool := toolName(c)
	if tool == "lift" {
		if err := a.store.LiftSanctions(ctx, mod, id, in.Reason); err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"lifted": true})
		return
	}
	kind, ok := sanctionKinds[tool]
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	x, err := a.store.SanctionUser(ctx, mod, id, kind, in.Reason, in.Until)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, apiSanction{ID: x.ID, UserID: x.UserID, Kind: x.Kind, Reason: x.Reason, EndsAt: utcPtr(x.EndsAt),
		CreatedBy: mod.Name, CreatedAt: x.CreatedAt.UTC()})
}

// apiAudit lists the audit log newest first; ?action=, ?actor_id=,
// ?target_type= and ?target_id= narrow it.
func (a *app) apiAudit(c *gin.Context) {
	f := models.AuditFilter{Action: c.Query("action"), TargetType: c.Query("target_type")}
	for name, dst := range map[string]*int64{"actor_id": &f.ActorID, "target_id": &f.TargetID} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			a.fail(c, badRequest(name+" must be a whole number from 1."))
			return
		}
		*dst = n
	}
	p, err := pageParam(c, 50)
	if err != nil {
		a.fail(c, err)
		return
	}
	list, err := a.store.ListAudit(c.Request.Context(), f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apiAuditEntry, 0, len(list.Items))
	for _, e := range list.Items {
		ae := apiAuditEntry{ID: e.ID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Reason: e.Reason,
			Before: e.Before, After: e.After, RequestID: e.RequestID, CreatedAt: e.CreatedAt.UTC()}
		if e.Actor != nil {
			ae.Actor = &e.Actor.Name
		}
		out = append(out, ae)
	}
	c.JSON(http.StatusOK, gin.H{"entries": out, "page": list.Page.Number, "has_next": list.HasNext})
}
