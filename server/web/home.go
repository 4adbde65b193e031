package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/httpcache"
	"sitrep/server/statuspage"
)

// dayBar is one day of a service's 90-day history: its status and the
// incidents and maintenance of the service that day, oldest first.
type dayBar struct {
	Day       time.Time
	Status    models.ComponentStatus
	Incidents []models.Incident
}

type serviceRow struct {
	models.Service
	Status models.ComponentStatus
	Bars   []dayBar
	// BadDays counts the days that were not fully operational, NoDataDays
	// the days that ended before the service was listed.
	BadDays, NoDataDays int
	Uptime              models.Uptime
	// HTML is the row rendered (the service-row template), from the
	// fragment cache when its days are as they were.
	HTML template.HTML
}

// key is the fragment cache's key of the row: every field the service-row
// template reads.
func (r serviceRow) key(c *fragmentCache) fragmentKey {
	f := c.fingerprint()
	f.str(r.Name)
	f.str(r.Description)
	f.str(string(r.Status))
	f.str(r.UptimeText())
	f.flags(r.Uptime.Known())
	f.int(int64(r.BadDays))
	f.int(int64(r.NoDataDays))
	for _, b := range r.Bars {
		f.time(b.Day)
		f.str(string(b.Status))
		f.int(int64(len(b.Incidents)))
		for _, inc := range b.Incidents {
			f.int(inc.ID)
			f.str(inc.Title)
			f.str(string(inc.Kind))
		}
	}
	return fragmentKey{kind: serviceRowFragment, id: r.ID, fingerprint: f.sum()}
}

// renderServiceRows renders each service's row, from the fragment cache
// when it can: the 90 days change once a day, or when an incident does.
func (a *App) renderServiceRows(page *homePage) error {
	t := a.views.pages["home"]
	for gi := range page.Groups {
		for i := range page.Groups[gi].Services {
			row := &page.Groups[gi].Services[i]
			html, err := renderFragment(a.views.fragments, t, "service-row", row.key(a.views.fragments), row)
			if err != nil {
				return fmt.Errorf("render service %d: %w", row.ID, err)
			}
			row.HTML = html
		}
	}
	return nil
}

