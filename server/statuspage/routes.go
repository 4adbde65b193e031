package statuspage

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// Prefix is where the API lives; every answer under it, errors included,
// carries the CORS headers.
const Prefix = "/api/v2/"

// MaxAge is how long, in seconds, anyone may cache a document.
const MaxAge = 30

// Route is one document of the API: its path and how it is built from the
// status. root is the site's absolute URL without a trailing slash.
type Route struct {
	Path  string
	Build func(snap *models.StatusSnapshot, root string) any
}

// Routes lists the documents Statuspage serves, in its order.
func (s Site) Routes() []Route {
	doc := func(path string, build func(st *state) any) Route {
		return Route{Path: Prefix + path, Build: func(snap *models.StatusSnapshot, root string) any {
			return build(s.newState(snap, root))
		}}
	}
	return []Route{
		{Prefix + "summary.json", func(snap *models.StatusSnapshot, root string) any { return s.Summary(snap, root) }},
		doc("status.json", func(st *state) any { return StatusDoc{Page: st.page, Status: st.status} }),
		doc("components.json", func(st *state) any { return ComponentsDoc{Page: st.page, Components: st.components} }),
		// The newest incidents, resolved ones included.
		doc("incidents.json", func(st *state) any {
			return IncidentsDoc{Page: st.page, Incidents: st.incidents(st.snap.Recent)}
		}),
		// Incidents investigating, identified or monitoring.
		doc("incidents/unresolved.json", func(st *state) any {
			return IncidentsDoc{Page: st.page, Incidents: st.incidents(st.openOf(models.KindIncident, nil))}
		}),
		// The newest maintenances, completed ones included.
		doc("scheduled-maintenances.json", func(st *state) any {
			return MaintenancesDoc{Page: st.page, ScheduledMaintenances: st.maintenances(st.snap.RecentMaintenance)}
		}),
		// Maintenance still "scheduled".
		doc("scheduled-maintenances/upcoming.json", func(st *state) any {
			return MaintenancesDoc{Page: st.page, ScheduledMaintenances: st.maintenances(st.openOf(models.KindMaintenance,
				func(i *models.Incident) bool { return !i.Active() }))}
		}),
		// Maintenance in progress or being verified.
		doc("scheduled-maintenances/active.json", func(st *state) any {
			return MaintenancesDoc{Page: st.page, ScheduledMaintenances: st.maintenances(st.openOf(models.KindMaintenance,
				(*models.Incident).Active))}
		}),
	}
}

// CORS opens an answer to scripts on every origin, ETag included.
func CORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag")
}

// Preflight answers CORS preflight requests (a widget that sends
// If-None-Match or another header asks first).
func Preflight(c *gin.Context) {
	h := c.Writer.Header()
	CORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match, Accept, Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	c.Status(http.StatusNoContent)
}
