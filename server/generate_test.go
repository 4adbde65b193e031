package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"sitrep/models"
	"sitrep/server/web"
)

// TestCLIGenerate: generate builds a site the server serves, refuses a
// file that holds one, and says in one line what is wrong with its flags.
func TestCLIGenerate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "site.db")
	small := []string{"-users", "50", "-threads", "20", "-posts", "500"}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"too few users", []string{"-users", "3"}, 2, "", "users must be"},
		{"no threads", []string{"-threads", "0"}, 2, "", "threads must be"},
		{"fewer posts than threads", []string{"-threads", "20", "-posts", "10"}, 2, "", "posts must be"},
		{"not a number", []string{"-posts", "many"}, 2, "", `invalid value "many" for flag -posts`},
		{"generate", small, 0, "generated 50 users, 20 threads and 500 posts", ""},
		{"a site is there", small, 1, "", "already holds a site"},
		{"PostgreSQL", append(small, "-db", "postgres://postgres@127.0.0.1:5432/none"), 1, "", "generate a file and move it there with sitrep copy"},
	} {
		code, out, errOut := cli(t, "", append([]string{"generate", "-db", db}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) || strings.Count(errOut, "\n") > 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, ~%q, ~%q", tc.name, code, out, errOut, tc.code, tc.out, tc.err)
		}
	}

	store, _, err := openMigrated(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	app, err := web.New(web.Config{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := store.ListThreads(ctx, models.ThreadFilter{}, models.Page{})
	if err != nil || len(list.Items) == 0 {
		t.Fatal(err)
	}
	newest := list.Items[0]
	posts, err := store.ListPosts(ctx, models.PostQuery{ThreadID: newest.ID}, models.Page{})
	if err != nil || len(posts.Items) == 0 {
		t.Fatal(err)
	}
	first := posts.Items[0]
	for _, tc := range []struct{ path, want string }{
		{"/threads", newest.Title},
		{fmt.Sprintf("/threads/%d", newest.ID), string(first.HTML)},
		{"/search?q=" + url.QueryEscape(strings.Fields(first.Source)[0]), `href="/threads/`},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: %d, want 200 with %q", tc.path, w.Code, tc.want)
		}
	}
	if _, err := store.Authenticate(ctx, "staff3", models.GeneratedPassword); err != nil {
		t.Errorf("log in as generated staff: %v", err)
	}
}
