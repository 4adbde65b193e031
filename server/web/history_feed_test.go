package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"sitrep/models"
)

// parseFeed fetches a feed through the router and parses it with gofeed.
func parseFeed(t *testing.T, e *testEnv, path, wantType string) (*gofeed.Feed, string) {
	t.Helper()
	w := e.do(req{method: http.MethodGet, path: path})
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
		t.Errorf("%s: content type %q, want %s", path, ct, wantType)
	}
	f, err := gofeed.NewParser().ParseString(w.Body.String())
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%.600s", path, err, w.Body.String())
	}
	return f, w.Body.String()
}

// fixtureTitles are the history entries of the Statuspage fixture, newest
// first: one per official update, and the resolved incident's postmortem.
var fixtureTitles = []string{
	"Mail delivery delayed: Identified",
	"Mail delivery delayed: Investigating",
	"Webmail migration: In progress",
	"API upgrade: Scheduled",
	"Webmail migration: Scheduled",
	"Website slow: Postmortem",
	"Website slow: Resolved",
	"Website slow: Investigating",
}

func itemTitles(f *gofeed.Feed) []string {
	var out []string
	for _, it := range f.Items {
		out = append(out, it.Title)
	}
	return out
}

func TestHistoryFeedAtom(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.BaseURL = "https://status.example.com" })
	f := newSPFixture(e)
	feed, _ := parseFeed(t, e, "/history.atom", "application/atom+xml")
	if feed.FeedType != "atom" || feed.Title != "Sitrep incident history" || feed.Link != "https://status.example.com/" {
		t.Errorf("feed %s %q %q", feed.FeedType, feed.Title, feed.Link)
	}
	if feed.FeedLink != "https://status.example.com/history.atom" || feed.UpdatedParsed == nil {
		t.Errorf("self link %q, updated %v", feed.FeedLink, feed.UpdatedParsed)
	}
	if got := itemTitles(feed); strings.Join(got, "\n") != strings.Join(fixtureTitles, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(fixtureTitles, "\n"))
	}
	first := feed.Items[0]
	if first.Link != fmt.Sprintf("https://status.example.com/incidents/%d", f.open.ID) ||
		!strings.HasPrefix(first.GUID, "https://status.example.com/posts/") ||
		!strings.Contains(first.Content, "<em>queue</em>") || first.Author == nil || first.Author.Name != "sam.support" {
		t.Errorf("first entry: link %q id %q content %q", first.Link, first.GUID, first.Content)
	}
	if !feed.UpdatedParsed.Equal(*first.PublishedParsed) {
		t.Errorf("feed updated %v, newest entry %v", feed.UpdatedParsed, first.PublishedParsed)
	}
	seen := map[string]bool{}
	for i, it := range feed.Items {
		if seen[it.GUID] {
			t.Errorf("entry id %q repeats", it.GUID)
		}
		seen[it.GUID] = true
		if i > 0 && it.PublishedParsed.After(*feed.Items[i-1].PublishedParsed) {
			t.Errorf("entry %d is newer than entry %d", i, i-1)
		}
	}
}

