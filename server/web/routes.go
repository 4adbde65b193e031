package web

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"sitrep/server/statuspage"
)

// handler is a route's own work. An error it returns is answered by fail,
// the one error ladder of the application.
type handler func(c *gin.Context) error

// route is one entry of the route table. The table is data so that tests
// can walk every route: the role-by-route matrix fails on a route without a
// row, and the policy test on a route without a decision on caching and
// shedding.
type route struct {
	method string
	path   string
	access access
	cache  cachePolicy
	shed   shedPolicy
	handle handler
}

// cachePolicy says whether visitors' answers of a route may be served from
// the micro-cache, and which query parameters change the answer.
type cachePolicy struct {
	decided bool
	shared  bool
	// params are the query parameters the route reads; the cache key holds
	// them in this order and the handler sees no others, so an unknown
	// parameter (?utm_source=) is a hit, never a second copy.
	params []string
}

// noCache: every request is worked on (forms, personal pages, writes).
var noCache = cachePolicy{decided: true}

// visitorCache: visitors' answers are shared for the cache's TTL.
func visitorCache(params ...string) cachePolicy {
	return cachePolicy{decided: true, shared: true, params: params}
}

// shedPolicy says whether a route is refused with 503 when too many
// requests are in flight.
type shedPolicy int

const (
	_ shedPolicy = iota
	sheds
	// neverShed: the probes (a load balancer must still see a busy server
	// alive and ready, or it would take it out and overload the rest), the
	// embedded static files (no database work, and an admitted page needs
	// its stylesheet) and CORS preflights.
	neverShed
)

// Query parameters that pages and lists read.
var (
	pageParams  = []string{"page", "per_page"}
	listParams  = append([]string{"service", "open", "linked", "following", "after"}, pageParams...)
	queryParams = append([]string{"q"}, pageParams...)
)

