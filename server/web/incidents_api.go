package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// JSON shapes of services and incidents (names from the API contract).

type apiIncidentService struct {
	ID     int64                  `json:"id"`
	Name   string                 `json:"name"`
	Status models.ComponentStatus `json:"status"`
}

type apiTransition struct {
	ServiceID int64                  `json:"service_id"`
	Name      string                 `json:"name"`
	OldStatus models.ComponentStatus `json:"old_status"`
	NewStatus models.ComponentStatus `json:"new_status"`
}

type apiUpdate struct {
	ID           int64           `json:"id"`
	IncidentID   int64           `json:"incident_id"`
	PostID       int64           `json:"post_id"`
	Status       string          `json:"status"`
	Body         string          `json:"body"`
	BodyHTML     template.HTML   `json:"body_html"`
	Author       string          `json:"author"`
	CreatedAt    time.Time       `json:"created_at"`
	EditedAt     *time.Time      `json:"edited_at"`
	NextUpdateAt *time.Time      `json:"next_update_at"`
	Transitions  []apiTransition `json:"transitions"`
}

type apiIncident struct {
	ID             int64                `json:"id"`
	Kind           models.Kind          `json:"kind"`
	Title          string               `json:"title"`
	Status         string               `json:"status"`
	Impact         string               `json:"impact"`
	ThreadID       int64                `json:"thread_id"`
	AffectedCount  int                  `json:"affected_count"`
	StartedAt      time.Time            `json:"started_at"`
	MonitoringAt   *time.Time           `json:"monitoring_at"`
	ResolvedAt     *time.Time           `json:"resolved_at"`
	NextUpdateAt   *time.Time           `json:"next_update_at"`
	ScheduledFor   *time.Time           `json:"scheduled_for,omitempty"`
	ScheduledUntil *time.Time           `json:"scheduled_until,omitempty"`
	CancelledAt    *time.Time           `json:"cancelled_at,omitempty"`
	Postmortem     string               `json:"postmortem,omitempty"`
	PostmortemHTML template.HTML        `json:"postmortem_html,omitempty"`
	URL            string               `json:"url"`
	Services       []apiIncidentService `json:"services"`
}

// apiIncidentDetail is one incident in full; lists leave these out.
type apiIncidentDetail struct {
	apiIncident
	Updates       []apiUpdate `json:"updates"`
	LinkedThreads []apiThread `json:"linked_threads"`
}

func toAPIUpdate(u *models.IncidentUpdate) apiUpdate {
	out := apiUpdate{ID: u.ID, IncidentID: u.IncidentID, PostID: u.PostID, Status: u.Status, CreatedAt: u.CreatedAt.UTC(),
		NextUpdateAt: utcPtr(u.NextUpdateAt), Transitions: []apiTransition{}}
	if p := u.Post; p != nil {
		out.Body, out.BodyHTML, out.EditedAt = p.Source, p.HTML, utcPtr(p.EditedAt)
		if p.Author != nil {
			out.Author = p.Author.Name
		}
	}
	for _, t := range u.Transitions {
		at := apiTransition{ServiceID: t.ServiceID, OldStatus: t.OldStatus, NewStatus: t.NewStatus}
		if t.Service != nil {
			at.Name = t.Service.Name
		}
		out.Transitions = append(out.Transitions, at)
	}
	return out
}

func toAPIIncident(inc *models.Incident, affected int) apiIncident {
	out := apiIncident{ID: inc.ID, Kind: inc.Kind, Title: inc.Title, Status: inc.Status, Impact: inc.Impact, ThreadID: inc.ThreadID,
		AffectedCount: affected, StartedAt: inc.StartedAt.UTC(), MonitoringAt: utcPtr(inc.MonitoringAt), ResolvedAt: utcPtr(inc.ResolvedAt),
		NextUpdateAt: utcPtr(inc.NextUpdateAt), ScheduledFor: utcPtr(inc.ScheduledFor), ScheduledUntil: utcPtr(inc.ScheduledUntil),
		CancelledAt: utcPtr(inc.CancelledAt), Postmortem: inc.Postmortem, PostmortemHTML: inc.PostmortemHTML, URL: incidentURL(inc.ID), Services: []apiIncidentService{}}
	for _, s := range inc.Services {
		as := apiIncidentService{ID: s.ServiceID, Status: s.Status}
		if s.Service != nil {
			as.Name = s.Service.Name
		}
		out.Services = append(out.Services, as)
	}
	return out
}

