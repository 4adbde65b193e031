package main

import (
	"net/http"
	"strconv"
	"strings"

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
func (a *app) showUsers(c *gin.Context, status int, msg string) {
	p, err := pageParam(c, 50)
	if err != nil {
		a.fail(c, err)
		return
	}
	f := models.UserFilter{Query: c.Query("q"), Role: models.Role(c.Query("role"))}
	if f.Role != "" && !f.Role.Valid() {
		a.fail(c, badRequest("Unknown role filter."))
		return
	}
	users, err := a.store.ListUsers(c.Request.Context(), f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, status, "admin_users", &adminUsersPage{
		base: a.base(c, "Users and roles"), Users: users.Items, Roles: models.Roles,
		Query: f.Query, RoleFilter: f.Role, Pager: newPager(c, users.Page, users.HasNext), Error: msg,
	})
}

func (a *app) adminUsers(c *gin.Context) { a.showUsers(c, http.StatusOK, "") }

// adminUserRole changes a user's role; the Store enforces "not your own" and
// "never the last admin" and revokes the user's sessions and tokens.
func (a *app) adminUserRole(c *gin.Context) {
	id, err := idAndForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	u, err := a.store.ChangeRole(c.Request.Context(), currentUser(c), id, models.Role(c.PostForm("role")))
	if fields := fieldErrors(err); fields != nil {
		a.showUsers(c, http.StatusUnprocessableEntity, fields["role"])
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.redirect(c, "/admin/users", u.Name+" is now "+string(u.Role)+"; their sessions and tokens were revoked.")
}

type adminServicesPage struct {
	base
	Services []models.Service
	Form     serviceForm
}

type serviceForm struct {
	ID                       int64 // 0 for a new service
	Name, Description, Group string
	Position                 int
	Errors                   map[string]string
}

func (a *app) showServices(c *gin.Context, status int, f serviceForm) {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, status, "admin_services", &adminServicesPage{base: a.base(c, "Services"), Services: services, Form: f})
}

func (a *app) adminServices(c *gin.Context) { a.showServices(c, http.StatusOK, serviceForm{}) }

// adminServiceSave adds a service to the catalogue, or changes the one in
// the path.
func (a *app) adminServiceSave(c *gin.Context) {
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c, "id"); err != nil {
			a.fail(c, err)
			return
		}
	}
	if err := parseForm(c); err != nil {
		a.fail(c, err)
		return
	}
	f := serviceForm{ID: id, Name: c.PostForm("name"), Description: c.PostForm("description"), Group: c.PostForm("group")}
	if v := strings.TrimSpace(c.PostForm("position")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Errors = map[string]string{"position": "Position is a whole number."}
			a.showServices(c, http.StatusUnprocessableEntity, f)
			return
		}
		f.Position = n
	}
	in := models.NewService{Name: f.Name, Description: f.Description, Group: f.Group, Position: f.Position}
	var svc *models.Service
	var err error
	if id == 0 {
		svc, err = a.store.CreateService(c.Request.Context(), currentUser(c), in)
	} else {
		svc, err = a.store.UpdateService(c.Request.Context(), currentUser(c), id, in)
	}
	if fe := fieldErrors(err); fe != nil {
		f.Errors = fe
		a.showServices(c, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	msg := svc.Name + " is added to the catalogue."
	if id != 0 {
		msg = svc.Name + " is saved."
	}
	a.redirect(c, "/admin/services", msg)
}