// routes is every route in one place, grouped by who may use it.
func (a *App) routes() []route {
	const get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	rs := []route{
		// Public pages and infrastructure.
		{get, "/", public, visitorCache(), sheds, a.home},
		{get, "/healthz", public, noCache, neverShed, a.healthz},
		{get, "/readyz", public, noCache, neverShed, a.readyz},
		{get, "/static/*filepath", public, noCache, neverShed, a.assets.serve},
		{get, "/favicon.ico", public, noCache, neverShed, a.favicon},
		{get, "/badge.svg", public, visitorCache(), sheds, a.badgeOverall},
		{get, "/services/:id/badge.svg", public, visitorCache(), sheds, a.badgeService},
		{get, "/record", public, visitorCache(), sheds, a.record},

		// Accounts.
		{get, "/signup", public, noCache, sheds, a.signupShow},
		{post, "/signup", public, noCache, sheds, a.signupCreate},
		{get, "/login", public, noCache, sheds, a.loginShow},
		{post, "/login", public, noCache, sheds, a.loginCreate},
		{post, "/logout", public, noCache, sheds, a.logout},
		{get, "/signup/confirm", public, noCache, sheds, a.signupConfirmShow},
		{post, "/signup/confirm", public, noCache, sheds, a.signupConfirm},

		// Subscriptions, no account needed. A link's page (GET) shows a
		// button; only its POST acts. The unsubscribe POST is also RFC
		// 8058's one-click, sent without Origin, so the cross-site check
		// lets it through.
		{get, "/subscribe", public, visitorCache("incident"), sheds, a.subscribeShow},
		{post, "/subscribe", public, noCache, sheds, a.subscribeCreate},
		{get, "/subscriptions/confirm", public, noCache, sheds, a.subscriptionConfirmShow},
		{post, "/subscriptions/confirm", public, noCache, sheds, a.subscriptionConfirm},
		{get, "/subscriptions/unsubscribe", public, noCache, sheds, a.unsubscribeShow},
		{post, "/subscriptions/unsubscribe", public, noCache, sheds, a.unsubscribe},

		// Forum.
		{get, "/threads", public, visitorCache(listParams...), sheds, a.threadList},
		{get, "/threads/new", signedIn, noCache, sheds, a.threadNew},
		{post, "/threads", signedIn, noCache, sheds, a.threadCreate},
		{get, "/threads/:id", public, visitorCache(pageParams...), sheds, a.threadShow},
		{get, "/threads/:id/feed.atom", public, visitorCache(), sheds, a.threadFeed},
		{post, "/threads/:id/posts", signedIn, noCache, sheds, a.replyCreate},
		{post, "/threads/:id/affected", signedIn, noCache, sheds, a.threadAffected},
		{post, "/threads/:id/following", signedIn, noCache, sheds, a.threadFollow},
		{get, "/posts/:id", public, noCache, sheds, a.postShow},
		{get, "/posts/:id/edit", signedIn, noCache, sheds, a.postEdit},
		{post, "/posts/:id", signedIn, noCache, sheds, a.postUpdate},
		{get, "/posts/:id/revisions", public, noCache, sheds, a.postRevisions},
		{get, "/search", public, visitorCache(queryParams...), sheds, a.searchShow},
		{get, "/users/:name", public, visitorCache(pageParams...), sheds, a.userShow},
		{get, "/report", public, visitorCache("service", "title"), sheds, a.report},

		// Incidents.
		{get, "/incidents", public, visitorCache(append([]string{"month"}, pageParams...)...), sheds, a.incidentList},
		{get, "/incidents/new", staffOnly, noCache, sheds, a.incidentNew},
		{post, "/incidents", staffOnly, noCache, sheds, a.incidentCreate},
		{get, "/incidents/overdue", staffOnly, noCache, sheds, a.incidentOverdue},
		{get, "/incidents/:id", public, visitorCache(pageParams...), sheds, a.incidentShow},
		{post, "/incidents/:id/updates", staffOnly, noCache, sheds, a.incidentUpdate},
		{post, "/incidents/:id/postmortem", staffOnly, noCache, sheds, a.incidentPostmortem},
		{post, "/threads/:id/link", staffOnly, noCache, sheds, a.threadLink},
		{post, "/threads/:id/unlink", staffOnly, noCache, sheds, a.threadUnlink},

		// Feeds: public, cacheable.
		{get, "/history.atom", public, visitorCache(), sheds, a.historyAtom},
		{get, "/history.rss", public, visitorCache(), sheds, a.historyRSS},
		{get, "/incidents/:id/feed.atom", public, visitorCache(), sheds, a.incidentFeed},

		// Moderation.
		{post, "/posts/:id/flags", signedIn, noCache, sheds, a.flagCreate},
		{get, "/mod/flags", moderatorOnly, noCache, sheds, a.modQueue},
		{post, "/mod/flags/:id/resolve", moderatorOnly, noCache, sheds, a.modResolve},
		{post, "/threads/:id/lock", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/threads/:id/unlock", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/threads/:id/pin", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/threads/:id/unpin", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/threads/:id/slow-mode", moderatorOnly, noCache, sheds, a.threadTool},
		{get, "/mod/threads/:id/merge", moderatorOnly, noCache, sheds, picker(a.showMergePicker)},
		{post, "/threads/:id/merge", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/threads/:id/unmerge", moderatorOnly, noCache, sheds, a.threadTool},
		{post, "/posts/:id/hide", moderatorOnly, noCache, sheds, a.postTool},
		{post, "/posts/:id/unhide", moderatorOnly, noCache, sheds, a.postTool},
		{get, "/mod/posts/:id/move", moderatorOnly, noCache, sheds, picker(a.showMovePicker)},
		{post, "/posts/:id/move", moderatorOnly, noCache, sheds, a.postTool},
		{get, "/mod/users/:id", moderatorOnly, noCache, sheds, a.modUser},
		{post, "/mod/users/:id/sanctions", moderatorOnly, noCache, sheds, a.modSanction},
		{post, "/mod/users/:id/lift", moderatorOnly, noCache, sheds, a.modSanction},
		{get, "/mod/audit", moderatorOnly, noCache, sheds, a.modAudit},

		// Signed in.
		{get, "/notifications", signedIn, noCache, sheds, a.notificationList},
		{post, "/notifications/read", signedIn, noCache, sheds, a.notificationsRead},
		{get, "/account", signedIn, noCache, sheds, a.accountShow},
		{post, "/account/email", signedIn, noCache, sheds, a.accountEmail},
		{post, "/account/password", signedIn, noCache, sheds, a.accountPassword},
		{post, "/account/tokens", signedIn, noCache, sheds, a.tokenCreate},
		{post, "/account/tokens/:id/revoke", signedIn, noCache, sheds, a.tokenRevoke},
		{post, "/account/mail", signedIn, noCache, sheds, a.accountMail},

		// Admin.
		{get, "/admin/users", adminOnly, noCache, sheds, a.adminUsers},
		{post, "/admin/users/:id/role", adminOnly, noCache, sheds, a.adminUserRole},
		{get, "/admin/services", adminOnly, noCache, sheds, a.adminServices},
		{post, "/admin/services", adminOnly, noCache, sheds, a.adminServiceSave},
		{post, "/admin/services/:id", adminOnly, noCache, sheds, a.adminServiceSave},
		{get, "/admin/subscriptions", adminOnly, noCache, sheds, a.adminSubscriptions},
		{post, "/admin/subscriptions/:id/delete", adminOnly, noCache, sheds, a.adminSubscriptionDelete},
		{get, "/admin/outbox", adminOnly, noCache, sheds, a.adminOutbox},

		// JSON API.
		{get, "/api/v1/me", signedIn, noCache, sheds, a.apiMe},
		{patch, "/api/v1/me", signedIn, noCache, sheds, a.apiMeUpdate},
		{get, "/api/v1/threads", public, noCache, sheds, a.apiThreadList},
		{post, "/api/v1/threads", signedIn, noCache, sheds, a.apiThreadCreate},
		{get, "/api/v1/threads/:id", public, noCache, sheds, a.apiThreadShow},
		{post, "/api/v1/threads/:id/posts", signedIn, noCache, sheds, a.apiReplyCreate},
		{put, "/api/v1/threads/:id/affected", signedIn, noCache, sheds, a.apiAffected},
		{del, "/api/v1/threads/:id/affected", signedIn, noCache, sheds, a.apiAffected},
		{put, "/api/v1/threads/:id/following", signedIn, noCache, sheds, a.apiFollowing},
		{del, "/api/v1/threads/:id/following", signedIn, noCache, sheds, a.apiFollowing},
		{patch, "/api/v1/posts/:id", signedIn, noCache, sheds, a.apiPostUpdate},
		{get, "/api/v1/posts/:id/revisions", public, noCache, sheds, a.apiPostRevisions},
		{get, "/api/v1/search", public, visitorCache(queryParams...), sheds, a.apiSearch},
		{get, "/api/v1/services", public, noCache, sheds, a.apiServiceList},
		{post, "/api/v1/services", adminOnly, noCache, sheds, a.apiServiceSave},
		{patch, "/api/v1/services/:id", adminOnly, noCache, sheds, a.apiServiceSave},
		{get, "/api/v1/incidents", public, noCache, sheds, a.apiIncidentList},
		{post, "/api/v1/incidents", staffOnly, noCache, sheds, a.apiIncidentCreate},
		{get, "/api/v1/incidents/:id", public, noCache, sheds, a.apiIncidentShow},
		{get, "/api/v1/record", public, visitorCache(), sheds, a.apiRecord},
		{post, "/api/v1/incidents/:id/updates", staffOnly, noCache, sheds, a.apiIncidentUpdate},
		{post, "/api/v1/incidents/:id/postmortem", staffOnly, noCache, sheds, a.apiIncidentPostmortem},
		{post, "/api/v1/threads/:id/link", staffOnly, noCache, sheds, a.apiThreadLink},
		{del, "/api/v1/threads/:id/link", staffOnly, noCache, sheds, a.apiThreadUnlink},
		{post, "/api/v1/posts/:id/flags", signedIn, noCache, sheds, a.apiFlagCreate},
		{get, "/api/v1/flags", moderatorOnly, noCache, sheds, a.apiFlagList},
		{post, "/api/v1/flags/:id/resolve", moderatorOnly, noCache, sheds, a.apiFlagResolve},
		{post, "/api/v1/threads/:id/lock", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/unlock", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/pin", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/unpin", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/slow-mode", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/merge", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/threads/:id/unmerge", moderatorOnly, noCache, sheds, a.apiThreadTool},
		{post, "/api/v1/posts/:id/hide", moderatorOnly, noCache, sheds, a.apiPostTool},
		{post, "/api/v1/posts/:id/unhide", moderatorOnly, noCache, sheds, a.apiPostTool},
		{post, "/api/v1/posts/:id/move", moderatorOnly, noCache, sheds, a.apiPostTool},
		{post, "/api/v1/users/:id/warn", moderatorOnly, noCache, sheds, a.apiUserSanction},
		{post, "/api/v1/users/:id/silence", moderatorOnly, noCache, sheds, a.apiUserSanction},
		{post, "/api/v1/users/:id/suspend", moderatorOnly, noCache, sheds, a.apiUserSanction},
		{post, "/api/v1/users/:id/lift", moderatorOnly, noCache, sheds, a.apiUserSanction},
		{get, "/api/v1/audit", moderatorOnly, noCache, sheds, a.apiAudit},
		{post, "/api/v1/subscriptions", public, noCache, sheds, a.apiSubscribe},
		{get, "/api/v1/subscriptions", adminOnly, noCache, sheds, a.apiSubscriptionList},
		{get, "/api/v1/subscriptions/:id/deliveries", adminOnly, noCache, sheds, a.apiSubscriptionDeliveries},
		{del, "/api/v1/subscriptions/:id", adminOnly, noCache, sheds, a.apiSubscriptionDelete},

		// Live updates and notifications. Streams are long-lived: they
		// have a bound of their own (-max-streams) and take no shedding
		// slot.
		{get, "/api/v1/stream", public, noCache, neverShed, a.stream},
		{get, "/api/v1/notifications", signedIn, noCache, sheds, a.apiNotificationList},
		{post, "/api/v1/notifications/read", signedIn, noCache, sheds, a.apiNotificationsRead},
	}
	// The Statuspage-compatible API: public and cacheable; browser widgets
	// may ask first (CORS preflight), and only the real addresses answer, so
	// a typo is a 404.
	for _, sr := range a.site.Routes() {
		rs = append(rs,
			route{get, sr.Path, public, visitorCache(), sheds, a.statuspageDocument(sr)},
			route{http.MethodOptions, sr.Path, public, noCache, neverShed, func(c *gin.Context) error {
				statuspage.Preflight(c)
				return nil
			}})
	}
	return rs
}

// router builds the HTTP handler: the middleware every request passes, then
// each route with the chain its row asks for.
func (a *App) router() (*gin.Engine, error) {
	r := gin.New()
	// Client IPs come from the socket unless a proxy is trusted explicitly.
	if err := r.SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return nil, err
	}
	r.HandleMethodNotAllowed = true
	r.Use(a.requestLog, a.recoverPanic, securityHeaders, statuspageCORS, a.purgeAfterChange)
	for _, rt := range a.routes() {
		if err := a.handle(r, rt); err != nil {
			return nil, err
		}
	}
	notFound := a.adapt(func(*gin.Context) error { return errNotFound })
	r.NoRoute(a.shedLoad, a.limitBody, a.crossOrigin, a.loadUser, notFound)
	r.NoMethod(a.loadUser, a.adapt(func(c *gin.Context) error {
		return &httpError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "This address does not accept " + c.Request.Method + " requests."}
	}))
	return r, nil
}

