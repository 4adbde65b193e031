package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// JSON shapes of moderation (names from the API contract). Every Store call
// runs in the request's context, which carries the request id that audit
// entries record (requestLog puts it there).

type apiFlag struct {
	ID           int64      `json:"id"`
	PostID       int64      `json:"post_id"`
	PostAuthorID int64      `json:"post_author_id"`
	ThreadID     int64      `json:"thread_id"`
	Reason       string     `json:"reason"`
	Note         string     `json:"note"`
	User         string     `json:"user"`
	UserID       int64      `json:"user_id"`
	State        string     `json:"state"`
	HandledBy    string     `json:"handled_by,omitempty"`
	HandledAt    *time.Time `json:"handled_at"`
	PrivateNote  string     `json:"private_note,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
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
	TargetName string    `json:"target_name"` // the user's name, the thread's title...; "" when gone
	Reason     string    `json:"reason"`
	Before     string    `json:"before"`
	After      string    `json:"after"`
	RequestID  string    `json:"request_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// toAPIFlag is a flag on post p for moderators (private note included).
func toAPIFlag(f *models.Flag, p *models.Post) apiFlag {
	out := apiFlag{ID: f.ID, PostID: f.PostID, PostAuthorID: p.AuthorID, ThreadID: p.ThreadID, Reason: f.Reason, Note: f.Note,
		UserID: f.UserID, State: f.State, HandledAt: utcPtr(f.HandledAt), PrivateNote: f.PrivateNote, CreatedAt: f.CreatedAt.UTC()}
	if f.User != nil {
		out.User = f.User.Name
	}
	if f.HandledBy != nil {
		out.HandledBy = f.HandledBy.Name
	}
	return out
}

// apiFlagCreate flags a post the caller may read.
func (a *App) apiFlagCreate(c *gin.Context) error {
	var in struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	f, p, err := a.flagPost(c, id, in.Reason, in.Note)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, toAPIFlag(f, p))
}

// apiFlagList is the review queue, one entry per open flag; a page holds
// the flags of up to per_page posts, oldest first.
func (a *App) apiFlagList(c *gin.Context) error {
	_, groups, err := a.readFlagQueue(c)
	if err != nil {
		return err
	}
	out := []apiFlag{}
	for _, g := range groups.Items {
		for i := range g.Flags {
			out = append(out, toAPIFlag(&g.Flags[i], &g.Post))
		}
	}
	return writeJSON(c, http.StatusOK, legacyListJSON("flags", out, groups))
}

// apiFlagResolve dismisses every open flag on the flagged post or hides it.
func (a *App) apiFlagResolve(c *gin.Context) error {
	var in struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	p, err := a.store.ResolveFlags(c.Request.Context(), currentUser(c), id, in.Action, in.Reason, in.Note)
	if err != nil {
		return err
	}
	return a.answerPost(c, p.ID)
}

// apiThreadTool is lock, unlock, pin, unpin, slow-mode and merge; the
// route's last segment says which.
func (a *App) apiThreadTool(c *gin.Context) error {
	var in toolInput
	id, err := idAndJSON(c, &in)
	var th *models.Thread
	if err == nil {
		th, err = a.runThreadTool(c, id, in)
	}
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, toAPIThread(th))
}

// apiPostTool is hide, unhide and move; the route's last segment says which.
func (a *App) apiPostTool(c *gin.Context) error {
	var in toolInput
	id, err := idAndJSON(c, &in)
	if err == nil {
		_, err = a.runPostTool(c, id, in)
	}
	if err != nil {
		return err
	}
	return a.answerPost(c, id)
}

// sanctionKinds maps the user tools to the sanctions they give.
var sanctionKinds = map[string]string{
	"warn":    models.SanctionWarning,
	"silence": models.SanctionSilence,
	"suspend": models.SanctionSuspension,
	"lift":    liftSanction,
}

// apiUserSanction is warn, silence, suspend and lift; the route's last
// segment says which.
func (a *App) apiUserSanction(c *gin.Context) error {
	var in toolInput
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	kind, ok := sanctionKinds[toolName(c)]
	if !ok {
		return errNotFound
	}
	x, err := a.runSanction(c, id, kind, in)
	if err != nil {
		return err
	}
	if x == nil {
		return writeJSON(c, http.StatusOK, gin.H{"lifted": true})
	}
	mod := currentUser(c)
	return writeJSON(c, http.StatusCreated, apiSanction{ID: x.ID, UserID: x.UserID, Kind: x.Kind, Reason: x.Reason, EndsAt: utcPtr(x.EndsAt),
		CreatedBy: mod.Name, CreatedAt: x.CreatedAt.UTC()})
}

// apiAudit lists the audit log newest first; ?action=, ?actor_id=,
// ?target_type= and ?target_id= narrow it.
func (a *App) apiAudit(c *gin.Context) error {
	_, list, err := a.readAudit(c)
	if err != nil {
		return err
	}
	out := make([]apiAuditEntry, 0, len(list.Items))
	for _, e := range list.Items {
		ae := apiAuditEntry{ID: e.ID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, Reason: e.Reason,
			Before: e.Before, After: e.After, RequestID: e.RequestID, CreatedAt: e.CreatedAt.UTC()}
		if e.Actor != nil {
			ae.Actor = &e.Actor.Name
		}
		out = append(out, ae)
	}
	return writeJSON(c, http.StatusOK, legacyListJSON("entries", out, list))
}
