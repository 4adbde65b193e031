package main

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/markup"
)

// The Statuspage-compatible public API (/api/v2). Every object has exactly
// the fields, types and value sets Atlassian Statuspage serves, so that
// existing widgets, bots and aggregators read Sitrep unchanged; Sitrep-only
// data (next update times, affected counts) is left out on purpose. The
// answers are the same for everyone (hidden posts are left out for all), so
// they are cacheable by anyone and open to every origin.

// spListSize is how many incidents or maintenances incidents.json and
// scheduled-maintenances.json list, as Statuspage does.
const spListSize = 50

// spTimeLayout is RFC 3339 in UTC with milliseconds, as Statuspage writes
// times ("2026-03-14T09:30:00.000Z").
const spTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func spTime(t time.Time) string { return t.UTC().Format(spTimeLayout) }

func spTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := spTime(*t)
	return &s
}

// spPageID is the page's id. Statuspage ids are 12 lower-case letters and
// digits; Sitrep derives one from the configured base URL, so that two Sitrep
// sites feeding one aggregator do not share an id while one site's id never
// changes between requests or restarts. Without a base URL the id is the
// constant "sitrep" (the host a request names is not a stable identity).
func (a *app) spPageID() string {
	if a.cfg.BaseURL == "" {
		return "sitrep"
	}
	return shortID(a.cfg.BaseURL)
}

// shortID is a 12-character lower-case id derived from s.
func shortID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:12]
}

// spGroupID is the id of the synthesized component that stands for a
// service group: "g" and 11 characters derived from the group's name. It is
// stable for as long as the name is, and cannot collide with a service's id,
// which is all digits.
func spGroupID(name string) string { return "g" + shortID("group:" + name)[:11] }

type spPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

type spStatus struct {
	Indicator   models.Indicator `json:"indicator"`
	Description string           `json:"description"`
}

type spComponent struct {
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

type spAffected struct {
	Code      string                 `json:"code"`
	Name      string                 `json:"name"`
	OldStatus models.ComponentStatus `json:"old_status"`
	NewStatus models.ComponentStatus `json:"new_status"`
}

type spUpdate struct {
	ID                   string       `json:"id"`
	Status               string       `json:"status"`
	Body                 string       `json:"body"`
	IncidentID           string       `json:"incident_id"`
	CreatedAt            string       `json:"created_at"`
	UpdatedAt            string       `json:"updated_at"`
	DisplayAt            string       `json:"display_at"`
	AffectedComponents   []spAffected `json:"affected_components"`
	DeliverNotifications bool         `json:"deliver_notifications"`
	CustomTweet          *string      `json:"custom_tweet"`
	TweetID              *string      `json:"tweet_id"`
}

type spIncident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
	MonitoringAt    *string       `json:"monitoring_at"`
	ResolvedAt      *string       `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       string        `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []spUpdate    `json:"incident_updates"`
	Components      []spComponent `json:"components"`
}

// spMaintenance is a scheduled maintenance: an incident with its window.
type spMaintenance struct {
	spIncident
	ScheduledFor   *string `json:"scheduled_for"`
	ScheduledUntil *string `json:"scheduled_until"`
}

// spState is what every /api/v2 answer starts from: the page, the
// components with their current statuses, the overall status and the open
// incidents and maintenances.
type spState struct {
	page       spPage
	components []spComponent
	byService  map[int64]spComponent
	status     spStatus
	open       []models.Incident // both kinds, newest first
}

