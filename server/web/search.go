package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/markup"
)

// searchHit is one result as pages and the API show it.
type searchHit struct {
	Type    string        `json:"type"`
	ID      int64         `json:"id"`
	Title   string        `json:"title"`
	Snippet template.HTML `json:"snippet"` // escaped text, hits in <mark>
	URL     string        `json:"url"`
}

// search runs a query for the current viewer; the page and the API share it.
func (a *App) search(c *gin.Context) (string, []searchHit, models.Paged[models.SearchResult], error) {
	q := strings.TrimSpace(c.Query("q"))
	if len([]rune(q)) > models.SearchQueryMaxLen {
		return q, nil, models.Paged[models.SearchResult]{}, badRequest("A search has at most 200 characters.")
	}
	p, err := pageParam(c, models.SearchPerPage)
	if err != nil {
		return q, nil, models.Paged[models.SearchResult]{}, err
	}
	res, err := a.store.Search(c.Request.Context(), q, currentUser(c), p)
	if err != nil {
		return q, nil, res, err
	}
	hits := make([]searchHit, 0, len(res.Items))
	for _, r := range res.Items {
		h := searchHit{Type: r.Type, Title: r.Title, Snippet: markup.Highlight(r.Snippet, models.SnippetOpen, models.SnippetClose)}
		switch r.Type {
		case "thread":
			h.ID, h.URL = r.ThreadID, threadURL(r.ThreadID)
		case "incident":
			h.ID, h.URL = r.IncidentID, incidentURL(r.IncidentID)
		default:
			h.ID, h.URL = r.PostID, postURL(r.PostID)
		}
		hits = append(hits, h)
	}
	return q, hits, res, nil
}

type searchPage struct {
	base
	Query string
	Hits  []searchHit
	Pager pager
	Error string
}

func (a *App) searchShow(c *gin.Context) error {
	q, hits, res, err := a.search(c)
	var he *httpError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest {
		// The form comes back with the query and what is wrong with it.
		page := &searchPage{base: a.base(c, "Search"), Query: q, Error: he.Message}
		return a.renderPage(c, http.StatusBadRequest, "search", page)
	}
	if err != nil {
		return err
	}
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	return a.renderPage(c, http.StatusOK, "search", &searchPage{base: a.base(c, title), Query: q, Hits: hits, Pager: newPager(c, res.Page, res.HasNext)})
}

func (a *App) apiSearch(c *gin.Context) error {
	_, hits, res, err := a.search(c)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, listJSON("results", hits, res))
}
