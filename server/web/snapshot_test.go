package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"

	"sitrep/models"
	"sitrep/server/demo"
	"sitrep/server/statuspage"
)

// crawlSnapshot follows every relative link of the snapshot served at base
// from index.html, and checks each answer: pages link only to what the
// snapshot holds or to elsewhere, documents decode into Statuspage's shapes
// with no unknown field, feeds parse. It returns the paths it read.
func crawlSnapshot(t *testing.T, base string) map[string]bool {
	t.Helper()
	seen := map[string]bool{"/index.html": true}
	queue := []string{"/index.html"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d (linked from the snapshot)", p, resp.StatusCode)
			continue
		}
		switch {
		case strings.HasSuffix(p, ".html"):
			doc, err := html.Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var walk func(n *html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.ElementNode {
					if n.Data == "script" || n.Data == "form" {
						t.Errorf("%s has a %s", p, n.Data)
					}
					for _, at := range n.Attr {
						if (at.Key != "href" && at.Key != "src") || strings.HasPrefix(at.Val, "#") {
							continue
						}
						u, err := url.Parse(at.Val)
						if err != nil {
							t.Errorf("%s links to %q", p, at.Val)
							continue
						}
						if u.IsAbs() {
							continue // the live site, or elsewhere
						}
						if strings.HasPrefix(u.Path, "/") {
							t.Errorf("%s links to %q, which only works on the live site's address", p, at.Val)
							continue
						}
						next := (&url.URL{Path: p}).ResolveReference(&url.URL{Path: u.Path}).Path
						if !seen[next] {
							seen[next] = true
							queue = append(queue, next)
						}
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
		case strings.HasSuffix(p, ".json") && strings.HasSuffix(p, "summary.json"):
			var d statuspage.SummaryDoc
			decodeStrict(t, body, &d)
		case strings.HasSuffix(p, ".atom"), strings.HasSuffix(p, ".rss"):
			if _, err := gofeed.NewParser().Parse(bytes.NewReader(body)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	return seen
}

// TestSnapshot: the demo as a static snapshot, served by a plain file
// server: every link resolves, the documents and feeds read, nothing needs
// a script or a form; an official update rewrites it within 5 s; a reader
// during rewrites never meets a missing file.
func TestSnapshot(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.BaseURL = "https://status.example.com" })
	ctx := context.Background()
	e.clock.now = time.Now().UTC() // the demo tells today's story
	if err := demo.Load(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "status")
	if err := e.app.WriteSnapshot(ctx, link); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(link)))
	defer srv.Close()
	got := crawlSnapshot(t, srv.URL)
	for _, want := range []string{"/index.html", "/incidents/index.html", "/static/css/site.css", "/history.atom",
		"/incidents/5.html", "/incidents/5/feed.atom", "/record.html"} {
		if !got[want] {
			t.Errorf("the snapshot does not lead to %s (it holds %v)", want, got)
		}
	}
	// The documents are there even though no page links to most of them.
	for _, p := range []string{"/api/v2/summary.json", "/api/v2/status.json", "/api/v2/incidents/unresolved.json", "/history.rss"} {
		if resp, err := http.Get(srv.URL + p); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %v %v", p, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	index := func() string {
		resp, err := http.Get(srv.URL + "/index.html")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if !strings.Contains(index(), "Meeting invitations arrive late") {
		t.Fatal("the snapshot's dashboard lacks the open incident")
	}
	// It says what the live site says.
	live := e.page("/", nil)
	h1 := func(page string) string {
		i := strings.Index(page, `<section class="overall`)
		j := strings.Index(page[i:], "</h1>")
		return page[i : i+j]
	}
	if h1(live) != h1(index()) {
		t.Errorf("the snapshot says %q, the live site %q", h1(index()), h1(live))
	}

	// Kept current: an official update is in it within 5 s. A reader who
	// reads all the while never meets a missing file.
	e.startBackground()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	first, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { e.app.RunSnapshots(runCtx, link) })
	// The broker listens from the newest event there is when it starts: a
	// change made before that is never heard of. Its first rewrite takes
	// longer than that start, so the change waits for it.
	for waited := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if now, err := os.Readlink(link); err == nil && now != first {
			break
		}
		if time.Since(waited) > 5*time.Second {
			t.Fatal("RunSnapshots wrote no snapshot when it started")
		}
	}
	var reads, misses atomic.Int64
	wg.Go(func() {
		for runCtx.Err() == nil {
			for _, p := range []string{"/index.html", "/api/v2/summary.json", "/static/css/site.css"} {
				resp, err := http.Get(srv.URL + p)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				reads.Add(1)
				if resp.StatusCode != http.StatusOK {
					misses.Add(1)
				}
			}
		}
	})
	sam, err := e.store.UserByName(ctx, "sam.support")
	if err != nil {
		t.Fatal(err)
	}
	open, err := e.store.ListIncidents(ctx, models.IncidentFilter{Kind: models.KindIncident, Open: new(true)}, models.Page{})
	if err != nil || len(open.Items) == 0 {
		t.Fatal("no open incident in the demo", err)
	}
	posted := time.Now()
	if _, err := e.store.PostUpdate(ctx, sam, open.Items[0].ID, models.NewUpdate{Status: models.StatusResolved,
		Body: "The last invitations went out at 11:02."}); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(index(), "The last invitations went out at 11:02.") {
		if time.Since(posted) > 5*time.Second {
			t.Fatal("the snapshot was not rewritten within 5 s of the update")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A few more rewrites under the reader.
	for range 3 {
		if err := e.app.WriteSnapshot(ctx, link); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	if misses.Load() > 0 || reads.Load() == 0 {
		t.Errorf("%d of %d reads during the rewrites found nothing", misses.Load(), reads.Load())
	}
	if strings.Contains(index(), "Meeting invitations arrive late") && !strings.Contains(index(), "All Systems Operational") {
		t.Error("the rewritten dashboard still shows the incident as open")
	}
	// A folder that is not a snapshot's link is left alone.
	if err := e.app.WriteSnapshot(ctx, t.TempDir()); err == nil {
		t.Error("a snapshot replaced an ordinary folder")
	}
}
