package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// formTimeLayout is what an <input type="datetime-local"> sends; Sitrep
// reads it as UTC and says so on the label.
const formTimeLayout = "2006-01-02T15:04"

// parseTime reads a time from a form (datetime-local, UTC) or JSON (RFC
// 3339); empty is nil.
func parseTime(field, v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339, formTimeLayout, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, &models.ValidationError{Fields: map[string]string{field: "Write the time as YYYY-MM-DDTHH:MM (UTC) or RFC 3339."}}
}

// incidentForm is the declare, schedule and update forms' state.
type incidentForm struct {
	Kind           models.Kind
	Title          string
	Impact         string
	Status         string
	Body           string
	Services       map[int64]models.ComponentStatus
	NextUpdateAt   string
	ScheduledFor   string
	ScheduledUntil string
	Errors         map[string]string
}

// readIncidentForm reads the fields shared by the declare and update forms:
// each service's status comes in a field named service_ID.
func readIncidentForm(c *gin.Context) (incidentForm, error) {
	if err := parseForm(c); err != nil {
		return incidentForm{}, err
	}
	f := incidentForm{Kind: models.Kind(c.PostForm("kind")), Title: c.PostForm("title"), Impact: c.PostForm("impact"),
		Status: c.PostForm("status"), Body: c.PostForm("body"), Services: map[int64]models.ComponentStatus{},
		NextUpdateAt: c.PostForm("next_update_at"), ScheduledFor: c.PostForm("scheduled_for"), ScheduledUntil: c.PostForm("scheduled_until")}
	for k, v := range c.Request.PostForm {
		rest, ok := strings.CutPrefix(k, "service_")
		if !ok || len(v) == 0 || v[0] == "" {
			continue
		}
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id < 1 {
			return f, badRequest("Unknown service field " + k + ".")
		}
		f.Services[id] = models.ComponentStatus(v[0])
	}
	return f, nil
}

func (f incidentForm) changes() []models.ServiceChange {
	var out []models.ServiceChange
	for id, st := range f.Services {
		out = append(out, models.ServiceChange{ServiceID: id, Status: st})
	}
	return out
}

// times parses the form's time fields, collecting errors into f.Errors.
func (f *incidentForm) times() (next, from, until *time.Time) {
	var errs = map[string]string{}
	read := func(field, v string) *time.Time {
		t, err := parseTime(field, v)
		for k, m := range fieldErrors(err) {
			errs[k] = m
		}
		return t
	}
	next, from, until = read("next_update_at", f.NextUpdateAt), read("scheduled_for", f.ScheduledFor), read("scheduled_until", f.ScheduledUntil)
	if len(errs) > 0 {
		f.Errors = errs
	}
	return next, from, until
}

type incidentNewPage struct {
	base
	Form     incidentForm
	Services []models.Service
	Impacts  []string
	Statuses []string
	Degraded []models.ComponentStatus
}

// outageStatuses are the statuses an incident may give a service.
var outageStatuses = []models.ComponentStatus{models.DegradedPerformance, models.PartialOutage, models.MajorOutage}

func (a *App) showIncidentForm(c *gin.Context, status int, f incidentForm) error {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		return err
	}
	title := "Declare an incident"
	if f.Kind == models.KindMaintenance {
		title = "Schedule maintenance"
	}
	return a.renderPage(c, status, "incident_new", &incidentNewPage{base: a.base(c, title), Form: f, Services: services,
		Impacts: models.Impacts, Statuses: models.KindIncident.Statuses()[:3], Degraded: outageStatuses})
}

func (a *App) incidentNew(c *gin.Context) error {
	f := incidentForm{Kind: models.KindIncident, Impact: "minor", Status: models.StatusInvestigating}
	if c.Query("kind") == string(models.KindMaintenance) {
		f.Kind = models.KindMaintenance
	}
	return a.showIncidentForm(c, http.StatusOK, f)
}

