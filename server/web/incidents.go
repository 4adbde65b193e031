package web

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
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
	NextIn         string // the promise: minutes from now, "at" NextUpdateAt, or "none"
	NextUpdateAt   string
	ScheduledFor   string
	ScheduledUntil string
	Errors         map[string]string
	Preview        template.HTML
	Message        string // no preview: asked for too many
	// For drawing the promise choices.
	Now     time.Time
	Presets []time.Duration
}

// readIncidentForm reads the fields shared by the declare and update forms:
// each service's status comes in a field named service_ID.
func readIncidentForm(c *gin.Context) (incidentForm, error) {
	if err := parseForm(c); err != nil {
		return incidentForm{}, err
	}
	f := incidentForm{Kind: models.Kind(c.PostForm("kind")), Title: c.PostForm("title"), Impact: c.PostForm("impact"),
		Status: c.PostForm("status"), Body: c.PostForm("body"), Services: map[int64]models.ComponentStatus{},
		NextIn: c.PostForm("next_in"), NextUpdateAt: c.PostForm("next_update_at"),
		ScheduledFor: c.PostForm("scheduled_for"), ScheduledUntil: c.PostForm("scheduled_until")}
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

// times parses the form's time fields, collecting errors into f.Errors. The
// promise is a number of minutes from now, a time ("at"), or none (then
// next is nil and noPromise tells); a form without the choice (an older
// page, a script) sends the time alone or nothing, and nothing gets the
// cadence.
func (f *incidentForm) times(now time.Time) (next, from, until *time.Time) {
	var errs = map[string]string{}
	read := func(field, v string) *time.Time {
		t, err := parseTime(field, v)
		for k, m := range fieldErrors(err) {
			errs[k] = m
		}
		return t
	}
	from, until = read("scheduled_for", f.ScheduledFor), read("scheduled_until", f.ScheduledUntil)
	switch f.NextIn {
	case "", "at":
		next = read("next_update_at", f.NextUpdateAt)
		if f.NextIn == "at" && next == nil && errs["next_update_at"] == "" {
			errs["next_update_at"] = "Give the time of the next update, or choose another option."
		}
	case "none":
	default:
		m, err := strconv.Atoi(f.NextIn)
		if err != nil || m < 1 {
			errs["next_update_at"] = "Choose when the next update comes."
			break
		}
		t := now.Add(time.Duration(m) * time.Minute)
		next = &t
	}
	if len(errs) > 0 {
		f.Errors = errs
	}
	return next, from, until
}

// noPromise tells that the form says no further update is planned.
func (f *incidentForm) noPromise() bool { return f.NextIn == "none" }

// promisePresets are the promise choices besides a time: the usual
// intervals and the site's cadence.
var promisePresets = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 4 * time.Hour}

// withPromise readies the form's promise choices at now; a new form
// defaults to the cadence, its time field prefilled with it.
func (a *App) withPromise(f *incidentForm, now time.Time) {
	cadence := a.store.UpdateCadence
	f.Now, f.Presets = now, promisePresets
	if cadence > 0 && !slices.Contains(promisePresets, cadence) {
		f.Presets = append(slices.Clone(promisePresets), cadence)
		slices.Sort(f.Presets)
	}
	if f.NextIn != "" || f.Errors != nil {
		return
	}
	f.NextIn = "at"
	if cadence > 0 {
		next := now.Add(cadence)
		f.NextIn, f.NextUpdateAt = strconv.Itoa(int(cadence/time.Minute)), formTime(&next)
	}
}

