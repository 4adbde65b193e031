package web

import (
	"cmp"
	"encoding/xml"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/httpcache"
)

// Atom (RFC 4287) documents, written with encoding/xml, which escapes every
// title and body.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomEntry struct {
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Updated   string      `xml:"updated"`
	Published string      `xml:"published"`
	Author    atomPerson  `xml:"author"`
	Link      atomLink    `xml:"link"`
	Content   atomContent `xml:"content"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// RSS 2.0 documents (https://www.rssboard.org/rss-specification), likewise
// escaped by encoding/xml.
type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string `xml:"title"`
	Link          string `xml:"link"`
	Description   string `xml:"description"`
	LastBuildDate string `xml:"lastBuildDate"`
	// Self is the feed's own address (atom:link rel="self"), which the
	// RSS Advisory Board recommends.
	Self  rssSelfLink `xml:"http://www.w3.org/2005/Atom link"`
	Items []rssItem   `xml:"item"`
}

type rssSelfLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	Description string  `xml:"description"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func rssTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// writeFeed answers with a feed document, cacheable by anyone.
func writeFeed(c *gin.Context, ctype string, feed any) error {
	body, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		return err
	}
	httpcache.WritePublic(c, ctype+"; charset=utf-8", append([]byte(xml.Header), body...), feedMaxAge)
	return nil
}

const (
	atomType = "application/atom+xml"
	rssType  = "application/rss+xml"
)

// feedMaxAge is how long, in seconds, anyone may cache a feed: feed readers
// poll, and on an outage day many of them do.
const feedMaxAge = 60

// feedSize is how many entries a feed carries.
const feedSize = 50

// threadFeed is the Atom feed of a thread's newest posts, as a visitor sees
// them: hidden posts are left out.
func (a *App) threadFeed(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, id)
	if err != nil {
		return err
	}
	if mergedAway(c, th, func(id int64) string { return threadURL(id) + "/feed.atom" }) {
		return nil
	}
	posts, err := a.store.LatestPosts(ctx, th.ID, nil, feedSize)
	if err != nil {
		return err
	}
	link := a.absURL(c, threadURL(th.ID))
	f := &atomFeed{ID: link, Title: th.Title, Updated: atomTime(th.LastActivityAt),
		Links: []atomLink{{Href: link, Rel: "alternate", Type: "text/html"}, {Href: a.absURL(c, c.Request.URL.Path), Rel: "self", Type: atomType}}}
	newest := th.LastActivityAt
	for _, p := range posts {
		updated := p.CreatedAt
		if p.EditedAt != nil {
			updated = *p.EditedAt
		}
		if updated.After(newest) { // an edit is a change of the feed too
			newest = updated
		}
		what := "Post"
		if p.Official {
			what = "Official update"
		}
		f.Entries = append(f.Entries, atomEntry{
			ID: a.absURL(c, postURL(p.ID)), Title: what + " by " + p.Author.Name + " in " + th.Title,
			Updated: atomTime(updated), Published: atomTime(p.CreatedAt), Author: atomPerson{Name: p.Author.Name},
			Link: atomLink{Href: a.absURL(c, postURL(p.ID)), Rel: "alternate", Type: "text/html"}, Content: atomContent{Type: "html", Body: string(p.HTML)},
		})
	}
	f.Updated = atomTime(newest)
	return writeFeed(c, atomType, f)
}

// historyEntry is one official update of an incident or maintenance, or
// (u nil) its postmortem, as a feed entry.
type historyEntry struct {
	inc *models.Incident
	u   *models.IncidentUpdate
}

func (e historyEntry) title() string {
	if e.u == nil {
		return e.inc.Title + ": Postmortem"
	}
	return e.inc.Title + ": " + label(e.u.Status)
}

func (e historyEntry) published() time.Time {
	if e.u == nil {
		return *e.inc.PostmortemAt
	}
	return e.u.CreatedAt
}

// seq orders entries published at the same moment: later updates first.
func (e historyEntry) seq() int64 {
	if e.u == nil {
		return 0
	}
	return e.u.ID
}

func (e historyEntry) updated() time.Time {
	if e.u != nil && e.u.Post != nil && e.u.Post.EditedAt != nil {
		return *e.u.Post.EditedAt
	}
	return e.published()
}

func (e historyEntry) html() string {
	switch {
	case e.u == nil:
		return string(e.inc.PostmortemHTML)
	case e.u.Post == nil:
		return ""
	}
	return string(e.u.Post.HTML)
}

func (e historyEntry) author(site string) string {
	if e.u == nil || e.u.Post == nil || e.u.Post.Author == nil {
		return site
	}
	return e.u.Post.Author.Name
}

// feedEntries turns updates into entries, adds the postmortems of the
// incidents, and orders them newest first.
func feedEntries(updates []models.IncidentUpdate, incident func(id int64) *models.Incident, incs ...*models.Incident) []historyEntry {
	entries := make([]historyEntry, 0, len(updates)+len(incs))
	for i := range updates {
		entries = append(entries, historyEntry{inc: incident(updates[i].IncidentID), u: &updates[i]})
	}
	for _, inc := range incs {
		if inc.PostmortemAt != nil {
			entries = append(entries, historyEntry{inc: inc})
		}
	}
	slices.SortFunc(entries, func(x, y historyEntry) int {
		if c := y.published().Compare(x.published()); c != 0 {
			return c
		}
		return cmp.Compare(y.seq(), x.seq())
	})
	return entries
}

