package web

import (
	"net/http"
	"strconv"
	"strings"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

// The services catalogue, for admins.

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

func (a *App) showServices(c *gin.Context, status int, f serviceForm) error {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return err
	}
	return a.renderPage(c, status, "admin_services", &adminServicesPage{base: a.base(c, "Services"), Services: services, Form: f})
}

func (a *App) adminServices(c *gin.Context) error {
	return a.showServices(c, http.StatusOK, serviceForm{})
}

// adminServiceSave adds a service to the catalogue, or changes the one in
// the path.
func (a *App) adminServiceSave(c *gin.Context) error {
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c, "id"); err != nil {
			return err
		}
	}
	if err := parseForm(c); err != nil {
		return err
	}
	f := serviceForm{ID: id, Name: c.PostForm("name"), Description: c.PostForm("description"), Group: c.PostForm("group")}
	if v := strings.TrimSpace(c.PostForm("position")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Errors = map[string]string{"position": "Position is a whole number."}
			return a.showServices(c, http.StatusUnprocessableEntity, f)
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
		return a.showServices(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	msg := svc.Name + " is added to the catalogue."
	if id != 0 {
		msg = svc.Name + " is saved."
	}
	return a.redirect(c, "/admin/services", msg)
}
