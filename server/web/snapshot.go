package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// A snapshot is the public status as plain files, for a second, independent
// host: the dashboard, the incidents of the last SnapshotDays days, the
// history pages, the Statuspage documents, the feeds and the static assets,
// linked to each other by relative links so that the folder works from any
// address, without Sitrep, without a database and without JavaScript. It is
// made by requesting the pages from this application, as a visitor, so it
// shows exactly what the live site shows.

// SnapshotDays is how far back a snapshot keeps incident pages.
const SnapshotDays = 90

// snapshotKey marks an in-process request made for a snapshot: pages drop
// their script and are not cached for visitors.
type snapshotKey struct{}

// snapshotPaths are the addresses a snapshot holds: the seeds are fetched
// and every link among them followed.
var snapshotPage = regexp.MustCompile(`^(/|/record|/incidents|/incidents/[0-9]+|/incidents/[0-9]+/feed\.atom|/history\.(atom|rss)|/api/v2/.+\.json|/static/.+)$`)

// WriteSnapshot writes the public status into a new folder beside link
// (link.versions/TIME) and then points link, a symbolic link, at it in one
// rename, so that a web server serving link never shows half a snapshot;
// older versions beyond the newest two are removed. link must not be a
// folder of its own.
func (a *App) WriteSnapshot(ctx context.Context, link string) error {
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("snapshot: %s exists and is not a snapshot's link; remove it or choose another name", link)
	}
	versions := link + ".versions"
	dir := filepath.Join(versions, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := a.snapshotInto(ctx, dir); err != nil {
		os.RemoveAll(dir)
		return err
	}
	// A new link beside the old one, then one rename over it: atomic.
	rel, err := filepath.Rel(filepath.Dir(link), dir)
	if err != nil {
		return err
	}
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// Keep the previous version a while for readers still in it.
	old, err := os.ReadDir(versions)
	if err != nil {
		return err
	}
	for i := 0; i < len(old)-2; i++ {
		os.RemoveAll(filepath.Join(versions, old[i].Name()))
	}
	return nil
}