// historyEntries is the newest feedSize official updates and postmortems
// of all incidents and maintenances in the status snapshot, newest first,
// as a visitor sees them. The snapshot holds the open incidents and the
// newest of each kind, which hold every recent update: an old incident that
// gets a new update is open again.
func historyEntries(snap *models.StatusSnapshot) []historyEntry {
	byID := map[int64]*models.Incident{}
	var incs []*models.Incident
	var updates []models.IncidentUpdate
	for _, list := range [][]models.Incident{snap.Open, snap.Recent, snap.RecentMaintenance} {
		for i := range list {
			if id := list[i].ID; byID[id] == nil {
				byID[id] = &list[i]
				incs = append(incs, &list[i])
				updates = append(updates, snap.Updates[id]...)
			}
		}
	}
	entries := feedEntries(updates, func(id int64) *models.Incident { return byID[id] }, incs...)
	return entries[:min(len(entries), feedSize)]
}

// entryID is an entry's permanent address: an update's official post, or
// the postmortem on its incident's page.
func (a *App) entryID(c *gin.Context, e historyEntry) string {
	if e.u == nil {
		return a.absURL(c, incidentURL(e.inc.ID)) + "#postmortem"
	}
	return a.absURL(c, postURL(e.u.PostID))
}

func (a *App) atomEntries(c *gin.Context, entries []historyEntry) []atomEntry {
	out := make([]atomEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, atomEntry{
			ID: a.entryID(c, e), Title: e.title(), Updated: atomTime(e.updated()), Published: atomTime(e.published()),
			Author: atomPerson{Name: e.author(a.cfg.SiteName)},
			Link:   atomLink{Href: a.absURL(c, incidentURL(e.inc.ID)), Rel: "alternate", Type: "text/html"},
			// Sanitized HTML, escaped once more by encoding/xml.
			Content: atomContent{Type: "html", Body: e.html()},
		})
	}
	return out
}

// feedUpdated is the newest entry's time, or fallback without entries.
func feedUpdated(entries []historyEntry, fallback time.Time) time.Time {
	t := fallback
	for _, e := range entries {
		if u := e.updated(); u.After(t) {
			t = u
		}
	}
	return t
}

// historyAtom is the Atom feed of every incident's official updates.
func (a *App) historyAtom(c *gin.Context) error {
	snap, err := a.statusSnapshot(c)
	if err != nil {
		return err
	}
	entries := historyEntries(snap)
	home := a.absURL(c, "/")
	fallback := time.Time{}
	if len(entries) == 0 {
		fallback = a.now()
	}
	return writeFeed(c, atomType, &atomFeed{ID: a.absURL(c, "/history.atom"), Title: a.cfg.SiteName + " incident history",
		Updated: atomTime(feedUpdated(entries, fallback)),
		Links: []atomLink{{Href: home, Rel: "alternate", Type: "text/html"},
			{Href: a.absURL(c, c.Request.URL.Path), Rel: "self", Type: atomType}},
		Entries: a.atomEntries(c, entries)})
}

// historyRSS is the same history as RSS 2.0.
func (a *App) historyRSS(c *gin.Context) error {
	snap, err := a.statusSnapshot(c)
	if err != nil {
		return err
	}
	entries := historyEntries(snap)
	fallback := time.Time{}
	if len(entries) == 0 {
		fallback = a.now()
	}
	f := &rssFeed{Version: "2.0", Channel: rssChannel{
		Title: a.cfg.SiteName + " incident history", Link: a.absURL(c, "/"),
		Description:   "Official updates on incidents and scheduled maintenance, newest first.",
		LastBuildDate: rssTime(feedUpdated(entries, fallback)),
		Self:          rssSelfLink{Href: a.absURL(c, c.Request.URL.Path), Rel: "self", Type: rssType},
	}}
	for _, e := range entries {
		id := a.entryID(c, e)
		f.Channel.Items = append(f.Channel.Items, rssItem{
			Title: e.title(), Link: a.absURL(c, incidentURL(e.inc.ID)), Description: e.html(),
			GUID: rssGUID{IsPermaLink: true, Value: id}, PubDate: rssTime(e.published()),
		})
	}
	return writeFeed(c, rssType, f)
}

// incidentFeed is the Atom feed of one incident's official updates.
func (a *App) incidentFeed(c *gin.Context) error {
	inc, err := a.pathIncident(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	updates, err := a.store.IncidentUpdates(ctx, nil, feedSize, inc.ID)
	if err != nil {
		return err
	}
	entries := feedEntries(updates, func(int64) *models.Incident { return inc }, inc)
	link := a.absURL(c, incidentURL(inc.ID))
	return writeFeed(c, atomType, &atomFeed{ID: link, Title: inc.Title, Updated: atomTime(feedUpdated(entries, inc.UpdatedAt)),
		Links: []atomLink{{Href: link, Rel: "alternate", Type: "text/html"},
			{Href: a.absURL(c, c.Request.URL.Path), Rel: "self", Type: atomType}},
		Entries: a.atomEntries(c, entries)})
}
