package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// benchThread makes a thread with 50 replies by 50 authors.
func benchThread(b *testing.B, e *testEnv) int64 {
	ctx := context.Background()
	author := e.user("author", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th, _, err := e.store.CreateThread(ctx, author, models.NewThread{Title: "Mail is down for everyone", Body: "It **is** down."})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		u := e.user(fmt.Sprintf("replier%02d", i), models.RoleStaff)
		if _, _, err := e.store.CreateReply(ctx, u, th.ID, models.NewPost{Body: fmt.Sprintf("Reply %d with _Markdown_ and a [link](https://example.com/%d).", i, i)}); err != nil {
			b.Fatal(err)
		}
	}
	return th.ID
}

// BenchmarkThreadPage serves a thread page with 50 replies through the router.
func BenchmarkThreadPage(b *testing.B) {
	e := newTestEnv(&testing.T{})
	id := benchThread(b, e)
	path := fmt.Sprintf("/threads/%d", id)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkCreateReply posts replies through the router (form, render,
// transaction with counters and search index, redirect).
func BenchmarkCreateReply(b *testing.B) {
	e := newTestEnv(&testing.T{})
	id := benchThread(b, e)
	cookie := e.session(e.user("poster", models.RoleStaff))
	body := url.Values{"body": {strings.Repeat("Status: investigating, **next update** in 30 minutes. ", 10)}}.Encode()
	path := fmt.Sprintf("/threads/%d/posts", id)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