func (a *App) incidentCreate(c *gin.Context) error {
	f, err := readIncidentForm(c)
	if err != nil {
		return err
	}
	next, from, until := f.times()
	if f.Errors != nil {
		return a.showIncidentForm(c, http.StatusUnprocessableEntity, f)
	}
	inc, err := a.store.DeclareIncident(c.Request.Context(), currentUser(c), models.NewIncident{Kind: f.Kind, Title: f.Title,
		Impact: f.Impact, Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, ScheduledFor: from, ScheduledUntil: until})
	if fe := fieldErrors(err); fe != nil {
		f.Errors = fe
		return a.showIncidentForm(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	msg := "The incident is declared."
	if inc.Kind == models.KindMaintenance {
		msg = "The maintenance is scheduled."
	}
	return a.redirect(c, incidentURL(inc.ID), msg)
}

// incidentDetail is an incident as its page and GET /api/v1/incidents/:id
// show it: its official updates as the viewer may read them (newest
// first), the people affected and the customer threads linked to it.
type incidentDetail struct {
	*models.Incident
	Updates  []models.IncidentUpdate
	Affected int
	Linked   []models.Thread
}

func (a *App) readIncident(c *gin.Context, inc *models.Incident) (*incidentDetail, error) {
	ctx := c.Request.Context()
	d := &incidentDetail{Incident: inc}
	var err error
	if d.Updates, err = a.store.IncidentUpdates(ctx, currentUser(c), 0, inc.ID); err != nil {
		return nil, err
	}
	counts, err := a.store.AffectedCounts(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	d.Affected = counts[inc.ID]
	d.Linked, err = a.store.LinkedThreads(ctx, inc)
	return d, err
}

// incidentView is what the incident page shows above the thread's posts.
type incidentView struct {
	*incidentDetail
	Overdue time.Duration
	// byPost finds the update in the timeline that a post is.
	byPost map[int64]*models.IncidentUpdate
	// Staff tools: the update form and the whole catalogue for it.
	Form      incidentForm
	Catalogue []models.Service
}

// trackedView is the banner on a customer thread linked to an incident.
type trackedView struct {
	*models.Incident
	Latest *models.IncidentUpdate
}

// loadIncidentParts fills the incident header or the tracked banner of a
// thread page.
func (a *App) loadIncidentParts(c *gin.Context, page *threadPage, form incidentForm) error {
	ctx := c.Request.Context()
	viewer := currentUser(c)
	th := page.Thread
	if th.IncidentID == nil {
		if viewer != nil && viewer.Role.IsStaff() {
			open := true
			list, err := a.store.ListIncidents(ctx, models.IncidentFilter{Open: &open}, models.Page{PerPage: models.MaxPerPage})
			page.LinkTargets = list.Items
			return err
		}
		return nil
	}
	inc, err := a.store.IncidentByID(ctx, *th.IncidentID)
	if err != nil {
		return err
	}
	if inc.ThreadID != th.ID {
		ups, err := a.store.IncidentUpdates(ctx, viewer, 1, inc.ID)
		if err != nil {
			return err
		}
		page.Tracked = &trackedView{Incident: inc}
		if len(ups) > 0 {
			page.Tracked.Latest = &ups[0]
		}
		return nil
	}
	detail, err := a.readIncident(c, inc)
	if err != nil {
		return err
	}
	v := &incidentView{incidentDetail: detail, Overdue: inc.Overdue(a.now().UTC()), Form: form,
		byPost: make(map[int64]*models.IncidentUpdate, len(detail.Updates))}
	for i := range detail.Updates {
		v.byPost[detail.Updates[i].PostID] = &detail.Updates[i]
	}
	if viewer != nil && viewer.Role.IsStaff() {
		if v.Catalogue, err = a.store.ListServices(ctx); err != nil {
			return err
		}
		if v.Form.Status == "" {
			v.Form = incidentForm{Status: inc.Status, Services: map[int64]models.ComponentStatus{}}
			for _, s := range inc.Services {
				v.Form.Services[s.ServiceID] = s.Status
			}
		}
	}
	page.Incident = v
	page.FeedURL = incidentURL(inc.ID) + "/feed.atom"
	page.Title = inc.Title
	return nil
}

// pathIncident reads the incident whose id is in the path.
func (a *App) pathIncident(c *gin.Context) (*models.Incident, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return a.store.IncidentByID(c.Request.Context(), id)
}

func (a *App) incidentShow(c *gin.Context) error {
	inc, err := a.pathIncident(c)
	if err != nil {
		return err
	}
	return a.showThread(c, http.StatusOK, inc.ThreadID, postForm{}, incidentForm{})
}

func (a *App) incidentUpdate(c *gin.Context) error {
	inc, err := a.pathIncident(c)
	if err != nil {
		return err
	}
	f, err := readIncidentForm(c)
	if err != nil {
		return err
	}
	next, _, _ := f.times()
	if f.Errors == nil {
		in := models.NewUpdate{Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, Impact: f.Impact}
		_, err = a.store.PostUpdate(c.Request.Context(), currentUser(c), inc.ID, in)
		f.Errors = fieldErrors(err)
		if err != nil && f.Errors == nil {
			return err
		}
	}
	if f.Errors != nil {
		return a.showThread(c, http.StatusUnprocessableEntity, inc.ThreadID, postForm{}, f)
	}
	return a.redirect(c, incidentURL(inc.ID)+"#timeline", "The update is posted.")
}

func (a *App) incidentPostmortem(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	if _, err := a.store.SetPostmortem(c.Request.Context(), currentUser(c), id, c.PostForm("postmortem")); err != nil {
		if fe := fieldErrors(err); fe != nil {
			return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)}
		}
		return err
	}
	return a.redirect(c, incidentURL(id)+"#postmortem", "The postmortem is published.")
}

// threadLink ties the thread in the path to the incident in the form.
func (a *App) threadLink(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	incID, err := strconv.ParseInt(strings.TrimSpace(c.PostForm("incident_id")), 10, 64)
	if err != nil || incID < 1 {
		return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "Choose an incident to link to."}
	}
	if _, err := a.store.LinkThread(c.Request.Context(), currentUser(c), id, incID); err != nil {
		if fe := fieldErrors(err); fe != nil {
			return &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)}
		}
		return err
	}
	return a.redirect(c, threadURL(id), fmt.Sprintf("The thread is linked to incident %d.", incID))
}

