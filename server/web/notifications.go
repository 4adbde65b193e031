package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

type notificationsPage struct {
	base
	Notifications []models.Notification
	Pager         pager
}

// readNotifications reads the page of the caller's notifications that the
// query asks for; the page and GET /api/v1/notifications show it.
func (a *App) readNotifications(c *gin.Context) (models.Paged[models.Notification], error) {
	p, err := pageParam(c, models.NotificationsPerPage)
	if err != nil {
		return models.Paged[models.Notification]{}, err
	}
	return a.store.Notifications(c.Request.Context(), currentUser(c).ID, p)
}

func (a *App) notificationList(c *gin.Context) error {
	list, err := a.readNotifications(c)
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "notifications", &notificationsPage{base: a.base(c, "Notifications"),
		Notifications: list.Items, Pager: newPager(c, list.Page, list.HasNext)})
}

// notificationsRead marks the notifications named in the form (id=...)
// read, or all of them (all=1).
func (a *App) notificationsRead(c *gin.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	var ids []int64
	for _, v := range c.Request.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return badRequest("Unknown notification.")
		}
		ids = append(ids, id)
	}
	all := c.PostForm("all") == "1"
	if _, err := a.store.MarkNotificationsRead(c.Request.Context(), currentUser(c).ID, ids, all); err != nil {
		return err
	}
	if to := c.PostForm("next"); to != "" {
		return a.redirect(c, safeNext(to), "")
	}
	return a.redirect(c, "/notifications", "Marked as read.")
}
