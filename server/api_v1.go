package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
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

func (a *app) apiMe(c *gin.Context) {
	c.JSON(http.StatusOK, toAPIUser(currentUser(c)))
}

// apiMeUpdate changes the caller's email; the body's other fields are ignored.
func (a *app) apiMeUpdate(c *gin.Context) {
	var in struct {
		Email *string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	u := currentUser(c)
	if in.Email != nil {
		if err := a.store.UpdateEmail(c.Request.Context(), u.ID, *in.Email); err != nil {
			a.fail(c, err)
			return
		}
	}
	fresh, err := a.store.UserByID(c.Request.Context(), u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIUser(fresh))
}
