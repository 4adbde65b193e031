package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// The merge tool: a moderator finds the thread to merge into by the words
// of its title or its number, and picks it from a list (radio buttons
// without JavaScript; site.js refreshes the list while they type).

type mergePage struct {
	base
	Thread     *models.Thread
	Query      string // as typed; empty: the thread's own title is searched
	Candidates []models.Thread
	Reason     string
	Errors     map[string]string
}

// mergeCandidates is how many threads the picker lists.
const mergeCandidates = 20

// mergePicker shows the threads the thread in the path may be merged into.
func (a *App) mergePicker(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return a.showMergePicker(c, http.StatusOK, id, &mergePage{Query: strings.TrimSpace(c.Query("q"))})
}

// showMergePicker renders the merge tool for thread id into page (which
// carries the query, and a refused merge's reason and errors). Without a
// query it lists threads whose titles are like this one's: the duplicate
// is usually among them.
func (a *App) showMergePicker(c *gin.Context, status int, id int64, page *mergePage) error {
	ctx := c.Request.Context()
	th, err := a.store.ThreadByID(ctx, id)
	if err != nil {
		return err
	}
	if len([]rune(page.Query)) > models.SearchQueryMaxLen {
		return badRequest("A search has at most 200 characters.")
	}
	search := page.Query
	if search == "" {
		search = th.Title
	}
	if page.Candidates, err = a.store.ThreadsTitled(ctx, search, th.ID, mergeCandidates); err != nil {
		return err
	}
	page.base, page.Thread = a.base(c, "Merge “"+th.Title+"”"), th
	return a.renderPage(c, status, "mod_merge", page)
}

// mergeRefused shows the picker again for a merge refused for its input,
// with the query it was made from and the reason typed.
func (a *App) mergeRefused(c *gin.Context, id int64, fields map[string]string) error {
	return a.showMergePicker(c, http.StatusUnprocessableEntity, id, &mergePage{
		Query: strings.TrimSpace(c.PostForm("q")), Reason: c.PostForm("reason"), Errors: fields})
}
