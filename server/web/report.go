package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sitrep/models"

	"github.com/gin-gonic/gin"
)

type reportPage struct {
	base
	Services    []models.Service
	ServiceID   int64
	Query       string
	Searched    bool
	Suggestions []suggestion
	NewURL      string
}

// suggestion is one thread offered on "Report a problem", with what its
// incident (when it has one) says about joining it.
type suggestion struct {
	models.Thread
	// Own is an incident's own thread; its count is the incident's,
	// linked threads included, as the dashboard shows it.
	Own      bool
	Affected int
	// Planned is maintenance that has not started: nobody is affected yet.
	Planned bool
	// ResolvedAgo is how long ago the incident was resolved (0: open).
	ResolvedAgo time.Duration
}

// report is "Report a problem": pick a service and say what is wrong; the
// second step offers the open incidents and threads about it to join with
// one click (and incidents resolved lately, to say one is still affected),
// or goes on to a new thread with what was typed.
func (a *App) report(c *gin.Context) error {
	ctx := c.Request.Context()
	services, err := a.store.ListServices(ctx)
	if err != nil {
		return err
	}
	page := &reportPage{base: a.base(c, "Report a problem"), Services: services, Query: strings.TrimSpace(c.Query("title"))}
	if v := c.Query("service"); v != "" {
		if page.ServiceID, err = strconv.ParseInt(v, 10, 64); err != nil || page.ServiceID < 1 {
			return badRequest("service must be a service id.")
		}
	}
	if page.Query == "" {
		return a.renderPage(c, http.StatusOK, "report", page)
	}
	page.Searched = true
	found, err := a.store.SuggestThreads(ctx, models.Suggest{Text: page.Query, ServiceID: page.ServiceID, Limit: 8})
	if err != nil {
		return err
	}
	var own []int64
	for _, th := range found {
		sg := suggestion{Thread: th, Affected: th.AffectedCount}
		if inc := th.Incident; inc != nil && inc.ThreadID == th.ID {
			sg.Own = true
			sg.Planned = inc.Status == models.StatusScheduled
			if inc.ResolvedAt != nil {
				sg.ResolvedAgo = max(a.now().Sub(*inc.ResolvedAt), time.Minute)
			}
			own = append(own, inc.ID)
		}
		page.Suggestions = append(page.Suggestions, sg)
	}
	counts, err := a.store.AffectedCounts(ctx, own...)
	if err != nil {
		return err
	}
	for i, sg := range page.Suggestions {
		if sg.Own {
			page.Suggestions[i].Affected = counts[*sg.IncidentID]
		}
	}
	q := url.Values{"title": {page.Query}}
	if page.ServiceID != 0 {
		q.Set("service", strconv.FormatInt(page.ServiceID, 10))
	}
	page.NewURL = "/threads/new?" + q.Encode()
	return a.renderPage(c, http.StatusOK, "report", page)
}
