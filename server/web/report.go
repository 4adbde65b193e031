package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

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
func (a *App) report(c *gin.Context) error {
	ctx := c.Request.Context()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		return err
	}
	page := &reportPage{base: a.base(c, "Report a problem"), Services: services, Query: strings.TrimSpace(c.Query("title")), Own: map[int64]bool{}}
	if v := c.Query("service"); v != "" {
		if page.ServiceID, err = strconv.ParseInt(v, 10, 64); err != nil || page.ServiceID < 1 {
			return badRequest("service must be a service id.")
		}
	}
	if page.Query != "" {
		page.Searched = true
		if page.Suggestions, err = a.store.SuggestThreads(ctx, page.Query, 8); err != nil {
			return err
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
				return err
			}
			if page.Own[th.ID] = inc.ThreadID == th.ID; page.Own[th.ID] {
				incidents = append(incidents, inc.ID)
			}
		}
		counts, err := a.store.AffectedCounts(ctx, incidents...)
		if err != nil {
			return err
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
	return a.renderPage(c, http.StatusOK, "report", page)
}
