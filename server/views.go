package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/static"
	"sitrep/templates"
)

// pageNames lists every page template (templates/pages/NAME.html).
var pageNames = []string{"home", "signup", "login", "account", "admin_users", "error",
	"thread_list", "thread_new", "thread_show", "post_edit", "post_revisions", "search",
	"incident_new", "incident_list", "incident_overdue", "report", "admin_services",
	"mod_flags", "mod_user", "mod_audit"}

// flagArgs is what the flag form under a post needs.
type flagArgs struct {
	Post    postView
	Reasons []string
}

// views holds one parsed template set per page: layout + partials + the page,
// so that pages cannot clash over block names.
type views struct {
	pages  map[string]*template.Template
	assets *assets
}

func newViews(a *assets) (*views, error) {
	funcs := template.FuncMap{
		"asset":        a.url,
		"rfc3339":      rfc3339,
		"humanTime":    humanTime,
		"roleTitle":    roleTitle,
		"label":        label,
		"duration":     duration,
		"formTime":     formTime,
		"impacts":      func() []string { return models.Impacts },
		"seconds":      func(n int) time.Duration { return time.Duration(n) * time.Second },
		"auditTargets": func() []string { return []string{"incident", "post", "service", "thread", "user"} },
		"flagArgs":     func(p postView, reasons []string) flagArgs { return flagArgs{Post: p, Reasons: reasons} },
		"componentStatuses": func() []models.ComponentStatus {
			return models.ComponentStatuses
		},
	}
	v := &views{pages: map[string]*template.Template{}, assets: a}
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

// render executes a page into a buffer first, so a template error becomes a
// clean 500 rather than half a page with status 200.
func (v *views) render(name string, data any) ([]byte, error) {
	t, ok := v.pages[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
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

// asset is one embedded static file with its content hash.
type asset struct {
	body  []byte
	hash  string
	ctype string
}

// assets serves static files with cache-busting URLs: the URL carries the
// content hash, so a changed file gets a new URL and old ones may be cached
// for a year.
type assets struct {
	files map[string]asset
}

func newAssets() (*assets, error) {
	a := &assets{files: map[string]asset{}}
	err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		a.files[p] = asset{body: body, hash: hex.EncodeToString(sum[:])[:12], ctype: ctype}
		return nil
	})
	return a, err
}

// url gives the cache-busted URL of a static file; a missing file fails the
// page render at start-up tests rather than linking nowhere.
func (a *assets) url(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

func (a *assets) serve(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("filepath"), "/")
	f, ok := a.files[name]
	if !ok {
		c.Status(http.StatusNotFound)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if c.Query("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.body))
}
