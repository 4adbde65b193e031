package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

func incidentURL(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

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

func (a *app) showIncidentForm(c *gin.Context, status int, f incidentForm) {
	services, err := a.store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	title := "Declare an incident"
	if f.Kind == models.KindMaintenance {
		title = "Schedule maintenance"
	}
	a.renderPage(c, status, "incident_new", &incidentNewPage{base: a.base(c, title), Form: f, Services: services,
		Impacts: models.Impacts, Statuses: models.KindIncident.Statuses()[:3], Degraded: outageStatuses})
}

func (a *app) incidentNew(c *gin.Context) {
	f := incidentForm{Kind: models.KindIncident, Impact: "minor", Status: models.StatusInvestigating}
	if c.Query("kind") == string(models.KindMaintenance) {
		f.Kind = models.KindMaintenance
	}
	a.showIncidentForm(c, http.StatusOK, f)
}

func (a *app) incidentCreate(c *gin.Context) {
	f, err := readIncidentForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	next, from, until := f.times()
	if f.Errors != nil {
		a.showIncidentForm(c, http.StatusUnprocessableEntity, f)
		return
	}
	inc, err := a.store.DeclareIncident(c.Request.Context(), currentUser(c), models.NewIncident{Kind: f.Kind, Title: f.Title,
		Impact: f.Impact, Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, ScheduledFor: from, ScheduledUntil: until})
	if fe := fieldErrors(err); fe != nil {
		f.Errors = fe
		a.showIncidentForm(c, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	msg := "The incident is declared."
	if inc.Kind == models.KindMaintenance {
		msg = "The maintenance is scheduled."
	}
	a.redirect(c, incidentURL(inc.ID), msg)
}

// incidentView is what the incident page shows above the thread's posts.
type incidentView struct {
	*models.Incident
	Updates  []models.IncidentUpdate
	Affected int
	Linked   []models.Thread
	Overdue  time.Duration
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
func (a *app) loadIncidentParts(c *gin.Context, page *threadPage, form incidentForm) error {
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
	v := &incidentView{Incident: inc, Overdue: inc.Overdue(a.now().UTC()), Form: form}
	if v.Updates, err = a.store.IncidentUpdates(ctx, viewer, 0, inc.ID); err != nil {
		return err
	}
	counts, err := a.store.AffectedCounts(ctx, inc.ID)
	if err != nil {
		return err
	}
	v.Affected = counts[inc.ID]
	if v.Linked, err = a.store.LinkedThreads(ctx, inc); err != nil {
		return err
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

func (a *app) incidentShow(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	inc, err := a.store.IncidentByID(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.showThread(c, http.StatusOK, inc.ThreadID, postForm{}, incidentForm{})
}

func (a *app) incidentUpdate(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	inc, err := a.store.IncidentByID(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := readIncidentForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	next, _, _ := f.times()
	if f.Errors == nil {
		in := models.NewUpdate{Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, Impact: f.Impact}
		_, err = a.store.PostUpdate(c.Request.Context(), currentUser(c), id, in)
		f.Errors = fieldErrors(err)
		if err != nil && f.Errors == nil {
			a.fail(c, err)
			return
		}
	}
	if f.Errors != nil {
		a.showThread(c, http.StatusUnprocessableEntity, inc.ThreadID, postForm{}, f)
		return
	}
	a.redirect(c, incidentURL(id)+"#timeline", "The update is posted.")
}

func (a *app) incidentPostmortem(c *gin.Context) {
	id, err := idAndForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if _, err := a.store.SetPostmortem(c.Request.Context(), currentUser(c), id, c.PostForm("postmortem")); err != nil {
		if fe := fieldErrors(err); fe != nil {
			a.fail(c, &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)})
			return
		}
		a.fail(c, err)
		return
	}
	a.redirect(c, incidentURL(id)+"#postmortem", "The postmortem is published.")
}

// threadLink ties the thread in the path to the incident in the form.
func (a *app) threadLink(c *gin.Context) {
	id, err := idAndForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	incID, err := strconv.ParseInt(strings.TrimSpace(c.PostForm("incident_id")), 10, 64)
	if err != nil || incID < 1 {
		a.fail(c, &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "Choose an incident to link to."})
		return
	}
	if _, err := a.store.LinkThread(c.Request.Context(), currentUser(c), id, incID); err != nil {
		if fe := fieldErrors(err); fe != nil {
			a.fail(c, &httpError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: firstMessage(fe)})
			return
		}
		a.fail(c, err)
		return
	}
	a.redirect(c, threadURL(id), fmt.Sprintf("The thread is linked to incident %d.", incID))
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
func (a *app) incidentList(c *gin.Context) {
	p, err := pageParam(c, models.IncidentsPerPage)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	month := c.Query("month")
	list, err := a.store.ListIncidents(ctx, models.IncidentFilter{Month: month}, p)
	if fe := fieldErrors(err); fe != nil {
		a.fail(c, badRequest(firstMessage(fe)))
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	months, err := a.store.IncidentMonths(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	title := "Incident history"
	if month != "" {
		title += " · " + month
	}
	a.renderPage(c, http.StatusOK, "incident_list", &incidentListPage{base: a.base(c, title), Incidents: list.Items,
		Months: months, Month: month, Pager: newPager(c, list.Page, list.HasNext)})
}

type overduePage struct {
	base
	Incidents []models.Incident
	Now       time.Time
}

// incidentOverdue lists, for staff, the incidents whose promised update is
// late.
func (a *app) incidentOverdue(c *gin.Context) {
	list, err := a.store.OverdueIncidents(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "incident_overdue", &overduePage{base: a.base(c, "Overdue updates"), Incidents: list, Now: a.now().UTC()})
}

type reportPage struct {
	base
	Services    []models.Service
	ServiceID   int64
	Query       string
	Searched    bool
	Suggestions []models.Thread
	Own         map[int64]bool // suggestions that are an incident's own thread
	// Affected is each suggestion's count: an incident's own thread shows
	// the incident's, linked threads included, as the dashboard does.
	Affected map[int64]int
	NewURL   string
}

// report is "Report a problem": pick a service and say what is wrong; the
// second step offers matching open incidents and threads to join with one
// click, or goes on to a new thread with what was typed.
func (a *app) report(c *gin.Context) {
	ctx := c.Request.Context()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	page := &reportPage{base: a.base(c, "Report a problem"), Services: services, Query: strings.TrimSpace(c.Query("title")), Own: map[int64]bool{}}
	if v := c.Query("service"); v != "" {
		if page.ServiceID, err = strconv.ParseInt(v, 10, 64); err != nil || page.ServiceID < 1 {
			a.fail(c, badRequest("service must be a service id."))
			return
		}
	}
	if page.Query != "" {
		page.Searched = true
		if page.Suggestions, err = a.store.SuggestThreads(ctx, page.Query, 8); err != nil {
			a.fail(c, err)
			return
		}
		page.Affected = map[int64]int{}
		var incidents []int64
		for _, th := range page.Suggestions {
			page.Affected[th.ID] = th.AffectedCount
			if th.IncidentID == nil {
				continue
			}
			inc, err := a.store.IncidentByID(ctx, *th.IncidentID)
			if err != nil {
				a.fail(c, err)
				return
			}
			if page.Own[th.ID] = inc.ThreadID == th.ID; page.Own[th.ID] {
				incidents = append(incidents, inc.ID)
			}
		}
		counts, err := a.store.AffectedCounts(ctx, incidents...)
		if err != nil {
			a.fail(c, err)
			return
		}
		for _, th := range page.Suggestions {
			if page.Own[th.ID] {
				page.Affected[th.ID] = counts[*th.IncidentID]
			}
		}
		q := url.Values{"title": {page.Query}}
		if page.ServiceID != 0 {
			q.Set("service", strconv.FormatInt(page.ServiceID, 10))
		}
		page.NewURL = "/threads/new?" + q.Encode()
	}
	a.renderPage(c, http.StatusOK, "report", page)
}