// loadSPState reads the services, their statuses and the open incidents.
//
// Sitrep keeps no single "page last changed" time, so the page's
// updated_at is the latest change among the services and the incidents
// open or among the newest spListSize (an old incident's postmortem written
// much later does not move it). A component's updated_at is likewise the
// latest of its service's own change and of those incidents that name it,
// which is when its status last changed. Both are the same in every answer
// and depend only on the data, so the ETag holds until something changes.
func (a *app) loadSPState(c *gin.Context) (*spState, error) {
	ctx := c.Request.Context()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	statuses, err := a.store.ServiceStatuses(ctx)
	if err != nil {
		return nil, err
	}
	yes := true
	open, err := a.store.ListIncidents(ctx, models.IncidentFilter{Open: &yes}, models.Page{PerPage: models.MaxPerPage})
	if err != nil {
		return nil, err
	}
	recent, err := a.store.ListIncidents(ctx, models.IncidentFilter{}, models.Page{PerPage: spListSize})
	if err != nil {
		return nil, err
	}
	var pageUpdated time.Time
	touched := map[int64]time.Time{}
	for _, inc := range append(open.Items, recent.Items...) {
		pageUpdated = latest(pageUpdated, inc.UpdatedAt)
		for _, is := range inc.Services {
			touched[is.ServiceID] = latest(touched[is.ServiceID], inc.UpdatedAt)
		}
	}
	for _, s := range services {
		pageUpdated = latest(pageUpdated, s.UpdatedAt)
	}
	if pageUpdated.IsZero() {
		// Nothing on the page yet: the current minute keeps the answer
		// valid and still cacheable for a while.
		pageUpdated = a.now().Truncate(time.Minute)
	}
	pageID := a.spPageID()
	st := &spState{
		page: spPage{ID: pageID, Name: a.cfg.SiteName, URL: a.absURL(c, ""), TimeZone: "Etc/UTC", UpdatedAt: spTime(pageUpdated)},
		open: open.Items, byService: map[int64]spComponent{}, components: []spComponent{},
	}
	statusOf := func(id int64) models.ComponentStatus {
		if s, ok := statuses[id]; ok {
			return s
		}
		return models.Operational
	}
	component := func(s models.Service, position int) spComponent {
		sc := spComponent{
			ID: strconv.FormatInt(s.ID, 10), Name: s.Name, Status: statusOf(s.ID),
			CreatedAt: spTime(s.CreatedAt), UpdatedAt: spTime(latest(s.UpdatedAt, touched[s.ID])),
			Position: position, Showcase: true, PageID: pageID,
			// The day its daily bars start.
			StartDate: new(s.CreatedAt.UTC().Format(time.DateOnly)),
		}
		if s.Description != "" {
			sc.Description = new(s.Description)
		}
		if s.GroupName != "" {
			sc.GroupID = new(spGroupID(s.GroupName))
		}
		return sc
	}
	// Services in display order; a group stands where its first member
	// would, followed by all its members. Positions count from 1 within
	// each level, as Statuspage numbers them.
	done := map[string]bool{}
	top := 0
	for _, s := range services {
		if s.GroupName == "" {
			top++
			sc := component(s, top)
			st.components = append(st.components, sc)
			st.byService[s.ID] = sc
			continue
		}
		if done[s.GroupName] {
			continue
		}
		done[s.GroupName] = true
		top++
		g := spComponent{ID: spGroupID(s.GroupName), Name: s.GroupName, Status: models.Operational,
			CreatedAt: spTime(s.CreatedAt), Position: top, PageID: pageID, Group: true}
		var members []spComponent
		var created, updated time.Time
		for _, m := range services {
			if m.GroupName != s.GroupName {
				continue
			}
			sc := component(m, len(members)+1)
			members = append(members, sc)
			st.byService[m.ID] = sc
			g.Components = append(g.Components, sc.ID)
			if sc.Status.Severity() > g.Status.Severity() {
				g.Status = sc.Status
			}
			if created.IsZero() || m.CreatedAt.Before(created) {
				created = m.CreatedAt
			}
			updated = latest(updated, latest(m.UpdatedAt, touched[m.ID]))
		}
		g.CreatedAt, g.UpdatedAt = spTime(created), spTime(updated)
		st.components = append(st.components, g)
		st.components = append(st.components, members...)
	}
	ind := models.OverallIndicator(open.Items, statuses)
	st.status = spStatus{Indicator: ind, Description: ind.Description()}
	return st, nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// spIncidentStatus is the status Statuspage shows: a resolved incident with
// a published postmortem is "postmortem".
func spIncidentStatus(inc *models.Incident) string {
	if inc.Kind == models.KindIncident && !inc.IsOpen() && inc.Postmortem != "" {
		return "postmortem"
	}
	return inc.Status
}

// spConvert converts incidents with their official updates (as a visitor
// sees them), newest update first.
func (a *app) spConvert(c *gin.Context, st *spState, incs []models.Incident) ([]spMaintenance, error) {
	out := make([]spMaintenance, 0, len(incs))
	if len(incs) == 0 {
		return out, nil
	}
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	updates, err := a.store.IncidentUpdates(c.Request.Context(), nil, 0, ids...)
	if err != nil {
		return nil, err
	}
	byIncident := map[int64][]spUpdate{}
	for _, u := range updates {
		id := strconv.FormatInt(u.IncidentID, 10)
		su := spUpdate{ID: strconv.FormatInt(u.ID, 10), Status: u.Status, IncidentID: id,
			CreatedAt: spTime(u.CreatedAt), UpdatedAt: spTime(u.CreatedAt), DisplayAt: spTime(u.CreatedAt),
			DeliverNotifications: true}
		if u.Post != nil {
			su.Body = markup.Text(u.Post.HTML)
			if u.Post.EditedAt != nil {
				su.UpdatedAt = spTime(*u.Post.EditedAt)
			}
		}
		for _, tr := range u.Transitions {
			name := ""
			if tr.Service != nil {
				name = tr.Service.Name
			}
			su.AffectedComponents = append(su.AffectedComponents, spAffected{
				Code: strconv.FormatInt(tr.ServiceID, 10), Name: name, OldStatus: tr.OldStatus, NewStatus: tr.NewStatus})
		}
		byIncident[u.IncidentID] = append(byIncident[u.IncidentID], su)
	}
	for _, inc := range incs {
		// Statuspage's started_at of a maintenance is when it was
		// published; the window itself is scheduled_for and _until.
		started := inc.StartedAt
		if inc.Kind == models.KindMaintenance {
			started = inc.CreatedAt
		}
		si := spIncident{
			ID: strconv.FormatInt(inc.ID, 10), Name: inc.Title, Status: spIncidentStatus(&inc),
			CreatedAt: spTime(inc.CreatedAt), UpdatedAt: spTime(inc.UpdatedAt),
			MonitoringAt: spTimePtr(inc.MonitoringAt), ResolvedAt: spTimePtr(inc.ResolvedAt),
			Impact: inc.Impact, Shortlink: a.absURL(c, incidentURL(inc.ID)), StartedAt: spTime(started),
			PageID: st.page.ID, IncidentUpdates: byIncident[inc.ID], Components: []spComponent{},
		}
		if si.IncidentUpdates == nil {
			si.IncidentUpdates = []spUpdate{}
		}
		for _, is := range inc.Services {
			if sc, ok := st.byService[is.ServiceID]; ok {
				si.Components = append(si.Components, sc)
			}
		}
		out = append(out, spMaintenance{spIncident: si, ScheduledFor: spTimePtr(inc.ScheduledFor), ScheduledUntil: spTimePtr(inc.ScheduledUntil)})
	}
	return out, nil
}

// realtime drops the maintenance window fields from incidents.
func realtime(ms []spMaintenance) []spIncident {
	out := make([]spIncident, len(ms))
	for i, m := range ms {
		out[i] = m.spIncident
	}
	return out
}

// openOf picks the open incidents of kind k that keep (nil keeps all).
func openOf(st *spState, k models.Kind, keep func(*models.Incident) bool) []models.Incident {
	var out []models.Incident
	for _, inc := range st.open {
		if inc.Kind == k && (keep == nil || keep(&inc)) {
			out = append(out, inc)
		}
	}
	return out
}

// writeSP answers with v as JSON, open to every origin and cacheable for
// 30 seconds.
func (a *app) writeSP(c *gin.Context, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.fail(c, err)
		return
	}
	spCORS(c)
	writePublic(c, "application/json; charset=utf-8", body, 30)
}