// handle registers one route with the chain its row asks for: the visitors'
// cache and load shedding first (a cache hit or a refusal costs no database
// work), then the body limit, the cross-site check, the caller's identity
// and the access guard.
func (a *App) handle(r *gin.Engine, rt route) error {
	if !rt.cache.decided || rt.shed == 0 {
		return fmt.Errorf("route %s %s: decide its caching and shedding in the route table", rt.method, rt.path)
	}
	tail := []gin.HandlerFunc{a.limitBody, a.crossOrigin, a.loadUser, a.guard(rt.access), a.adapt(rt.handle)}
	if rt.shed == sheds {
		tail = append([]gin.HandlerFunc{a.shedLoad}, tail...)
	}
	chain := tail
	if rt.cache.shared {
		chain = append([]gin.HandlerFunc{a.visitorCache(rt.cache.params)}, tail...)
	}
	r.Handle(rt.method, rt.path, chain...)
	if rt.method == http.MethodGet {
		// Monitors and load balancers probe with HEAD; net/http drops the
		// body. HEAD answers are not cached.
		r.Handle(http.MethodHead, rt.path, tail...)
	}
	return nil
}

// adapt turns a handler into gin's form, answering its error with fail.
func (a *App) adapt(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			a.fail(c, err)
		}
	}
}
