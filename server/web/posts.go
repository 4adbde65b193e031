package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// postShow redirects to the post in its thread.
func (a *App) postShow(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		return err
	}
	return a.redirectToPost(c, p, "")
}

type postEditPage struct {
	base
	Post   *models.Post
	Thread *models.Thread
	Form   postForm
}

// editablePost loads a post the current user may edit.
func (a *App) editablePost(c *gin.Context) (*models.Post, *models.Thread, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	u := currentUser(c)
	p, err := a.store.PostByID(c.Request.Context(), id, u)
	if err != nil {
		return nil, nil, err
	}
	if !p.CanEdit(u) {
		return nil, nil, errForbidden
	}
	th, err := a.store.ThreadByID(c.Request.Context(), p.ThreadID)
	return p, th, err
}

func (a *App) postEdit(c *gin.Context) error {
	p, th, err := a.editablePost(c)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "post_edit", &postEditPage{base: a.base(c, "Edit post"), Post: p, Thread: th, Form: postForm{Body: p.Source}})
}

func (a *App) postUpdate(c *gin.Context) error {
	p, th, err := a.editablePost(c)
	if err != nil {
		return err
	}
	f, preview, err := a.readPostForm(c)
	if err != nil {
		return err
	}
	page := &postEditPage{base: a.base(c, "Edit post"), Post: p, Thread: th, Form: f}
	if preview {
		return a.renderPage(c, f.previewStatus(), "post_edit", page)
	}
	updated, err := a.store.EditPost(c.Request.Context(), currentUser(c), p.ID, f.Body)
	if status, ok := page.Form.refuse(err); ok {
		return a.renderPage(c, status, "post_edit", page)
	}
	if err != nil {
		return err
	}
	return a.redirectToPost(c, updated, "Your changes are saved; the earlier text is kept in the post's history.")
}

type postRevisionsPage struct {
	base
	Post      *models.Post
	Thread    *models.Thread
	Revisions []models.PostRevision
	Pager     pager
}

// readRevisions reads the post in the path and the page of its history the
// query asks for; the history page and the API show it.
func (a *App) readRevisions(c *gin.Context) (*models.Post, models.Paged[models.PostRevision], error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, models.Paged[models.PostRevision]{}, err
	}
	pg, err := pageParam(c, models.RevisionsPerPage)
	if err != nil {
		return nil, models.Paged[models.PostRevision]{}, err
	}
	return a.store.PostRevisions(c.Request.Context(), id, currentUser(c), pg)
}

func (a *App) postRevisions(c *gin.Context) error {
	p, revs, err := a.readRevisions(c)
	if err != nil {
		return err
	}
	th, err := a.store.ThreadByID(c.Request.Context(), p.ThreadID)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "post_revisions", &postRevisionsPage{base: a.base(c, "History of a post in "+th.Title), Post: p, Thread: th,
		Revisions: revs.Items, Pager: newPager(c, revs.Page, revs.HasNext)})
}
