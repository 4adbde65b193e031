package web

import (
	"net/http"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

// apiUser is the JSON shape of the caller's own account.
type apiUser struct {
	ID    int64       `json:"id"`
	Name  string      `json:"name"`
	Role  models.Role `json:"role"`
	Email string      `json:"email"`
}

func toAPIUser(u *models.User) apiUser {
	return apiUser{ID: u.ID, Name: u.Name, Role: u.Role, Email: u.Email}
}

func (a *App) apiMe(c *gin.Context) error {
	return writeJSON(c, http.StatusOK, toAPIUser(currentUser(c)))
}

// apiMeUpdate changes the caller's email; the body's other fields are ignored.
func (a *App) apiMeUpdate(c *gin.Context) error {
	var in struct {
		Email *string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u := currentUser(c)
	if in.Email != nil {
		if err := a.store.UpdateEmail(c.Request.Context(), u.ID, *in.Email); err != nil {
			return err
		}
	}
	fresh, err := a.store.UserByID(c.Request.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, toAPIUser(fresh))
}