// spCORS opens a Statuspage answer to scripts on every origin, ETag
// included.
func spCORS(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag")
}

// spPreflight answers CORS preflight requests for /api/v2 (a widget that
// sends If-None-Match or another header asks first).
func (a *app) spPreflight(c *gin.Context) {
	spCORS(c)
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match, Accept, Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	c.Status(http.StatusNoContent)
}

// writePublic answers a document that is the same for everyone: cacheable
// by anyone for maxAge seconds, with a strong ETag over the body; a request
// that already holds this body gets 304.
func writePublic(c *gin.Context, ctype string, body []byte, maxAge int) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	h.Set("ETag", etag)
	// The answer does not depend on who asks (loadUser's Vary would split
	// shared caches per cookie for nothing).
	h.Del("Vary")
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, ctype, body)
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// spAnswer loads the shared state and answers with what build makes of it.
func (a *app) spAnswer(c *gin.Context, build func(st *spState) (any, error)) {
	st, err := a.loadSPState(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	v, err := build(st)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.writeSP(c, v)
}

type spSummaryBody struct {
	Page                  spPage          `json:"page"`
	Components            []spComponent   `json:"components"`
	Incidents             []spIncident    `json:"incidents"`
	ScheduledMaintenances []spMaintenance `json:"scheduled_maintenances"`
	Status                spStatus        `json:"status"`
}

type spIncidentsBody struct {
	Page      spPage       `json:"page"`
	Incidents []spIncident `json:"incidents"`
}

type spMaintenancesBody struct {
	Page                  spPage          `json:"page"`
	ScheduledMaintenances []spMaintenance `json:"scheduled_maintenances"`
}

// spSummary: the page, components, unresolved incidents, upcoming and
// active maintenance, and the overall status.
func (a *app) spSummary(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		all, err := a.spConvert(c, st, st.open)
		if err != nil {
			return nil, err
		}
		b := spSummaryBody{Page: st.page, Components: st.components, Incidents: []spIncident{}, ScheduledMaintenances: []spMaintenance{}, Status: st.status}
		for i, inc := range st.open {
			if inc.Kind == models.KindMaintenance {
				b.ScheduledMaintenances = append(b.ScheduledMaintenances, all[i])
			} else {
				b.Incidents = append(b.Incidents, all[i].spIncident)
			}
		}
		return b, nil
	})
}

