package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"sitrep/models"
)

// The thread picker of the merge tool and of the post mover: a moderator
// finds the thread to send to by the words of its title or its number, and
// picks it from a list (radio buttons without JavaScript; site.js refreshes
// the list while they type).

type pickerPage struct {
	base
	Heading, Intro string
	Post           *models.Post // the post to move, shown above the picker
	Back           string       // where the tool was opened from
	Search         string       // the search form's action (GET)
	Action         string       // the tool's form action (POST)
	Field          string       // the tool's field for the chosen thread
	Submit         string
	Query          string // as typed; empty: titles like Like are searched
	Like           string
	Candidates     []models.Thread
	Reason         string
	Errors         map[string]string
}

// pickerCandidates is how many threads the picker lists.
const pickerCandidates = 20

// showPickerFunc renders a tool's picker for the thread or post id.
type showPickerFunc func(c *gin.Context, status int, id int64, page *pickerPage) error

// picker is the handler of a tool's picker for the thread or post in the
// path, searching for the query of the URL.
func picker(show showPickerFunc) handler {
	return func(c *gin.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		return show(c, http.StatusOK, id, &pickerPage{Query: strings.TrimSpace(c.Query("q"))})
	}
}

// showMergePicker renders the merge tool for thread id into page (which
// carries the query, and a refused merge's reason and errors). Without a
// query it lists threads whose titles are like this one's: the duplicate
// is usually among them.
func (a *App) showMergePicker(c *gin.Context, status int, id int64, page *pickerPage) error {
	th, err := a.store.ThreadByID(c.Request.Context(), id)
	if err != nil {
		return err
	}
	page.Heading = "Merge “" + th.Title + "”"
	page.Intro = "Its posts move into the thread you choose, in time order; its address leads there, and the people affected and following are carried over. A merge can be undone from the thread it went into."
	page.Back = threadURL(th.ID)
	page.Search = fmt.Sprintf("/mod/threads/%d/merge", th.ID)
	page.Action = fmt.Sprintf("/threads/%d/merge", th.ID)
	page.Field, page.Submit = "into_id", "Merge into the chosen thread"
	page.Like = th.Title
	return a.showPicker(c, status, th.ID, page)
}

// showMovePicker renders the post mover for post id into page. Without a
// query it lists threads whose titles are like the post's thread's.
func (a *App) showMovePicker(c *gin.Context, status int, id int64, page *pickerPage) error {
	ctx := c.Request.Context()
	p, err := a.store.PostByID(ctx, id, currentUser(c))
	if err != nil {
		return err
	}
	th, err := a.store.ThreadByID(ctx, p.ThreadID)
	if err != nil {
		return err
	}
	page.Post, page.Heading = p, "Move a post by "+p.Author.Name
	page.Intro = "It leaves “" + th.Title + "” for the thread you choose, where it takes its place in time order. The audit log keeps where it came from."
	page.Back = postURL(p.ID)
	page.Search = fmt.Sprintf("/mod/posts/%d/move", p.ID)
	page.Action = fmt.Sprintf("/posts/%d/move", p.ID)
	page.Field, page.Submit = "thread_id", "Move to the chosen thread"
	page.Like = th.Title
	return a.showPicker(c, status, th.ID, page)
}

// showPicker lists the threads, other than the one the tool starts from,
// that match the page's query (or are like its title), and renders it.
func (a *App) showPicker(c *gin.Context, status int, from int64, page *pickerPage) error {
	if len([]rune(page.Query)) > models.SearchQueryMaxLen {
		return badRequest("A search has at most 200 characters.")
	}
	search := page.Query
	if search == "" {
		search = page.Like
	}
	var err error
	if page.Candidates, err = a.store.ThreadsTitled(c.Request.Context(), search, from, pickerCandidates); err != nil {
		return err
	}
	page.base = a.base(c, page.Heading)
	return a.renderPage(c, status, "mod_pick_thread", page)
}

// pickRefused shows the picker again for a merge or move refused for its
// input, with the query it was made from and the reason typed.
func pickRefused(c *gin.Context, show showPickerFunc, id int64, fields map[string]string) error {
	return show(c, http.StatusUnprocessableEntity, id, &pickerPage{
		Query: strings.TrimSpace(c.PostForm("q")), Reason: c.PostForm("reason"), Errors: fields})
}
