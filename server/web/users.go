package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type adminUsersPage struct {
	base
	Users      []models.User
	Roles      []models.Role
	Query      string
	RoleFilter models.Role
	Pager      pager
	Error      string
}

// showUsers renders the user list for the current query.
func (a *App) showUsers(c *gin.Context, status int, msg string) error {
	p, err := pageParam(c, models.UsersPerPage)
	if err != nil {
		return err
	}
	f := models.UserFilter{Query: c.Query("q"), Role: models.Role(c.Query("role"))}
	if f.Role != "" && !f.Role.Valid() {
		return badRequest("Unknown role filter.")
	}
	users, err := a.store.ListUsers(c.Request.Context(), f, p)
	if err != nil {
		return err
	}
	return a.renderPage(c, status, "admin_users", &adminUsersPage{
		base: a.base(c, "Users and roles"), Users: users.Items, Roles: models.Roles,
		Query: f.Query, RoleFilter: f.Role, Pager: newPager(c, users.Page, users.HasNext), Error: msg,
	})
}

func (a *App) adminUsers(c *gin.Context) error { return a.showUsers(c, http.StatusOK, "") }

// adminUserRole changes a user's role; the Store enforces "not your own" and
// "never the last admin" and revokes the user's sessions and tokens.
func (a *App) adminUserRole(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	u, err := a.store.ChangeRole(c.Request.Context(), currentUser(c), id, models.Role(c.PostForm("role")))
	if fields := fieldErrors(err); fields != nil {
		return a.showUsers(c, http.StatusUnprocessableEntity, fields["role"])
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/admin/users", u.Name+" is now "+string(u.Role)+"; their sessions and tokens were revoked.")
}