// previewUpdate fills the form with the preview of its message.
func (a *App) previewUpdate(c *gin.Context, f *incidentForm) (int, error) {
	p, err := a.preview(c, f.Body)
	f.Preview, f.Message = p.HTML, p.Message
	if p.Errors != nil {
		f.Errors = p.Errors
	}
	return p.status(), err
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
	a.withPromise(&f, a.now().UTC())
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
	if c.PostForm("preview") != "" {
		status, err := a.previewUpdate(c, &f)
		if err != nil {
			return err
		}
		return a.showIncidentForm(c, status, f)
	}
	next, from, until := f.times(a.now().UTC())
	if f.Errors != nil {
		return a.showIncidentForm(c, http.StatusUnprocessableEntity, f)
	}
	inc, err := a.store.DeclareIncident(c.Request.Context(), currentUser(c), models.NewIncident{Kind: f.Kind, Title: f.Title,
		Impact: f.Impact, Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, NoPromise: f.noPromise(),
		ScheduledFor: from, ScheduledUntil: until})
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
	staff := viewer != nil && viewer.Role.IsStaff()
	if th.IncidentID == nil {
		if staff {
			return a.loadLinkPicker(c, page, 0)
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
		if staff {
			return a.loadLinkPicker(c, page, inc.ID)
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
			v.Form = incidentForm{Status: inc.Status, Services: map[int64]models.ComponentStatus{},
				ScheduledFor: formTime(inc.ScheduledFor), ScheduledUntil: formTime(inc.ScheduledUntil)}
			for _, s := range inc.Services {
				v.Form.Services[s.ServiceID] = s.Status
			}
		}
		a.withPromise(&v.Form, a.now().UTC())
	}
	page.Incident = v
	page.FeedURL = incidentURL(inc.ID) + "/feed.atom"
	page.Title = inc.Title
	return nil
}

// linkPicker is staff's choice of incident for a customer thread: open
// incidents first, then maintenance windows, none chosen beforehand.
type linkPicker struct {
	Current     int64 // the incident the thread is linked to, if any
	Incidents   []models.Incident
	Maintenance []models.Incident
}

func (a *App) loadLinkPicker(c *gin.Context, page *threadPage, current int64) error {
	open := true
	list, err := a.store.ListIncidents(c.Request.Context(), models.IncidentFilter{Open: &open}, models.Page{PerPage: models.MaxPerPage})
	if err != nil {
		return err
	}
	p := &linkPicker{Current: current}
	for _, inc := range list.Items {
		switch {
		case inc.ID == current:
		case inc.Kind == models.KindMaintenance:
			p.Maintenance = append(p.Maintenance, inc)
		default:
			p.Incidents = append(p.Incidents, inc)
		}
	}
	page.Link = p
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
	return a.showThread(c, http.StatusOK, inc.ThreadID, threadForms{})
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
	if c.PostForm("preview") != "" {
		status, err := a.previewUpdate(c, &f)
		if err != nil {
			return err
		}
		return a.showThread(c, status, inc.ThreadID, threadForms{update: f})
	}
	next, from, until := f.times(a.now().UTC())
	if f.ScheduledFor == formTime(inc.ScheduledFor) && f.ScheduledUntil == formTime(inc.ScheduledUntil) {
		from, until = nil, nil // the window as the form showed it, to the minute
	}
	if f.Errors == nil {
		in := models.NewUpdate{Status: f.Status, Body: f.Body, Services: f.changes(), NextUpdateAt: next, NoPromise: f.noPromise(),
			Impact: f.Impact, ScheduledFor: from, ScheduledUntil: until}
		_, err = a.store.PostUpdate(c.Request.Context(), currentUser(c), inc.ID, in)
		f.Errors = fieldErrors(err)
		if err != nil && f.Errors == nil {
			return err
		}
	}
	if f.Errors != nil {
		return a.showThread(c, http.StatusUnprocessableEntity, inc.ThreadID, threadForms{update: f})
	}
	msg := "The update is posted."
	if inc.Kind == models.KindMaintenance && inc.Status == models.StatusScheduled && f.Status == models.StatusCompleted {
		msg = "The maintenance is cancelled."
	}
	return a.redirect(c, incidentURL(inc.ID)+"#timeline", msg)
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

// threadUnlink takes the thread in the path off its incident.
func (a *App) threadUnlink(c *gin.Context) error {
	id, err := idAndForm(c)
	if err != nil {
		return err
	}
	if _, err := a.store.UnlinkThread(c.Request.Context(), currentUser(c), id); err != nil {
		return err
	}
	return a.redirect(c, threadURL(id), "The thread is no longer linked to an incident.")
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
