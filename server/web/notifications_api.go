package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// apiNotification is a notification in JSON (names from the API contract).
type apiNotification struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	ThreadID   *int64    `json:"thread_id"`
	PostID     *int64    `json:"post_id"`
	IncidentID *int64    `json:"incident_id"`
	Actor      *string   `json:"actor"`
	Count      int       `json:"count"`
	Text       string    `json:"text"`
	URL        string    `json:"url"`
	Read       bool      `json:"read"`
	CreatedAt  time.Time `json:"created_at"`
}

func toAPINotification(n *models.Notification) apiNotification {
	out := apiNotification{ID: n.ID, Kind: n.Kind, ThreadID: n.ThreadID, PostID: n.PostID, IncidentID: n.IncidentID,
		Count: n.Count, Text: n.Text(), URL: n.URL(), Read: n.ReadAt != nil, CreatedAt: n.UpdatedAt.UTC()}
	if n.Actor != nil {
		out.Actor = &n.Actor.Name
	}
	return out
}

func (a *App) apiNotificationList(c *gin.Context) error {
	list, err := a.readNotifications(c)
	if err != nil {
		return err
	}
	out := make([]apiNotification, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, toAPINotification(&list.Items[i]))
	}
	u := currentUser(c)
	unread, err := a.store.UnreadCounts(c.Request.Context(), u.ID)
	if err != nil {
		return err
	}
	h := listJSON("notifications", out, list)
	h["unread"] = unread[u.ID]
	return writeJSON(c, http.StatusOK, h)
}

// apiNotificationsRead marks {ids: [...]} or {all: true} read.
func (a *App) apiNotificationsRead(c *gin.Context) error {
	var in struct {
		IDs []int64 `json:"ids"`
		All bool    `json:"all"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !in.All && len(in.IDs) == 0 {
		return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "Send {\"ids\": [...]} or {\"all\": true}."}
	}
	if len(in.IDs) > models.MaxPerPage {
		return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "Mark at most 100 notifications at once, or all."}
	}
	unread, err := a.store.MarkNotificationsRead(c.Request.Context(), currentUser(c).ID, in.IDs, in.All)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, gin.H{"unread": unread})
}
