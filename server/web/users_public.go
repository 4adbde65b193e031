package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type userShowPage struct {
	base
	Subject *models.User
	Posts   []models.Post
	Pager   pager
}

// userShow is a person's public page: their name, their role's badge, when
// they joined, and their posts as the viewer may read them. Mentions of
// them link here.
func (a *App) userShow(c *gin.Context) error {
	u, err := a.store.UserByName(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
	}
	posts, err := a.readUserPosts(c, u.ID)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "user_show", &userShowPage{base: a.base(c, u.Name), Subject: u, Posts: posts.Items,
		Pager: newPager(c, posts.Page, posts.HasNext)})
}