func (a *app) spStatus(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		return struct {
			Page   spPage   `json:"page"`
			Status spStatus `json:"status"`
		}{st.page, st.status}, nil
	})
}

func (a *app) spComponents(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		return struct {
			Page       spPage        `json:"page"`
			Components []spComponent `json:"components"`
		}{st.page, st.components}, nil
	})
}

// spRecent lists the newest spListSize incidents of kind k, open or not.
func (a *app) spRecent(c *gin.Context, st *spState, k models.Kind) ([]spMaintenance, error) {
	got, err := a.store.ListIncidents(c.Request.Context(), models.IncidentFilter{Kind: k}, models.Page{PerPage: spListSize})
	if err != nil {
		return nil, err
	}
	return a.spConvert(c, st, got.Items)
}

// spIncidents: the 50 most recent incidents, resolved ones included.
func (a *app) spIncidents(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		incs, err := a.spRecent(c, st, models.KindIncident)
		if err != nil {
			return nil, err
		}
		return spIncidentsBody{Page: st.page, Incidents: realtime(incs)}, nil
	})
}

// spUnresolved: incidents investigating, identified or monitoring.
func (a *app) spUnresolved(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		incs, err := a.spConvert(c, st, openOf(st, models.KindIncident, nil))
		if err != nil {
			return nil, err
		}
		return spIncidentsBody{Page: st.page, Incidents: realtime(incs)}, nil
	})
}

// spMaintenances: the 50 most recent maintenances, completed ones included.
func (a *app) spMaintenances(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		ms, err := a.spRecent(c, st, models.KindMaintenance)
		if err != nil {
			return nil, err
		}
		return spMaintenancesBody{Page: st.page, ScheduledMaintenances: ms}, nil
	})
}

// spUpcoming: maintenance still "scheduled".
func (a *app) spUpcoming(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		ms, err := a.spConvert(c, st, openOf(st, models.KindMaintenance, func(i *models.Incident) bool { return !i.Active() }))
		if err != nil {
			return nil, err
		}
		return spMaintenancesBody{Page: st.page, ScheduledMaintenances: ms}, nil
	})
}

// spActive: maintenance in progress or being verified.
func (a *app) spActive(c *gin.Context) {
	a.spAnswer(c, func(st *spState) (any, error) {
		ms, err := a.spConvert(c, st, openOf(st, models.KindMaintenance, (*models.Incident).Active))
		if err != nil {
			return nil, err
		}
		return spMaintenancesBody{Page: st.page, ScheduledMaintenances: ms}, nil
	})
}
