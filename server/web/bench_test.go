package web

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sitrep/models"
)

// benchThread makes a thread with 50 replies by 50 authors.
func benchThread(e *testEnv) int64 {
	author := e.user("author", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(author, "Mail is down for everyone", "It **is** down.")
	for i := 0; i < 50; i++ {
		u := e.user(fmt.Sprintf("replier%02d", i), models.RoleStaff)
		e.reply(u, th.ID, fmt.Sprintf("Reply %d with _Markdown_ and a [link](https://example.com/%d).", i, i))
	}
	return th.ID
}

// BenchmarkThreadPage serves a thread page with 50 replies through the router.
func BenchmarkThreadPage(b *testing.B) {
	e := newTestEnv(b)
	id := benchThread(e)
	path := fmt.Sprintf("/threads/%d", id)
	b.ReportAllocs()
	for b.Loop() {
		if w := e.do(req{method: http.MethodGet, path: path}); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkCreateReply posts replies through the router (form, render,
// transaction with counters and search index, redirect).
func BenchmarkCreateReply(b *testing.B) {
	e := newTestEnv(b)
	id := benchThread(e)
	cookie := e.session(e.user("poster", models.RoleStaff))
	form := url.Values{"body": {strings.Repeat("Status: investigating, **next update** in 30 minutes. ", 10)}}
	path := fmt.Sprintf("/threads/%d/posts", id)
	b.ReportAllocs()
	for b.Loop() {
		if w := e.do(req{method: http.MethodPost, path: path, form: form, cookie: cookie}); w.Code != http.StatusSeeOther {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkConcurrentReplies posts replies through the router from 32
// writers at once (16 per core on the 2-core machine), each a staff member
// (no posting interval) replying to the same thread, as on the day of an
// outage; it reports the replies written a second.
func BenchmarkConcurrentReplies(b *testing.B) {
	e := newTestEnv(b)
	id := benchThread(e)
	var cookies []*http.Cookie
	for i := range 32 {
		cookies = append(cookies, e.session(e.user(fmt.Sprintf("writer%02d", i), models.RoleStaff)))
	}
	var next atomic.Int64
	path := fmt.Sprintf("/threads/%d/posts", id)
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cookie := cookies[int(next.Add(1)-1)%len(cookies)]
		for n := 0; pb.Next(); n++ {
			form := url.Values{"body": {fmt.Sprintf("Still down here, attempt %d.", n)}}
			if w := e.do(req{method: http.MethodPost, path: path, form: form, cookie: cookie}); w.Code != http.StatusSeeOther {
				b.Error(w.Code, w.Body.String())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replies/s")
}