// snapshotInto crawls the public pages from the seeds into dir.
func (a *App) snapshotInto(ctx context.Context, dir string) error {
	h, err := a.router()
	if err != nil {
		return err
	}
	seeds := []string{"/", "/incidents", "/history.atom", "/history.rss"}
	for _, r := range a.site.Routes() {
		seeds = append(seeds, r.Path)
	}
	queue := slices.Clone(seeds)
	seen := map[string]bool{}
	for _, s := range seeds {
		seen[s] = true
	}
	since := a.now().AddDate(0, 0, -SnapshotDays)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		r := httptest.NewRequestWithContext(context.WithValue(ctx, snapshotKey{}, true), http.MethodGet, u, nil)
		// Feeds and documents link to the live site by its address.
		r.Host = "localhost"
		if a.cfg.BaseURL != "" {
			r.Host = strings.TrimPrefix(strings.TrimPrefix(a.cfg.BaseURL, "https://"), "http://")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return fmt.Errorf("snapshot: %s answered %d; the snapshot is not replaced", u, w.Code)
		}
		file := snapshotFile(u)
		body := w.Body.Bytes()
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			var links []string
			if body, links, err = a.relink(body, file, since); err != nil {
				return fmt.Errorf("snapshot: %s: %w", u, err)
			}
			for _, l := range links {
				if !seen[l] {
					seen[l] = true
					queue = append(queue, l)
				}
			}
		}
		out := filepath.Join(dir, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// snapshotFile is where an address's answer goes in the snapshot.
func snapshotFile(u string) string {
	p, q, _ := strings.Cut(u, "?")
	switch {
	case p == "/":
		return "index.html"
	case p == "/record":
		return "record.html"
	case p == "/incidents" && q == "":
		return "incidents/index.html"
	case p == "/incidents":
		v, _ := url.ParseQuery(q)
		name := "incidents"
		if m := v.Get("month"); m != "" {
			name += "-" + m
		}
		if n := v.Get("page"); n != "" {
			name += "-page-" + n
		}
		return "incidents/" + strings.TrimPrefix(name, "incidents-") + ".html"
	case strings.HasPrefix(p, "/incidents/") && !strings.Contains(p[len("/incidents/"):], "/"):
		return p[1:] + ".html"
	}
	return p[1:] // feeds, documents and assets keep their names
}

// snapshotURL reduces a link to the address the snapshot holds, or "" when
// it holds none: only the history's months and pages keep their query, the
// assets lose their cache-busting one.
func (a *App) snapshotURL(href string, since time.Time) string {
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || !snapshotPage.MatchString(u.Path) {
		return ""
	}
	q := url.Values{}
	switch {
	case u.Path == "/incidents":
		for _, k := range []string{"month", "page"} {
			if v := u.Query().Get(k); v != "" {
				q.Set(k, v)
			}
		}
		if m := q.Get("month"); m != "" && m < since.Format("2006-01") {
			return ""
		}
	case u.RawQuery != "" && !strings.HasPrefix(u.Path, "/static/"):
		return "" // a thread's later pages and the like stay on the live site
	}
	if id, ok := strings.CutPrefix(u.Path, "/incidents/"); ok && !strings.Contains(id, "/") {
		var n int64
		if _, err := fmt.Sscan(id, &n); err != nil || !a.snapshotIncident(n, since) {
			return ""
		}
	}
	if len(q) > 0 {
		return u.Path + "?" + q.Encode()
	}
	return u.Path
}

// snapshotIncident tells whether an incident is recent enough for the
// snapshot.
func (a *App) snapshotIncident(id int64, since time.Time) bool {
	inc, err := a.store.IncidentByID(context.Background(), id)
	return err == nil && (inc.IsOpen() || inc.ResolvedAt.After(since) || inc.StartedAt.After(since))
}

// relink rewrites a page's links: those the snapshot holds become relative
// to the page's own file, the others lead to the live site (or nowhere,
// when its address is not configured). It returns the page and the
// snapshot's addresses it links to.
func (a *App) relink(page []byte, file string, since time.Time) ([]byte, []string, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, nil, err
	}
	var links []string
	from := path.Dir(file)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			kept := n.Attr[:0]
			for _, at := range n.Attr {
				if (at.Key == "href" || at.Key == "src") && !strings.HasPrefix(at.Val, "#") {
					target := a.snapshotURL(at.Val, since)
					switch {
					case target != "":
						rel, _ := filepath.Rel(from, snapshotFile(target))
						frag := ""
						if _, f, ok := strings.Cut(at.Val, "#"); ok {
							frag = "#" + f
						}
						at.Val = filepath.ToSlash(rel) + frag
						links = append(links, target)
					case strings.HasPrefix(at.Val, "/") && a.cfg.BaseURL != "":
						at.Val = a.cfg.BaseURL + at.Val
					case strings.HasPrefix(at.Val, "/"):
						continue // nowhere to lead: the link stays as text
					}
				}
				kept = append(kept, at)
			}
			n.Attr = kept
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var out bytes.Buffer
	if err := html.Render(&out, doc); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), links, nil
}

// isSnapshot tells whether a request is one of a snapshot's.
func isSnapshot(r *http.Request) bool {
	v, _ := r.Context().Value(snapshotKey{}).(bool)
	return v
}

// snapshotEvery is how often a kept snapshot is rewritten even when nothing
// official changed (the "N min ago" on its pages), and snapshotDelay how
// long a change waits for the next ones before it is written.
const (
	snapshotEvery = 5 * time.Minute
	snapshotDelay = time.Second
)

// RunSnapshots keeps a snapshot at link current until ctx ends: rewritten
// shortly after every official change this instance hears of (an update, a
// service change, a maintenance move) and at least every five minutes.
func (a *App) RunSnapshots(ctx context.Context, link string) {
	write := func() {
		if err := a.WriteSnapshot(ctx, link); err != nil && ctx.Err() == nil {
			a.log.Error("snapshot", "to", link, "error", err)
		}
	}
	write()
	tick := time.NewTicker(snapshotEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.officialChange:
			time.Sleep(snapshotDelay) // let the rest of a burst land
			select {
			case <-a.officialChange:
			default:
			}
		case <-tick.C:
		}
		write()
	}
}
