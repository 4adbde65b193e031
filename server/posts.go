package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// postShow redirects to the post in its thread.
func (a *app) postShow(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	p, err := a.store.PostByID(c.Request.Context(), id, currentUser(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	a.redirectToPost(c, p, "")
}

type postEditPage struct {
	base
	Post   *models.Post
	Thread *models.Thread
	Form   postForm
}

// editablePost loads a post the current user may edit.
func (a *app) editablePost(c *gin.Context) (*models.Post, *models.Thread, error) {
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

func (a *app) postEdit(c *gin.Context) {
	p, th, err := a.editablePost(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "post_edit", &postEditPage{base: a.base(c, "Edit post"), Post: p, Thread: th, Form: postForm{Body: p.Source}})
}

func (a *app) postUpdate(c *gin.Context) {
	p, th, err := a.editablePost(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	f, preview, err := readPostForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	page := &postEditPage{base: a.base(c, "Edit post"), Post: p, Thread: th, Form: f}
	if preview {
		a.renderPage(c, f.previewStatus(), "post_edit", page)
		return
	}
	updated, err := a.store.EditPost(c.Request.Context(), currentUser(c), p.ID, f.Body)
	if status, ok := page.Form.refuse(err); ok {
		a.renderPage(c, status, "post_edit", page)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.redirectToPost(c, updated, "Your changes are saved; the earlier text is kept in the post's history.")
}

type postRevisionsPage struct {
	base
	Post      *models.Post
	Thread    *models.Thread
	Revisions []models.PostRevision
	Pager     pager
}

func (a *app) postRevisions(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	pg, err := pageParam(c, models.RevisionsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	p, revs, err := a.store.PostRevisions(c.Request.Context(), id, currentUser(c), pg)
	if err != nil {
		a.fail(c, err)
		return
	}
	th, err := a.store.ThreadByID(c.Request.Context(), p.ThreadID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "post_revisions", &postRevisionsPage{base: a.base(c, "History of a post in "+th.Title), Post: p, Thread: th,
		Revisions: revs.Items, Pager: newPager(c, revs.Page, revs.HasNext)})
}
