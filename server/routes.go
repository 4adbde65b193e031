package main

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// route is one entry of the route table. The table is data so that tests can
// walk every route (the role-by-route matrix fails on a route without a row).
type route struct {
	method string
	path   string
	access access
	handle gin.HandlerFunc
}

// routes is every route in one place, grouped by who may use it.
func (a *app) routes() []route {
	return []route{
		// Public pages and infrastructure.
		{http.MethodGet, "/", public, a.home},
		{http.MethodGet, "/healthz", public, a.healthz},
		{http.MethodGet, "/readyz", public, a.readyz},
		{http.MethodGet, "/static/*filepath", public, a.assets.serve},
		{http.MethodGet, "/favicon.ico", public, a.favicon},

		// Accounts.
		{http.MethodGet, "/signup", public, a.signupShow},
		{http.MethodPost, "/signup", public, a.signupCreate},
		{http.MethodGet, "/login", public, a.loginShow},
		{http.MethodPost, "/login", public, a.loginCreate},
		{http.MethodPost, "/logout", public, a.logout},

		// Forum.
		{http.MethodGet, "/threads", public, a.threadList},
		{http.MethodGet, "/threads/new", signedIn, a.threadNew},
		{http.MethodPost, "/threads", signedIn, a.threadCreate},
		{http.MethodGet, "/threads/:id", public, a.threadShow},
		{http.MethodGet, "/threads/:id/feed.atom", public, a.threadFeed},
		{http.MethodPost, "/threads/:id/posts", signedIn, a.replyCreate},
		{http.MethodPost, "/threads/:id/affected", signedIn, a.threadAffected()},
		{http.MethodPost, "/threads/:id/following", signedIn, a.threadFollow()},
		{http.MethodGet, "/posts/:id", public, a.postShow},
		{http.MethodGet, "/posts/:id/edit", signedIn, a.postEdit},
		{http.MethodPost, "/posts/:id", signedIn, a.postUpdate},
		{http.MethodGet, "/posts/:id/revisions", public, a.postRevisions},
		{http.MethodGet, "/search", public, a.searchShow},
		{http.MethodGet, "/report", public, a.report},

		// Incidents.
		{http.MethodGet, "/incidents", public, a.incidentList},
		{http.MethodGet, "/incidents/new", staffOnly, a.incidentNew},
		{http.MethodPost, "/incidents", staffOnly, a.incidentCreate},
		{http.MethodGet, "/incidents/overdue", staffOnly, a.incidentOverdue},
		{http.MethodGet, "/incidents/:id", public, a.incidentShow},
		{http.MethodPost, "/incidents/:id/updates", staffOnly, a.incidentUpdate},
		{http.MethodPost, "/incidents/:id/postmortem", staffOnly, a.incidentPostmortem},
		{http.MethodPost, "/threads/:id/link", staffOnly, a.threadLink},

		// Statuspage-compatible API and feeds: public, cacheable.
		{http.MethodGet, "/api/v2/summary.json", public, a.spSummary},
		{http.MethodGet, "/api/v2/status.json", public, a.spStatus},
		{http.MethodGet, "/api/v2/components.json", public, a.spComponents},
		{http.MethodGet, "/api/v2/incidents.json", public, a.spIncidents},
		{http.MethodGet, "/api/v2/incidents/unresolved.json", public, a.spUnresolved},
		{http.MethodGet, "/api/v2/scheduled-maintenances.json", public, a.spMaintenances},
		{http.MethodGet, "/api/v2/scheduled-maintenances/upcoming.json", public, a.spUpcoming},
		{http.MethodGet, "/api/v2/scheduled-maintenances/active.json", public, a.spActive},
		{http.MethodGet, "/history.atom", public, a.historyAtom},
		{http.MethodGet, "/history.rss", public, a.historyRSS},
		{http.MethodGet, "/incidents/:id/feed.atom", public, a.incidentFeed},

		// Moderation.
		{http.MethodPost, "/posts/:id/flags", signedIn, a.flagCreate},
		{http.MethodGet, "/mod/flags", moderatorOnly, a.modQueue},
		{http.MethodPost, "/mod/flags/:id/resolve", moderatorOnly, a.modResolve},
		{http.MethodPost, "/threads/:id/lock", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/unlock", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/pin", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/unpin", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/slow-mode", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/merge", moderatorOnly, a.threadTool},
		{http.MethodPost, "/threads/:id/unmerge", moderatorOnly, a.threadTool},
		{http.MethodPost, "/posts/:id/hide", moderatorOnly, a.postTool},
		{http.MethodPost, "/posts/:id/unhide", moderatorOnly, a.postTool},
		{http.MethodPost, "/posts/:id/move", moderatorOnly, a.postTool},
		{http.MethodGet, "/mod/users/:id", moderatorOnly, a.modUser},
		{http.MethodPost, "/mod/users/:id/sanctions", moderatorOnly, a.modSanction},
		{http.MethodPost, "/mod/users/:id/lift", moderatorOnly, a.modSanction},
		{http.MethodGet, "/mod/audit", moderatorOnly, a.modAudit},

		// Signed in.
		{http.MethodGet, "/account", signedIn, a.accountShow},
		{http.MethodPost, "/account/email", signedIn, a.accountEmail},
		{http.MethodPost, "/account/password", signedIn, a.accountPassword},
		{http.MethodPost, "/account/tokens", signedIn, a.tokenCreate},
		{http.MethodPost, "/account/tokens/:id/revoke", signedIn, a.tokenRevoke},

		// Admin.
		{http.MethodGet, "/admin/users", adminOnly, a.adminUsers},
		{http.MethodPost, "/admin/users/:id/role", adminOnly, a.adminUserRole},
		{http.MethodGet, "/admin/services", adminOnly, a.adminServices},
		{http.MethodPost, "/admin/services", adminOnly, a.adminServiceSave},
		{http.MethodPost, "/admin/services/:id", adminOnly, a.adminServiceSave},

		// JSON API.
		{http.MethodGet, "/api/v1/me", signedIn, a.apiMe},
		{http.MethodPatch, "/api/v1/me", signedIn, a.apiMeUpdate},
		{http.MethodGet, "/api/v1/threads", public, a.apiThreadList},
		{http.MethodPost, "/api/v1/threads", signedIn, a.apiThreadCreate},
		{http.MethodGet, "/api/v1/threads/:id", public, a.apiThreadShow},
		{http.MethodPost, "/api/v1/threads/:id/posts", signedIn, a.apiReplyCreate},
		{http.MethodPut, "/api/v1/threads/:id/affected", signedIn, a.apiAffected},
		{http.MethodDelete, "/api/v1/threads/:id/affected", signedIn, a.apiAffected},
		{http.MethodPut, "/api/v1/threads/:id/following", signedIn, a.apiFollowing},
		{http.MethodDelete, "/api/v1/threads/:id/following", signedIn, a.apiFollowing},
		{http.MethodPatch, "/api/v1/posts/:id", signedIn, a.apiPostUpdate},
		{http.MethodGet, "/api/v1/posts/:id/revisions", public, a.apiPostRevisions},
		{http.MethodGet, "/api/v1/search", public, a.apiSearch},
		{http.MethodGet, "/api/v1/services", public, a.apiServiceList},
		{http.MethodPost, "/api/v1/services", adminOnly, a.apiServiceSave},
		{http.MethodPatch, "/api/v1/services/:id", adminOnly, a.apiServiceSave},
		{http.MethodGet, "/api/v1/incidents", public, a.apiIncidentList},
		{http.MethodPost, "/api/v1/incidents", staffOnly, a.apiIncidentCreate},
		{http.MethodGet, "/api/v1/incidents/:id", public, a.apiIncidentShow},
		{http.MethodPost, "/api/v1/incidents/:id/updates", staffOnly, a.apiIncidentUpdate},
		{http.MethodPost, "/api/v1/incidents/:id/postmortem", staffOnly, a.apiIncidentPostmortem},
		{http.MethodPost, "/api/v1/threads/:id/link", staffOnly, a.apiThreadLink},
		{http.MethodPost, "/api/v1/posts/:id/flags", signedIn, a.apiFlagCreate},
		{http.MethodGet, "/api/v1/flags", moderatorOnly, a.apiFlagList},
		{http.MethodPost, "/api/v1/flags/:id/resolve", moderatorOnly, a.apiFlagResolve},
		{http.MethodPost, "/api/v1/threads/:id/lock", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/unlock", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/pin", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/unpin", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/slow-mode", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/merge", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/threads/:id/unmerge", moderatorOnly, a.apiThreadTool},
		{http.MethodPost, "/api/v1/posts/:id/hide", moderatorOnly, a.apiPostTool},
		{http.MethodPost, "/api/v1/posts/:id/unhide", moderatorOnly, a.apiPostTool},
		{http.MethodPost, "/api/v1/posts/:id/move", moderatorOnly, a.apiPostTool},
		{http.MethodPost, "/api/v1/users/:id/warn", moderatorOnly, a.apiUserSanction},
		{http.MethodPost, "/api/v1/users/:id/silence", moderatorOnly, a.apiUserSanction},
		{http.MethodPost, "/api/v1/users/:id/suspend", moderatorOnly, a.apiUserSanction},
		{http.MethodPost, "/api/v1/users/:id/lift", moderatorOnly, a.apiUserSanction},
		{http.MethodGet, "/api/v1/audit", moderatorOnly, a.apiAudit},
	}
}

// router builds the HTTP handler: middleware in order, then the route table.
func (a *app) router() (*gin.Engine, error) {
	r := gin.New()
	// Client IPs come from the socket unless a proxy is trusted explicitly.
	if err := r.SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return nil, err
	}
	r.HandleMethodNotAllowed = true
	r.Use(a.requestLog, a.recoverPanic, securityHeaders, a.microCache, a.shedLoad, a.limitBody, a.crossOrigin(), a.loadUser)
	for _, rt := range a.routes() {
		r.Handle(rt.method, rt.path, a.guard(rt.access), rt.handle)
		if rt.method == http.MethodGet {
			// Monitors and load balancers probe with HEAD; net/http drops
			// the body.
			r.Handle(http.MethodHead, rt.path, a.guard(rt.access), rt.handle)
		}
		if strings.HasPrefix(rt.path, "/api/v2/") {
			// Browser widgets may ask first (CORS preflight); only the
			// real addresses answer, so a typo is a 404.
			r.Handle(http.MethodOptions, rt.path, a.spPreflight)
		}
	}
	r.NoRoute(func(c *gin.Context) { a.fail(c, errNotFound) })
	r.NoMethod(func(c *gin.Context) {
		a.fail(c, &httpError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "This address does not accept " + c.Request.Method + " requests."})
	})
	return r, nil
}