type incidentListPage struct {
	base
	Incidents []models.Incident
	Months    []string
	Month     string
	Pager     pager
}

// incidentList is the history: every incident and maintenance, newest
// first, by month.
func (a *App) incidentList(c *gin.Context) error {
	p, err := pageParam(c, models.IncidentsPerPage)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	month := c.Query("month")
	list, err := a.store.ListIncidents(ctx, models.IncidentFilter{Month: month}, p)
	if fe := fieldErrors(err); fe != nil {
		return badRequest(firstMessage(fe))
	}
	if err != nil {
		return err
	}
	months, err := a.store.IncidentMonths(ctx)
	if err != nil {
		return err
	}
	title := "Incident history"
	if month != "" {
		title += " · " + month
	}
	return a.renderPage(c, http.StatusOK, "incident_list", &incidentListPage{base: a.base(c, title), Incidents: list.Items,
		Months: months, Month: month, Pager: newPager(c, list.Page, list.HasNext)})
}

type overduePage struct {
	base
	Incidents []models.Incident
	Now       time.Time
}

// incidentOverdue lists, for staff, the incidents whose promised update is
// late.
func (a *App) incidentOverdue(c *gin.Context) error {
	list, err := a.store.OverdueIncidents(c.Request.Context())
	if err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "incident_overdue", &overduePage{base: a.base(c, "Overdue updates"), Incidents: list, Now: a.now().UTC()})
}
