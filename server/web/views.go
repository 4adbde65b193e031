package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/templates"
)

// pageNames lists every page template (templates/pages/NAME.html).
var pageNames = []string{"home", "record", "signup", "login", "account", "admin_users", "error",
	"thread_list", "thread_new", "thread_show", "post_edit", "post_revisions", "search",
	"incident_new", "incident_list", "incident_overdue", "report", "admin_services",
	"mod_flags", "mod_user", "mod_audit", "mod_pick_thread", "notifications", "user_show",
	"subscribe", "token_action", "admin_subscriptions", "admin_outbox"}

// base is embedded in every page's data.
type base struct {
	SiteName string
	Title    string
	User     *models.User
	Flash    *flash
	Path     string
	// Unread is the signed-in person's count of unread notifications, for
	// the navigation's bell.
	Unread int
	// OpenFlags is, for moderators and admins, how many flags wait for
	// review, for the navigation. Only signed-in pages show it, and those
	// are never cached.
	OpenFlags int
	// Ended says why the browser's session no longer works (a suspension,
	// a role change), on the pages it may still read as a visitor.
	Ended string
	// Static is a page made for a snapshot: plain files, no script.
	Static bool
	// Nav marks the navigation's link to this page.
	Nav navCurrent
}

// navCurrent says which link of the navigation leads to the page shown
// (aria-current): fields, because a comparison per link in the layout
// cost every page about ninety allocations of reflection.
type navCurrent struct {
	Status, Incidents, Forum, Search, Flags, Audit, Users, Services, Subscriptions,
	Notifications, Account, Login, Signup bool
}

func navFor(path string) navCurrent {
	var n navCurrent
	switch path {
	case "/":
		n.Status = true
	case "/incidents":
		n.Incidents = true
	case "/threads":
		n.Forum = true
	case "/search":
		n.Search = true
	case "/mod/flags":
		n.Flags = true
	case "/mod/audit":
		n.Audit = true
	case "/admin/users":
		n.Users = true
	case "/admin/services":
		n.Services = true
	case "/admin/subscriptions":
		n.Subscriptions = true
	case "/notifications":
		n.Notifications = true
	case "/account":
		n.Account = true
	case "/login":
		n.Login = true
	case "/signup":
		n.Signup = true
	}
	return n
}

func (a *App) base(c *gin.Context, title string) base {
	b := base{SiteName: a.cfg.SiteName, Title: title, User: currentUser(c), Flash: a.takeFlash(c), Path: c.Request.URL.Path,
		Static: isSnapshot(c.Request), Nav: navFor(c.Request.URL.Path)}
	if ended, ok := c.Get(ctxRevoked); ok {
		b.Ended = classify(ended.(error)).Message
	}
	if b.User != nil {
		counts, err := a.store.UnreadCounts(c.Request.Context(), b.User.ID)
		if err != nil {
			// The page is still worth showing without its bell count.
			a.log.Warn("unread notifications", "request_id", requestID(c), "error", err)
		}
		b.Unread = counts[b.User.ID]
		if b.User.Role.CanModerate() {
			if b.OpenFlags, err = a.store.OpenFlagCount(c.Request.Context()); err != nil {
				a.log.Warn("open flags", "request_id", requestID(c), "error", err)
			}
		}
	}
	return b
}

// renderPage writes a page, or a plain 500 if the page itself fails. It
// returns nil so that a handler can end with it.
func (a *App) renderPage(c *gin.Context, status int, name string, data any) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	body, err := a.views.render(buf, name, data)
	if err != nil {
		a.log.Error("render failed", "request_id", requestID(c), "path", c.Request.URL.Path, "error", err)
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8",
			[]byte("Internal error. Request id: "+requestID(c)+"\n"))
		return nil
	}
	if status >= http.StatusBadRequest {
		// An error page may echo what was sent: never keep it.
		c.Header("Cache-Control", "no-store")
	}
	c.Data(status, "text/html; charset=utf-8", body)
	return nil
}