// rssDoc is the raw RSS 2.0 structure, for what gofeed does not expose.
type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title       string `xml:"title"`
		Description string `xml:"description"`
		// The RSS link and the atom:link to the feed itself.
		Links []struct {
			XMLName xml.Name
			Href    string `xml:"href,attr"`
			Rel     string `xml:"rel,attr"`
			Value   string `xml:",chardata"`
		} `xml:"link"`
		Items []struct {
			GUID struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			PubDate string `xml:"pubDate"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestHistoryFeedRSS(t *testing.T) {
	e := newTestEnv(t)
	f := newSPFixture(e)
	feed, body := parseFeed(t, e, "/history.rss", "application/rss+xml")
	if feed.FeedType != "rss" || feed.FeedVersion != "2.0" || feed.Title != "Sitrep incident history" ||
		feed.Link != "http://example.com/" || feed.Description == "" {
		t.Errorf("channel: %s %s %q %q %q", feed.FeedType, feed.FeedVersion, feed.Title, feed.Link, feed.Description)
	}
	if got := itemTitles(feed); strings.Join(got, "\n") != strings.Join(fixtureTitles, "\n") {
		t.Fatalf("items:\n%s", strings.Join(got, "\n"))
	}
	if it := feed.Items[0]; it.Link != fmt.Sprintf("http://example.com/incidents/%d", f.open.ID) ||
		!strings.Contains(it.Description, "<em>queue</em>") {
		t.Errorf("first item: %q %q", it.Link, it.Description)
	}
	var doc rssDoc
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.0" || doc.Channel.Title == "" || doc.Channel.Description == "" {
		t.Errorf("channel %+v", doc.Channel)
	}
	var link, self string
	for _, l := range doc.Channel.Links {
		switch l.XMLName.Space {
		case "":
			link = l.Value
		case "http://www.w3.org/2005/Atom":
			if l.Rel == "self" {
				self = l.Href
			}
		}
	}
	if link != "http://example.com/" || self != "http://example.com/history.rss" {
		t.Errorf("channel link %q, self link %q", link, self)
	}
	var prev time.Time
	for i, it := range doc.Channel.Items {
		if it.GUID.IsPermaLink != "true" || !strings.HasPrefix(it.GUID.Value, "http://example.com/posts/") && !strings.HasSuffix(it.GUID.Value, "#postmortem") {
			t.Errorf("item %d guid %+v", i, it.GUID)
		}
		pub, err := time.Parse(time.RFC1123Z, it.PubDate)
		if err != nil {
			t.Errorf("item %d pubDate %q: %v", i, it.PubDate, err)
		}
		if i > 0 && pub.After(prev) {
			t.Errorf("item %d is newer than item %d", i, i-1)
		}
		prev = pub
	}
}

// TestHistoryFeedBounded: the history feeds carry the newest 50 updates.
func TestHistoryFeedBounded(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	staff := e.user("sam.support", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	for i := range 30 {
		inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: fmt.Sprintf("Incident number %d", i),
			Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
			Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
		e.clock.Advance(time.Minute)
		if _, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Done."}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, _ := parseFeed(t, e, path, "application/")
		if len(feed.Items) != 50 || feed.Items[0].Title != "Incident number 29: Resolved" || feed.Items[49].Title != "Incident number 5: Investigating" {
			t.Errorf("%s: %d items, first %q, last %q", path, len(feed.Items), feed.Items[0].Title, feed.Items[len(feed.Items)-1].Title)
		}
	}
}

// TestIncidentFeed: one incident's official updates, newest first.
func TestIncidentFeed(t *testing.T) {
	e := newTestEnv(t)
	f := newSPFixture(e)
	feed, _ := parseFeed(t, e, fmt.Sprintf("/incidents/%d/feed.atom", f.activeMaint.ID), "application/atom+xml")
	if feed.Title != "Webmail migration" || feed.Link != fmt.Sprintf("http://example.com/incidents/%d", f.activeMaint.ID) {
		t.Errorf("feed %q %q", feed.Title, feed.Link)
	}
	if got := itemTitles(feed); strings.Join(got, "|") != "Webmail migration: In progress|Webmail migration: Scheduled" {
		t.Errorf("entries %v", got)
	}
	for _, path := range []string{"/incidents/999/feed.atom", "/incidents/x/feed.atom"} {
		if w := e.do(req{method: http.MethodGet, path: path}); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
}

// TestPostmortemInFeeds: a published postmortem is an entry of the
// incident's feed and of both history feeds, with its own address.
func TestPostmortemInFeeds(t *testing.T) {
	e := newTestEnv(t)
	f := newSPFixture(e)
	e.clock.Advance(time.Hour)
	if _, err := e.store.SetPostmortem(context.Background(), f.staff, f.resolved.ID, "A **cache** expired everywhere at once."); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("http://example.com/incidents/%d#postmortem", f.resolved.ID)
	feed, _ := parseFeed(t, e, fmt.Sprintf("/incidents/%d/feed.atom", f.resolved.ID), "application/atom+xml")
	if got := itemTitles(feed); strings.Join(got, "|") != "Website slow: Postmortem|Website slow: Resolved|Website slow: Investigating" {
		t.Errorf("incident feed entries %v", got)
	}
	if it := feed.Items[0]; it.GUID != want || !strings.Contains(it.Content, "<strong>cache</strong>") {
		t.Errorf("postmortem entry: id %q content %q", it.GUID, it.Content)
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, _ := parseFeed(t, e, path, "application/")
		if len(feed.Items) == 0 || feed.Items[0].Title != "Website slow: Postmortem" || feed.Items[0].GUID != want {
			t.Errorf("%s: the newest entry is %q (%q), want the postmortem", path, itemTitles(feed), feed.Items[0].GUID)
		}
	}
}

// TestHistoryFeedHostileTitles declares an incident titled with each line
// of the XSS corpus: every feed still parses and gives the title back as
// text.
func TestHistoryFeedHostileTitles(t *testing.T) {
	e := newTestEnv(t)
	staff := e.user("sam.support", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	var incs []*models.Incident
	for _, p := range xssPayloads(t) {
		title := "Title " + p
		if len([]rune(title)) > models.TitleMaxLen {
			title = string([]rune(title)[:models.TitleMaxLen])
		}
		incs = append(incs, e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: title,
			Impact: "minor", Status: models.StatusInvestigating, Body: p,
			Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}}))
		e.clock.Advance(time.Minute)
	}
	for _, inc := range incs {
		feed, body := parseFeed(t, e, fmt.Sprintf("/incidents/%d/feed.atom", inc.ID), "application/atom+xml")
		if feed.Title != inc.Title || len(feed.Items) != 1 || feed.Items[0].Title != inc.Title+": Investigating" {
			t.Errorf("incident %d: feed title %q, entry titles %v, want %q", inc.ID, feed.Title, itemTitles(feed), inc.Title)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
			t.Errorf("incident %d: raw markup in the feed", inc.ID)
		}
	}
	// The history feeds hold the newest 50 of them.
	byTitle := map[string]bool{}
	for _, inc := range incs {
		byTitle[inc.Title+": Investigating"] = true
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, _ := parseFeed(t, e, path, "application/")
		if len(feed.Items) != 50 {
			t.Errorf("%s: %d items", path, len(feed.Items))
		}
		for _, it := range feed.Items {
			if !byTitle[it.Title] {
				t.Errorf("%s: item title %q is not a title given", path, it.Title)
			}
		}
	}
}
