package statuspage

import (
	"strconv"
	"time"

	"sitrep/models"
)

// Statuspage's webhook payloads: meta (how to unsubscribe, where the format
// is documented, when it was made), the page's overall status, then the
// incident as /api/v2 shows it, or a component and its update. Tools that
// read Statuspage's webhooks read these unchanged.

// WebhookMeta is the payload's meta object. Unsubscribe is the receiver's
// own link, set for each delivery.
type WebhookMeta struct {
	Unsubscribe   string `json:"unsubscribe"`
	Documentation string `json:"documentation"`
	GeneratedAt   string `json:"generated_at"`
}

// WebhookPage is the page object of a payload: its id and overall status.
type WebhookPage struct {
	ID                string           `json:"id"`
	StatusIndicator   models.Indicator `json:"status_indicator"`
	StatusDescription string           `json:"status_description"`
}

// IncidentWebhook announces an incident, as /api/v2's incidents show it.
type IncidentWebhook struct {
	Meta     WebhookMeta `json:"meta"`
	Page     WebhookPage `json:"page"`
	Incident Incident    `json:"incident"`
}

// MaintenanceWebhook announces a maintenance, as /api/v2's scheduled
// maintenances show it (with its window).
type MaintenanceWebhook struct {
	Meta     WebhookMeta `json:"meta"`
	Page     WebhookPage `json:"page"`
	Incident Maintenance `json:"incident"`
}

// ComponentUpdate is one service's change of status.
type ComponentUpdate struct {
	OldStatus     models.ComponentStatus `json:"old_status"`
	NewStatus     models.ComponentStatus `json:"new_status"`
	CreatedAt     string                 `json:"created_at"`
	ComponentType string                 `json:"component_type"`
	ID            string                 `json:"id"`
	ComponentID   string                 `json:"component_id"`
}

// ComponentWebhook announces a service's change of status, with the
// service as /api/v2's components show it.
type ComponentWebhook struct {
	Meta            WebhookMeta     `json:"meta"`
	Page            WebhookPage     `json:"page"`
	Component       Component       `json:"component"`
	ComponentUpdate ComponentUpdate `json:"component_update"`
}

// WebhookPayload reads any of the payloads (an incident's with or without a
// maintenance window, or a component's): what a receiver decodes into.
type WebhookPayload struct {
	Meta            WebhookMeta      `json:"meta"`
	Page            WebhookPage      `json:"page"`
	Incident        *Maintenance     `json:"incident,omitempty"`
	Component       *Component       `json:"component,omitempty"`
	ComponentUpdate *ComponentUpdate `json:"component_update,omitempty"`
}

// DocumentationPath is where the site explains its webhooks.
const DocumentationPath = "/subscribe#webhooks"

func (st *state) webhookMeta(at time.Time) (WebhookMeta, WebhookPage) {
	return WebhookMeta{Documentation: st.root + DocumentationPath, GeneratedAt: stamp(at)},
		WebhookPage{ID: st.page.ID, StatusIndicator: st.status.Indicator, StatusDescription: st.status.Description}
}

// IncidentWebhook builds the payload announcing inc with the given official
// updates (newest first), the page's status and components as snap holds
// them; an IncidentWebhook or, for maintenance, a MaintenanceWebhook.
func (s Site) IncidentWebhook(snap *models.StatusSnapshot, root string, inc *models.Incident, updates []models.IncidentUpdate, at time.Time) any {
	st := s.newState(snap, root)
	meta, page := st.webhookMeta(at)
	m := st.maintenanceWith(inc, updates)
	if inc.Kind == models.KindMaintenance {
		return MaintenanceWebhook{Meta: meta, Page: page, Incident: m}
	}
	return IncidentWebhook{Meta: meta, Page: page, Incident: m.Incident}
}

// ComponentWebhook builds the payload announcing one service's change of
// status in update u; false when the service is not in the catalogue.
func (s Site) ComponentWebhook(snap *models.StatusSnapshot, root string, u *models.IncidentUpdate, tr models.UpdateTransition, at time.Time) (ComponentWebhook, bool) {
	st := s.newState(snap, root)
	c, ok := st.byService[tr.ServiceID]
	if !ok {
		return ComponentWebhook{}, false
	}
	meta, page := st.webhookMeta(at)
	return ComponentWebhook{Meta: meta, Page: page, Component: c, ComponentUpdate: ComponentUpdate{
		OldStatus: tr.OldStatus, NewStatus: tr.NewStatus, CreatedAt: stamp(u.CreatedAt), ComponentType: "Component",
		ID: strconv.FormatInt(u.ID, 10) + "-" + c.ID, ComponentID: c.ID,
	}}, true
}