// flagArgs is what the flag form under a post needs: the post, the
// reasons, and the viewer's refused flag on it (if any).
type flagArgs struct {
	Post    postView
	Reasons []string
	Form    flagForm
}

func newFlagArgs(p postItem) flagArgs {
	args := flagArgs{Post: p.postView, Reasons: p.FlagReasons}
	if p.Flag.PostID == p.ID {
		args.Form = p.Flag
	}
	return args
}

// auditTargetView is an audit entry's target as the reader sees it: only
// admins get links to admin pages.
type auditTargetView struct {
	Entry models.AuditEntry
	Admin bool
}

// views holds one parsed template set per page: layout + partials + the page,
// so that pages cannot clash over block names.
type views struct {
	pages  map[string]*template.Template
	assets *assets
	// fragments keeps parts of pages rendered (posts, service rows).
	fragments *fragmentCache
}

func newViews(a *assets) (*views, error) {
	funcs := template.FuncMap{
		"asset":       a.url,
		"rfc3339":     rfc3339,
		"humanTime":   humanTime,
		"roleTitle":   roleTitle,
		"label":       label,
		"followLevel": followLevel,
		"duration":    duration,
		"count":       count,
		"minutes":     func(d time.Duration) int { return int(d / time.Minute) },
		"serviceChoice": func(s models.Service, f incidentForm) serviceChoice {
			return serviceChoice{ID: s.ID, Name: s.Name, Current: f.Services[s.ID]}
		},
		"formTime":     formTime,
		"impacts":      func() []string { return models.Impacts },
		"seconds":      func(n int) time.Duration { return time.Duration(n) * time.Second },
		"auditTargets": func() []string { return []string{"incident", "post", "service", "thread", "user"} },
		"flagArgs":     newFlagArgs,
		"auditTarget": func(e models.AuditEntry, viewer *models.User) auditTargetView {
			return auditTargetView{Entry: e, Admin: viewer != nil && viewer.Role == models.RoleAdmin}
		},
		"componentStatuses": func() []models.ComponentStatus {
			return models.ComponentStatuses
		},
	}
	v := &views{pages: map[string]*template.Template{}, assets: a, fragments: newFragmentCache(fragmentCacheBytes)}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templates.FS,
			"layout.html", "partials/*.html", "pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		v.pages[name] = t
	}
	return v, nil
}

// render executes a page into buf first, so a template error becomes a
// clean 500 rather than half a page with status 200.
func (v *views) render(buf *bytes.Buffer, name string, data any) ([]byte, error) {
	t, ok := v.pages[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	if err := t.Execute(buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// pageBuffers keeps the buffers pages render into: a thread page is a
// few hundred kilobytes, and growing a new buffer to that size for every
// page was a tenth of its time.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer kept for the next page.
const maxPooledBuffer = 4 << 20

func putPageBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	buf.Reset()
	pageBuffers.Put(buf)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// humanTime is the server's rendering of a time; site.js replaces it with the
// reader's own time zone.
func humanTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// label turns a status value into words: "in_progress" is "In progress".
func label(v any) string {
	s := strings.ReplaceAll(fmt.Sprint(v), "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// followLevel says what a follow level tells the follower.
func followLevel(level string) string {
	switch level {
	case models.FollowOfficial:
		return "official updates, linking and resolution"
	case models.FollowMuted:
		return "nothing (muted)"
	}
	return "every reply"
}

// serviceChoice is one service's line on the update form.
type serviceChoice struct {
	ID      int64
	Name    string
	Current models.ComponentStatus
}

// count writes how many of a noun there are: "1 post", "3 posts".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// duration writes a span the way a status page does: "12 min", "3 h 5 min",
// "2 days".
func duration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 48*60:
		if m%60 == 0 {
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d days", m/(24*60))
}

// formTime writes a time for an <input type="datetime-local"> in UTC.
func formTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(formTimeLayout)
}

func roleTitle(r models.Role) string {
	switch r {
	case models.RoleStaff:
		return "Sitrep support staff"
	case models.RoleModerator:
		return "Forum moderator"
	case models.RoleAdmin:
		return "Site administrator"
	}
	return ""
}