// UptimeText is the uptime as the dashboard writes it: "99.95%", "100%",
// or "no data" before any time was observed.
func (r serviceRow) UptimeText() string {
	if !r.Uptime.Known() {
		return "no data"
	}
	p := r.Uptime.Percent()
	if p == 100 {
		return "100%"
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

type serviceGroup struct {
	Name     string
	Services []serviceRow
}

// incidentCard is an incident as the dashboard sums it up.
type incidentCard struct {
	models.Incident
	Latest   *models.IncidentUpdate
	Ago      time.Duration // since the latest update
	Affected int
	Overdue  time.Duration
}

type homePage struct {
	base
	Indicator models.Indicator
	Groups    []serviceGroup
	Open      []incidentCard
	Active    []incidentCard
	Upcoming  []incidentCard
	Resolved  []incidentCard
}

// home is the service health dashboard.
func (a *App) home(c *gin.Context) error {
	snap, err := a.store.DashboardSnapshot(c.Request.Context(), a.now().Add(-recentlyResolved))
	if err != nil {
		return err
	}
	page := a.dashboard(c, snap)
	if err := a.renderServiceRows(page); err != nil {
		return err
	}
	return a.renderPage(c, http.StatusOK, "home", page)
}

// statusSnapshot reads the public status: the dashboard, /api/v2 and the
// history feeds are all rendered from it.
func (a *App) statusSnapshot(c *gin.Context) (*models.StatusSnapshot, error) {
	return a.store.StatusSnapshot(c.Request.Context())
}

// statuspageDocument answers one /api/v2 document, open to every origin and
// cacheable for a short while.
func (a *App) statuspageDocument(sr statuspage.Route) handler {
	return func(c *gin.Context) error {
		snap, err := a.statusSnapshot(c)
		if err != nil {
			return err
		}
		body, err := json.Marshal(sr.Build(snap, a.absURL(c, "")))
		if err != nil {
			return err
		}
		httpcache.WritePublic(c, "application/json; charset=utf-8", body, statuspage.MaxAge)
		return nil
	}
}

// recentlyResolved is how far back the dashboard lists resolved incidents.
const recentlyResolved = 7 * 24 * time.Hour

// dashboard sums up the snapshot: services by group with their daily bars,
// open incidents, maintenance in progress and to come, and incidents
// resolved in the last week.
func (a *App) dashboard(c *gin.Context, snap *models.StatusSnapshot) *homePage {
	now := a.now().UTC()
	page := &homePage{base: a.base(c, "Service status"), Indicator: snap.Indicator}
	card := func(inc models.Incident) incidentCard {
		ic := incidentCard{Incident: inc, Overdue: inc.Overdue(now), Affected: snap.Affected[inc.ID]}
		if ups := snap.Updates[inc.ID]; len(ups) > 0 {
			ic.Latest, ic.Ago = &ups[0], now.Sub(ups[0].CreatedAt)
		}
		return ic
	}
	for _, inc := range snap.Open {
		switch {
		case inc.Kind == models.KindIncident:
			page.Open = append(page.Open, card(inc))
		case inc.Active():
			page.Active = append(page.Active, card(inc))
		default:
			page.Upcoming = append(page.Upcoming, card(inc))
		}
	}
	// Upcoming maintenance reads soonest first.
	slices.Reverse(page.Upcoming)
	for _, inc := range snap.Recent {
		if !inc.IsOpen() && now.Sub(*inc.ResolvedAt) <= recentlyResolved {
			page.Resolved = append(page.Resolved, card(inc))
		}
	}
	first := models.HistoryStart(snap.At, models.StatusHistoryDays)
	days := dayIncidents(snap, first)
	for _, s := range snap.Services {
		row := serviceRow{Service: s, Status: models.Operational, Uptime: snap.History[s.ID].Uptime}
		if st, ok := snap.Statuses[s.ID]; ok {
			row.Status = st
		}
		for d := range models.StatusHistoryDays {
			bar := dayBar{Day: first.AddDate(0, 0, d), Status: models.Operational}
			if incs := days[s.ID]; incs != nil {
				bar.Incidents = incs[d]
			}
			if h := snap.History[s.ID].Days; len(h) == models.StatusHistoryDays {
				bar.Status = h[d]
			}
			switch bar.Status {
			case models.NoData:
				row.NoDataDays++
			case models.Operational:
			default:
				row.BadDays++
			}
			row.Bars = append(row.Bars, bar)
		}
		if n := len(page.Groups); n == 0 || page.Groups[n-1].Name != s.GroupName {
			page.Groups = append(page.Groups, serviceGroup{Name: s.GroupName})
		}
		g := &page.Groups[len(page.Groups)-1]
		g.Services = append(g.Services, row)
	}
	return page
}

// dayIncidents sorts the snapshot's window of incidents into days: for each
// service, for each day of the history from first, the incidents and
// maintenance that set a status of that service during the day (from their
// start until they were resolved or completed, or until now), oldest first.
func dayIncidents(snap *models.StatusSnapshot, first time.Time) map[int64][][]models.Incident {
	out := map[int64][][]models.Incident{}
	for _, inc := range slices.Backward(snap.Window) {
		start, end := inc.StartedAt, snap.At
		if inc.ResolvedAt != nil {
			end = *inc.ResolvedAt
		}
		for _, is := range inc.Services {
			if out[is.ServiceID] == nil {
				out[is.ServiceID] = make([][]models.Incident, models.StatusHistoryDays)
			}
			for d := range models.StatusHistoryDays {
				dayStart, dayEnd := first.AddDate(0, 0, d), first.AddDate(0, 0, d+1)
				// Overlapping the day, or begun in it (an incident
				// resolved the moment it was declared still happened).
				if start.Before(dayEnd) && (end.After(dayStart) || !start.Before(dayStart)) {
					out[is.ServiceID][d] = append(out[is.ServiceID][d], inc)
				}
			}
		}
	}
	return out
}

func (a *App) healthz(c *gin.Context) error {
	return writeJSON(c, http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 503 while shutting down, so that a load balancer stops
// sending traffic. When the database does not answer, it says "degraded":
// with last good pages kept (-stale-for) the instance still serves the
// status, so it stays in (200) — every instance shares the database, and
// taking them all out would leave nobody to say "as of 14:05" —; without
// them it is out (503).
func (a *App) readyz(c *gin.Context) error {
	c.Header("Cache-Control", "no-store")
	if !a.ready.Load() {
		return writeJSON(c, http.StatusServiceUnavailable, gin.H{"status": "shutting down"})
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Error("readiness: database", "error", err)
		if a.cfg.StaleFor > 0 {
			return writeJSON(c, http.StatusOK, gin.H{"status": "degraded", "database": "unavailable",
				"serving": "last good public pages, up to " + a.cfg.StaleFor.String() + " old"})
		}
		return writeJSON(c, http.StatusServiceUnavailable, gin.H{"status": "degraded", "database": "unavailable"})
	}
	return writeJSON(c, http.StatusOK, gin.H{"status": "ready"})
}

func (a *App) favicon(c *gin.Context) error {
	u, err := a.assets.url("img/favicon.svg")
	if err != nil {
		return err
	}
	c.Redirect(http.StatusMovedPermanently, u)
	return nil
}