// apiIncidentList lists incidents and maintenance newest first;
// ?status=open|resolved and ?kind=incident|maintenance narrow it.
func (a *App) apiIncidentList(c *gin.Context) error {
	var f models.IncidentFilter
	switch c.Query("status") {
	case "":
	case "open":
		f.Open = new(true)
	case "resolved":
		f.Open = new(false)
	default:
		return badRequest("status must be open or resolved.")
	}
	switch k := models.Kind(c.Query("kind")); k {
	case "", models.KindIncident, models.KindMaintenance:
		f.Kind = k
	default:
		return badRequest("kind must be incident or maintenance.")
	}
	p, err := pageParam(c, models.IncidentsPerPage)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	list, err := a.store.ListIncidents(ctx, f, p)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(list.Items))
	for _, inc := range list.Items {
		ids = append(ids, inc.ID)
	}
	counts, err := a.store.AffectedCounts(ctx, ids...)
	if err != nil {
		return err
	}
	out := []apiIncident{}
	for i := range list.Items {
		out = append(out, toAPIIncident(&list.Items[i], counts[list.Items[i].ID]))
	}
	return writeJSON(c, http.StatusOK, legacyListJSON("incidents", out, list))
}

// apiIncidentBody is the JSON body of declaring an incident or posting an
// update.
type apiIncidentBody struct {
	Kind     models.Kind `json:"kind"`
	Title    string      `json:"title"`
	Impact   string      `json:"impact"`
	Status   string      `json:"status"`
	Body     string      `json:"body"`
	Services []struct {
		ID     int64                  `json:"id"`
		Status models.ComponentStatus `json:"status"`
	} `json:"services"`
	NextUpdateAt   optionalTime `json:"next_update_at"`
	ScheduledFor   *time.Time   `json:"scheduled_for"`
	ScheduledUntil *time.Time   `json:"scheduled_until"`
}

// optionalTime tells a JSON time left out from one given as null:
// next_update_at left out gets the cadence, null promises nothing.
type optionalTime struct {
	Null bool
	Time *time.Time
}

func (o *optionalTime) UnmarshalJSON(b []byte) error {
	o.Null = string(b) == "null"
	return json.Unmarshal(b, &o.Time)
}

func (b apiIncidentBody) changes() []models.ServiceChange {
	var out []models.ServiceChange
	for _, s := range b.Services {
		out = append(out, models.ServiceChange{ServiceID: s.ID, Status: s.Status})
	}
	return out
}

func (a *App) apiIncidentCreate(c *gin.Context) error {
	var in apiIncidentBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = models.KindIncident
	}
	inc, err := a.store.DeclareIncident(c.Request.Context(), currentUser(c), models.NewIncident{Kind: in.Kind, Title: in.Title,
		Impact: in.Impact, Status: in.Status, Body: in.Body, Services: in.changes(), NextUpdateAt: in.NextUpdateAt.Time,
		NoPromise: in.NextUpdateAt.Null, ScheduledFor: in.ScheduledFor, ScheduledUntil: in.ScheduledUntil})
	if err != nil {
		return err
	}
	return a.writeIncident(c, http.StatusCreated, inc)
}

func (a *App) apiIncidentShow(c *gin.Context) error {
	inc, err := a.pathIncident(c)
	if err != nil {
		return err
	}
	return a.writeIncident(c, http.StatusOK, inc)
}

// writeIncident answers with the whole incident: updates newest first and
// linked threads.
func (a *App) writeIncident(c *gin.Context, status int, inc *models.Incident) error {
	d, err := a.readIncident(c, inc)
	if err != nil {
		return err
	}
	out := apiIncidentDetail{apiIncident: toAPIIncident(inc, d.Affected), Updates: []apiUpdate{}, LinkedThreads: []apiThread{}}
	for i := range d.Updates {
		out.Updates = append(out.Updates, toAPIUpdate(&d.Updates[i]))
	}
	for i := range d.Linked {
		out.LinkedThreads = append(out.LinkedThreads, toAPIThread(&d.Linked[i]))
	}
	return writeJSON(c, status, out)
}

func (a *App) apiIncidentUpdate(c *gin.Context) error {
	var in apiIncidentBody
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	u, err := a.store.PostUpdate(c.Request.Context(), currentUser(c), id, models.NewUpdate{Status: in.Status, Body: in.Body,
		Services: in.changes(), NextUpdateAt: in.NextUpdateAt.Time, NoPromise: in.NextUpdateAt.Null, Impact: in.Impact,
		ScheduledFor: in.ScheduledFor, ScheduledUntil: in.ScheduledUntil})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, toAPIUpdate(u))
}

func (a *App) apiIncidentPostmortem(c *gin.Context) error {
	var in struct {
		Postmortem string `json:"postmortem"`
	}
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	inc, err := a.store.SetPostmortem(c.Request.Context(), currentUser(c), id, in.Postmortem)
	if err != nil {
		return err
	}
	return a.writeIncident(c, http.StatusOK, inc)
}

func (a *App) apiThreadLink(c *gin.Context) error {
	var in struct {
		IncidentID int64 `json:"incident_id"`
	}
	id, err := idAndJSON(c, &in)
	if err != nil {
		return err
	}
	th, err := a.store.LinkThread(c.Request.Context(), currentUser(c), id, in.IncidentID)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, toAPIThread(th))
}

// apiThreadUnlink answers DELETE /api/v1/threads/:id/link.
func (a *App) apiThreadUnlink(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	th, err := a.store.UnlinkThread(c.Request.Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, toAPIThread(th))
}
