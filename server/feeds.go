package main

import (
	"encoding/xml"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
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

// absURL makes a link absolute with the configured base URL, or the
// request's host when none is configured.
func (a *app) absURL(c *gin.Context, path string) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL + path
	}
	return "http://" + c.Request.Host + path
}

func (a *app) writeAtom(c *gin.Context, f *atomFeed) {
	body, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/atom+xml; charset=utf-8", append([]byte(xml.Header), body...))
}

// feedSize is how many entries a feed carries.
const feedSize = 50

// threadFeed is the Atom feed of a thread's newest posts, as a visitor sees
// them: hidden posts are left out.
func (a *app) threadFeed(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	posts, err := a.store.LatestPosts(ctx, th.ID, nil, feedSize)
	if err != nil {
		a.fail(c, err)
		return
	}
	link := a.absURL(c, threadURL(th.ID))
	f := &atomFeed{ID: link, Title: th.Title, Updated: atomTime(th.LastActivityAt),
		Links: []atomLink{{Href: link, Rel: "alternate", Type: "text/html"}, {Href: a.absURL(c, c.Request.URL.Path), Rel: "self", Type: "application/atom+xml"}}}
	for _, p := range posts {
		updated := p.CreatedAt
		if p.EditedAt != nil {
			updated = *p.EditedAt
		}
		f.Entries = append(f.Entries, atomEntry{
			ID: a.absURL(c, postURL(p.ID)), Title: "Reply by " + p.Author.Name + " in " + th.Title,
			Updated: atomTime(updated), Published: atomTime(p.CreatedAt), Author: atomPerson{Name: p.Author.Name},
			Link: atomLink{Href: a.absURL(c, postURL(p.ID)), Rel: "alternate", Type: "text/html"}, Content: atomContent{Type: "html", Body: string(p.HTML)},
		})
	}
	a.writeAtom(c, f)
}
