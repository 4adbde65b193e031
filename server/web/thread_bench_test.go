package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"sitrep/models"
	"sitrep/server/markup"
)

// replyMarkdown is a reply of about 360 characters of Markdown, numbered.
func replyMarkdown(i int) string {
	return fmt.Sprintf("Reply %d: since **09:12 UTC** our mail relay at `mx%d.example.com` refuses connections "+
		"with _421 try again later_; the [status of the relay](https://example.com/relay/%d) says nothing yet.\n\n"+
		"- queued messages: about %d\n- webmail still works, IMAP times out after 30 s\n\n"+
		"We are a team of forty and need outbound mail for invoices today. Anything we can do meanwhile?", i, i%7, i, 100+i)
}

// customerThread makes the thread of the performance targets: an opening
// post and 49 replies of about 360 characters of Markdown, one per customer.
func customerThread(e *testEnv) int64 {
	var people []*models.User
	for i := 0; i < 50; i++ {
		people = append(people, e.user(fmt.Sprintf("customer%02d", i), models.RoleCustomer))
	}
	e.clock.Advance(48 * time.Hour) // old enough accounts post every 10 s
	th := e.thread(people[0], "Mail is down for everyone", replyMarkdown(0))
	for i := 1; i < 50; i++ {
		e.clock.Advance(11 * time.Second)
		e.reply(people[i], th.ID, replyMarkdown(i))
	}
	return th.ID
}

// barePost is what the bare page shows of a post.
type barePost struct {
	ID        int64
	Author    string
	CreatedAt time.Time
	HTML      template.HTML
}

// bareTemplate is a plain html/template page of posts, the yardstick.
var bareTemplate = template.Must(template.New("bare").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><ol class="posts">
{{range .Posts}}<li id="post-{{.ID}}" class="post"><header class="post-meta"><a class="author" href="/users/{{.Author}}">{{.Author}}</a>
<a href="/posts/{{.ID}}"><time datetime="{{.CreatedAt.Format "2006-01-02T15:04:05Z07:00"}}">{{.CreatedAt.Format "2 Jan 2006 15:04 UTC"}}</time></a></header>
<div class="post-body">{{.HTML}}</div></li>
{{end}}</ol></main></body></html>`))

// bareRouter is a bare Gin router serving the same 50 posts from a Go
// slice through bareTemplate, rendered into a buffer as Sitrep's pages are.
func bareRouter(b *testing.B) http.Handler {
	var posts []barePost
	for i := 0; i < 50; i++ {
		html, err := markup.Render(replyMarkdown(i))
		if err != nil {
			b.Fatal(err)
		}
		posts = append(posts, barePost{ID: int64(i + 1), Author: fmt.Sprintf("customer%02d", i),
			CreatedAt: time.Date(2026, 3, 16, 9, 30, i, 0, time.UTC), HTML: html})
	}
	r := gin.New()
	r.GET("/threads/:id", func(c *gin.Context) {
		var buf bytes.Buffer
		if err := bareTemplate.Execute(&buf, map[string]any{"Title": "Mail is down for everyone", "Posts": posts}); err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
	})
	return r
}

// BenchmarkThreadPageVsBare serves the uncached thread page of 50 posts and,
// in the same run, the bare template page of the same posts, and reports
// the thread page's throughput as a fraction of the bare page's
// (x-bare; the target is at least 0.5). A visitor (with the micro-cache
// off, as in every test) and a signed-in customer, who never hits the
// cache; one request at a time per core, and 16 per core.
func BenchmarkThreadPageVsBare(b *testing.B) {
	e := newTestEnv(b)
	id := customerThread(e)
	reader := e.user("reader", models.RoleCustomer)
	bare := bareRouter(b)
	path := fmt.Sprintf("/threads/%d", id)
	for _, who := range []struct {
		name   string
		cookie *http.Cookie
	}{{"visitor", nil}, {"customer", e.session(reader)}} {
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/parallel=%d", who.name, par), func(b *testing.B) {
				serve := func(h http.Handler) func(pb *testing.PB) {
					return func(pb *testing.PB) {
						for pb.Next() {
							r := httptest.NewRequest(http.MethodGet, path, nil)
							if h != bare && who.cookie != nil {
								r.AddCookie(who.cookie)
							}
							w := httptest.NewRecorder()
							h.ServeHTTP(w, r)
							if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Reply 49:") {
								b.Errorf("status %d", w.Code)
								return
							}
						}
					}
				}
				b.SetParallelism(par)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(serve(e.handler))
				b.StopTimer()
				page := b.Elapsed()
				start := time.Now()
				b.RunParallel(serve(bare))
				yardstick := time.Since(start)
				b.ReportMetric(float64(b.N)/page.Seconds(), "req/s")
				b.ReportMetric(float64(b.N)/yardstick.Seconds(), "bare-req/s")
				b.ReportMetric(yardstick.Seconds()/page.Seconds(), "x-bare")
			})
		}
	}
}
