package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// apiSubscribe subscribes without an account: {email, services?,
// incident_id?} or {webhook_url, email, services?} -> 202 {id, state:
// "pending"}, with the webhook's signing secret, shown this once. A
// confirmation mail goes to email.
func (a *App) apiSubscribe(c *gin.Context) error {
	var in struct {
		Email      string  `json:"email"`
		WebhookURL string  `json:"webhook_url"`
		Services   []int64 `json:"services"`
		IncidentID *int64  `json:"incident_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	sub, err := a.subscribe(c, models.NewSubscription{Email: in.Email, WebhookURL: in.WebhookURL, ServiceIDs: in.Services, IncidentID: in.IncidentID})
	if err != nil {
		return err
	}
	out := gin.H{"id": sub.ID, "state": sub.State}
	if sub.Kind == models.SubscriptionWebhook {
		out["secret"] = sub.Secret
	}
	c.Header("Cache-Control", "no-store")
	return writeJSON(c, http.StatusAccepted, out)
}

// apiSubscription is a subscription as admins see it; services is empty
// for a subscription to every service.
type apiSubscription struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Email       string     `json:"email"`
	WebhookURL  string     `json:"webhook_url"`
	Services    []int64    `json:"services"`
	IncidentID  *int64     `json:"incident_id"`
	State       string     `json:"state"`
	Failures    int        `json:"failures"`
	Deliveries  int        `json:"deliveries"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
}

func (a *App) apiSubscriptionList(c *gin.Context) error {
	p, err := pageParam(c, models.SubscriptionsPerPage)
	if err != nil {
		return err
	}
	list, err := a.store.ListSubscriptions(c.Request.Context(), p, 0)
	if err != nil {
		return err
	}
	out := make([]apiSubscription, 0, len(list.Items))
	for _, s := range list.Items {
		out = append(out, apiSubscription{ID: s.ID, Kind: s.Kind, Email: s.Email, WebhookURL: s.WebhookURL, Services: s.ServiceIDs(),
			IncidentID: s.IncidentID, State: s.State, Failures: s.Failures, Deliveries: s.Deliveries,
			CreatedAt: s.CreatedAt.UTC(), ConfirmedAt: utcPtr(s.ConfirmedAt)})
	}
	return writeJSON(c, http.StatusOK, listJSON("subscriptions", out, list))
}

type apiDelivery struct {
	ID        int64     `json:"id"`
	Event     string    `json:"event"`
	Attempt   int       `json:"attempt"`
	Status    int       `json:"status"`
	LatencyMS int       `json:"latency_ms"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
}

// apiSubscriptionDeliveries is a subscription's delivery log, newest
// first.
func (a *App) apiSubscriptionDeliveries(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := a.store.SubscriptionByID(c.Request.Context(), id); err != nil {
		return err
	}
	p, err := pageParam(c, models.DeliveriesPerPage)
	if err != nil {
		return err
	}
	list, err := a.store.Deliveries(c.Request.Context(), id, p)
	if err != nil {
		return err
	}
	out := make([]apiDelivery, 0, len(list.Items))
	for _, d := range list.Items {
		out = append(out, apiDelivery{ID: d.ID, Event: d.Event, Attempt: d.Attempt, Status: d.Status, LatencyMS: d.LatencyMS,
			Error: d.Error, CreatedAt: d.CreatedAt.UTC()})
	}
	return writeJSON(c, http.StatusOK, listJSON("deliveries", out, list))
}

func (a *App) apiSubscriptionDelete(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeleteSubscription(c.Request.Context(), currentUser(c), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
