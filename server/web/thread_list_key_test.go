package web

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"sitrep/models"
)

// TestThreadListNextByKey: the list's "next" link reads the next page
// after the last thread shown; it holds what page 2 by number holds, and
// its "previous" link goes back by number. A key that is not one is
// refused.
func TestThreadListNextByKey(t *testing.T) {
	e := newTestEnv(t)
	author := e.user("author", models.RoleStaff)
	for i := range models.ThreadsPerPage + 5 {
		e.thread(author, fmt.Sprintf("Thread number %d", i), "Body.")
		e.clock.Advance(time.Minute)
	}
	link := func(rel, page string) string {
		m := regexp.MustCompile(`rel="` + rel + `" href="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	threads := regexp.MustCompile(`href="/threads/(\d+)"`)
	first := e.must(http.StatusOK, req{method: http.MethodGet, path: "/threads"}).Body.String()
	next := link("next", first)
	if !regexp.MustCompile(`after=[01]-\d+-\d+`).MatchString(next) || !regexp.MustCompile(`page=2`).MatchString(next) {
		t.Fatalf("next link %q", next)
	}
	byKey := e.must(http.StatusOK, req{method: http.MethodGet, path: next}).Body.String()
	byNumber := e.must(http.StatusOK, req{method: http.MethodGet, path: "/threads?page=2"}).Body.String()
	ids := func(page string) (out []string) {
		for _, m := range threads.FindAllStringSubmatch(page, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got, want := ids(byKey), ids(byNumber); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("page 2 by key %v, by number %v", got, want)
	}
	if prev := link("prev", byKey); prev != "/threads?page=1" {
		t.Errorf("previous link on page 2: %q", prev)
	}
	for _, bad := range []string{"x", "2-1-1", "0-1", "0-1-0"} {
		e.must(http.StatusBadRequest, req{method: http.MethodGet, path: "/threads?after=" + bad})
	}
}
