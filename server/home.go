package main

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// dayBar is one day of a service's 90-day history.
type dayBar struct {
	Day    time.Time
	Status models.ComponentStatus
}

type serviceRow struct {
	models.Service
	Status models.ComponentStatus
	Bars   []dayBar
	// BadDays counts the days that were not fully operational.
	BadDays int
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

// historyDays is how many daily bars each service shows.
const historyDays = 90

// home is the service health dashboard.
func (a *app) home(c *gin.Context) {
	page, err := a.dashboard(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderPage(c, http.StatusOK, "home", page)
}

func (a *app) dashboard(c *gin.Context) (*homePage, error) {
	ctx := c.Request.Context()
	now := a.now().UTC()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	statuses, err := a.store.ServiceStatuses(ctx)
	if err != nil {
		return nil, err
	}
	days, err := a.store.DailyStatuses(ctx, historyDays)
	if err != nil {
		return nil, err
	}
	yes, no, since := true, false, now.AddDate(0, 0, -7)
	all := models.Page{PerPage: models.MaxPerPage}
	lists := []struct {
		f   models.IncidentFilter
		out *[]incidentCard
	}{
		{models.IncidentFilter{Kind: models.KindIncident, Open: &yes}, nil},
		{models.IncidentFilter{Kind: models.KindMaintenance, Active: &yes}, nil},
		{models.IncidentFilter{Kind: models.KindMaintenance, Open: &yes, Active: &no}, nil},
		{models.IncidentFilter{Kind: models.KindIncident, Open: &no, Since: &since}, nil},
	}
	page := &homePage{base: a.base(c, "Service status")}
	lists[0].out, lists[1].out, lists[2].out, lists[3].out = &page.Open, &page.Active, &page.Upcoming, &page.Resolved
	var open []models.Incident
	var ids []int64
	for i, l := range lists {
		got, err := a.store.ListIncidents(ctx, l.f, all)
		if err != nil {
			return nil, err
		}
		for _, inc := range got.Items {
			*l.out = append(*l.out, incidentCard{Incident: inc, Overdue: inc.Overdue(now)})
			ids = append(ids, inc.ID)
			if i < 2 {
				open = append(open, inc)
			}
		}
	}
	// Upcoming maintenance reads soonest first.
	slices.Reverse(page.Upcoming)
	latest, err := a.store.IncidentUpdates(ctx, currentUser(c), 1, ids...)
	if err != nil {
		return nil, err
	}
	counts, err := a.store.AffectedCounts(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for _, cards := range [][]incidentCard{page.Open, page.Active, page.Upcoming, page.Resolved} {
		for i := range cards {
			cards[i].Affected = counts[cards[i].ID]
			for j := range latest {
				if latest[j].IncidentID == cards[i].ID {
					cards[i].Latest, cards[i].Ago = &latest[j], now.Sub(latest[j].CreatedAt)
				}
			}
		}
	}
	page.Indicator = models.OverallIndicator(open, statuses)
	first := now.Truncate(24*time.Hour).AddDate(0, 0, -(historyDays - 1))
	for _, s := range services {
		row := serviceRow{Service: s, Status: models.Operational}
		if st, ok := statuses[s.ID]; ok {
			row.Status = st
		}
		for d := range historyDays {
			bar := dayBar{Day: first.AddDate(0, 0, d), Status: models.Operational}
			if h, ok := days[s.ID]; ok {
				bar.Status = h[d]
			}
			if bar.Status != models.Operational {
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
	return page, nil
}

func (a *app) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 503 while shutting down or when the database does not
// answer, so a load balancer stops sending traffic.
func (a *app) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if !a.ready.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Error("readiness: database", "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "database unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (a *app) favicon(c *gin.Context) {
	u, err := a.assets.url("img/favicon.svg")
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Redirect(http.StatusMovedPermanently, u)
}
