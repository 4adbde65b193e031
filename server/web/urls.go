package web

import (
	"strconv"

	"github.com/gin-gonic/gin"
)

// Addresses of the site's objects.

func threadURL(id int64) string   { return "/threads/" + strconv.FormatInt(id, 10) }
func postURL(id int64) string     { return "/posts/" + strconv.FormatInt(id, 10) }
func incidentURL(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

// absURL makes a link absolute with the configured base URL, or the
// request's host when none is configured.
func (a *App) absURL(c *gin.Context, path string) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL + path
	}
	return "http://" + c.Request.Host + path
}
