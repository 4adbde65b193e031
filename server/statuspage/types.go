// Package statuspage speaks Atlassian Statuspage's public API (/api/v2):
// every object has exactly the fields, types and value sets Statuspage
// serves, so that existing widgets, bots and aggregators read Sitrep
// unchanged. Sitrep-only data (next update times, affected counts) is left
// out on purpose. The documents are the same for everyone (hidden posts are
// left out for all), so they are cacheable by anyone and open to every
// origin.
//
// The package builds documents from a models.StatusSnapshot; the web
// application mounts Routes and writes them. Statuspage's webhook payloads
// (webhook.go) are built from the same shapes, for the notify package.
package statuspage

import (
	"sitrep/models"
)

// PageInfo is the page object every document starts with.
type PageInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

// Status is the overall indicator and its sentence.
type Status struct {
	Indicator   models.Indicator `json:"indicator"`
	Description string           `json:"description"`
}

// Component is a service, or a group of services (Group true).
type Component struct {
	ID                 string                 `json:"id"`
	Name               string                 `json:"name"`
	Status             models.ComponentStatus `json:"status"`
	CreatedAt          string                 `json:"created_at"`
	UpdatedAt          string                 `json:"updated_at"`
	Position           int                    `json:"position"`
	Description        *string                `json:"description"`
	Showcase           bool                   `json:"showcase"`
	StartDate          *string                `json:"start_date"`
	GroupID            *string                `json:"group_id"`
	PageID             string                 `json:"page_id"`
	Group              bool                   `json:"group"`
	OnlyShowIfDegraded bool                   `json:"only_show_if_degraded"`
	// Components lists a group's members; only groups have it.
	Components []string `json:"components,omitempty"`
}

// AffectedComponent is one service's change of status in an update.
type AffectedComponent struct {
	Code      string                 `json:"code"`
	Name      string                 `json:"name"`
	OldStatus models.ComponentStatus `json:"old_status"`
	NewStatus models.ComponentStatus `json:"new_status"`
}

// Update is an official update, its body in plain text.
type Update struct {
	ID                   string              `json:"id"`
	Status               string              `json:"status"`
	Body                 string              `json:"body"`
	IncidentID           string              `json:"incident_id"`
	CreatedAt            string              `json:"created_at"`
	UpdatedAt            string              `json:"updated_at"`
	DisplayAt            string              `json:"display_at"`
	AffectedComponents   []AffectedComponent `json:"affected_components"`
	DeliverNotifications bool                `json:"deliver_notifications"`
	CustomTweet          *string             `json:"custom_tweet"`
	TweetID              *string             `json:"tweet_id"`
}

// Incident is an incident with its updates, newest first.
type Incident struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	CreatedAt       string      `json:"created_at"`
	UpdatedAt       string      `json:"updated_at"`
	MonitoringAt    *string     `json:"monitoring_at"`
	ResolvedAt      *string     `json:"resolved_at"`
	Impact          string      `json:"impact"`
	Shortlink       string      `json:"shortlink"`
	StartedAt       string      `json:"started_at"`
	PageID          string      `json:"page_id"`
	IncidentUpdates []Update    `json:"incident_updates"`
	Components      []Component `json:"components"`
}

// Maintenance is a scheduled maintenance: an incident with its window.
type Maintenance struct {
	Incident
	ScheduledFor   *string `json:"scheduled_for"`
	ScheduledUntil *string `json:"scheduled_until"`
}

// SummaryDoc is summary.json.
type SummaryDoc struct {
	Page                  PageInfo      `json:"page"`
	Components            []Component   `json:"components"`
	Incidents             []Incident    `json:"incidents"`
	ScheduledMaintenances []Maintenance `json:"scheduled_maintenances"`
	Status                Status        `json:"status"`
}

// StatusDoc is status.json.
type StatusDoc struct {
	Page   PageInfo `json:"page"`
	Status Status   `json:"status"`
}

// ComponentsDoc is components.json.
type ComponentsDoc struct {
	Page       PageInfo    `json:"page"`
	Components []Component `json:"components"`
}

// IncidentsDoc is incidents.json and incidents/unresolved.json.
type IncidentsDoc struct {
	Page      PageInfo   `json:"page"`
	Incidents []Incident `json:"incidents"`
}

// MaintenancesDoc is scheduled-maintenances.json and its upcoming and
// active variants.
type MaintenancesDoc struct {
	Page                  PageInfo      `json:"page"`
	ScheduledMaintenances []Maintenance `json:"scheduled_maintenances"`
}
