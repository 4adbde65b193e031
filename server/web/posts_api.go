package web

import (
	"html/template"
	"net/http"
	"time"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

// JSON shapes of posts and their history.

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

func toAPIPost(p *models.Post) apiPost {
	out := apiPost{ID: p.ID, ThreadID: p.ThreadID, AuthorID: p.AuthorID, Official: p.Official, Body: p.Source, BodyHTML: p.HTML,
		CreatedAt: p.CreatedAt.UTC(), EditedAt: utcPtr(p.EditedAt), Hidden: p.HiddenAt != nil, URL: postURL(p.ID), Role: p.AuthorRole}
	if p.Author != nil {
		out.Author = p.Author.Name
	}
	return out
}

func (a *App) apiPostUpdate(c *gin.Context) error {
	var in apiBody
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	if _, err := a.store.EditPost(c.Request.Context(), currentUser(c), id, in.Body); err != nil {
		return err
	}
	return a.answerPost(c, id)
}

func (a *App) apiPostRevisions(c *gin.Context) error {
	_, revs, err := a.readRevisions(c)
	if err != nil {
		return err
	}
	out := make([]apiRevision, 0, len(revs.Items))
	for _, r := range revs.Items {
		out = append(out, apiRevision{ID: r.ID, Editor: r.Editor.Name, Body: r.Source, BodyHTML: r.HTML, CreatedAt: r.CreatedAt.UTC()})
	}
	return writeJSON(c, http.StatusOK, legacyListJSON("revisions", out, revs))
}

// answerPost answers with a post as the caller sees it, author loaded.
func (a *App) answerPost(c *gin.Context, id int64) error {
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, toAPIPost(p))
}
