package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"sitrep/models"
	"sitrep/server/markup"
)

// forumCustomer is alice, a customer whose account is old enough to post
// without the new-account interval, and her session.
func forumCustomer(e *testEnv) (*models.User, *http.Cookie) {
	alice := e.user("alice", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	return alice, e.session(alice)
}

// TestXSSCorpusInPosts sends every payload, and the whole corpus as one post,
// through create, edit and preview, and checks each page that shows it.
func TestXSSCorpusInPosts(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	payloads := xssPayloads(t)
	w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: cookie, form: url.Values{"title": {"XSS test thread"}, "body": {"start"}}})
	thread := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	bodies := append(payloads, strings.Join(payloads, "\n\n"))
	for i, p := range bodies {
		// Preview renders without storing.
		w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/posts", thread), cookie: cookie, form: url.Values{"body": {p}, "preview": {"1"}}})
		wantStatus(t, w, http.StatusOK)
		checkPage(t, w.Body.String())
		// Create.
		w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/threads/%d/posts", thread), cookie: cookie, form: url.Values{"body": {p}}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("payload %d: status %d: %.300s", i, w.Code, w.Body.String())
		}
		e.clock.Advance(time.Minute)
	}
	// Edit each post into the next payload.
	posts := e.posts(thread)
	for i, p := range posts[1:] {
		next := bodies[(i+1)%len(bodies)]
		w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d", p.ID), cookie: cookie, form: url.Values{"body": {next}, "preview": {"1"}}})
		checkPage(t, w.Body.String())
		w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d", p.ID), cookie: cookie, form: url.Values{"body": {next}}})
		wantStatus(t, w, http.StatusSeeOther)
		e.clock.Advance(time.Minute) // edits are paced as posts are
	}
	for page := 1; page <= 4; page++ {
		checkPage(t, e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d?page=%d", thread, page), cookie: cookie}).Body.String())
	}
	checkPage(t, e.do(req{method: http.MethodGet, path: fmt.Sprintf("/posts/%d/revisions", posts[len(posts)-1].ID)}).Body.String())
}

// TestXSSCorpusThroughAPI sends every payload, and the whole file, as a
// thread through POST /api/v1/threads and edits it in with PATCH: every
// body_html answered, and the thread's JSON, pass markup.CheckSafe.
func TestXSSCorpusThroughAPI(t *testing.T) {
	e := newTestEnv(t)
	alice, _ := forumCustomer(e)
	tok := e.token(alice)
	payloads := xssPayloads(t)
	bodies := append(payloads, strings.Join(payloads, "\n\n"))
	checkJSON := func(what string, raw []byte) {
		t.Helper()
		var out struct {
			BodyHTML string `json:"body_html"`
			Posts    []struct {
				BodyHTML string `json:"body_html"`
			} `json:"posts"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		htmls := []string{out.BodyHTML}
		for _, p := range out.Posts {
			htmls = append(htmls, p.BodyHTML)
		}
		for _, h := range htmls {
			if err := markup.CheckSafe(h); err != nil {
				t.Errorf("%s: unsafe body_html: %v", what, err)
			}
		}
	}
	for i, p := range bodies {
		body, _ := json.Marshal(map[string]string{"title": fmt.Sprintf("Payload %d", i), "body": p})
		w := e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok, json: string(body)})
		wantStatus(t, w, http.StatusCreated)
		th := decodeAs[struct {
			ID    int64 `json:"id"`
			Posts []struct {
				ID int64 `json:"id"`
			} `json:"posts"`
		}](t, w)
		if len(th.Posts) != 1 {
			t.Fatalf("payload %d: %s", i, w.Body)
		}
		checkJSON(fmt.Sprintf("create %d", i), w.Body.Bytes())
		edit, _ := json.Marshal(map[string]string{"body": bodies[(i+1)%len(bodies)]})
		w = e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", th.Posts[0].ID), bearer: tok, json: string(edit)})
		wantStatus(t, w, http.StatusOK)
		checkJSON(fmt.Sprintf("edit %d", i), w.Body.Bytes())
		checkJSON(fmt.Sprintf("thread %d", i), e.do(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", th.ID)}).Body.Bytes())
		e.clock.Advance(time.Minute)
	}
}

// TestXSSCorpusInTitles uses every payload as a thread title and checks the
// list, the thread page, search, the feed and the JSON.
func TestXSSCorpusInTitles(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	payloads := xssPayloads(t)
	var ids []int64
	for _, p := range payloads {
		title := "Title " + p
		if len([]rune(title)) > models.TitleMaxLen {
			title = string([]rune(title)[:models.TitleMaxLen])
		}
		w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: cookie, form: url.Values{"title": {title}, "body": {"searchable body word"}}})
		ids = append(ids, idFrom(t, "/threads/%d", w.Header().Get("Location")))
		e.clock.Advance(time.Minute)
	}
	for page := 1; page <= 7; page++ {
		checkPage(t, e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads?page=%d", page)}).Body.String())
	}
	for _, id := range ids {
		w := e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", id)})
		checkPage(t, w.Body.String())
		feed := e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d/feed.atom", id)})
		if _, err := gofeed.NewParser().ParseString(feed.Body.String()); err != nil {
			t.Errorf("feed of thread %d does not parse: %v", id, err)
		}
		var j struct{ Title string }
		if err := json.Unmarshal(e.do(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", id)}).Body.Bytes(), &j); err != nil || !strings.HasPrefix(j.Title, "Title ") {
			t.Errorf("JSON title: %q %v", j.Title, err)
		}
	}
	for page := 1; page <= 9; page++ {
		checkPage(t, e.do(req{method: http.MethodGet, path: fmt.Sprintf("/search?q=searchable&page=%d", page)}).Body.String())
	}
	for _, p := range payloads[:20] {
		checkPage(t, e.do(req{method: http.MethodGet, path: "/search?q=" + url.QueryEscape(p)}).Body.String())
	}
}

func TestThreadFlowThroughPages(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	bob := e.user("bob", models.RoleCustomer)
	bobCookie := e.session(bob)
	svc := e.service(models.NewService{Name: "Mail"})

	// Preview shows the rendering and keeps the form; nothing is stored.
	w := e.do(req{method: http.MethodPost, path: "/threads", cookie: cookie, form: url.Values{
		"title": {"Mail is down"}, "body": {"**bold** text"}, "service_id": {fmt.Sprint(svc.ID)}, "preview": {"1"}}})
	wantStatus(t, w, http.StatusOK)
	if body := w.Body.String(); !strings.Contains(body, "<strong>bold</strong>") || !strings.Contains(body, `value="Mail is down"`) {
		t.Fatal("preview lacks the rendering or the title")
	}
	if th, _ := e.store.ListThreads(context.Background(), models.ThreadFilter{}, models.Page{}); len(th.Items) != 0 {
		t.Fatal("preview stored a thread")
	}
	// Submitting the same form twice makes one thread.
	form := url.Values{"title": {"Mail is down"}, "body": {"**bold** text"}, "service_id": {fmt.Sprint(svc.ID)}, "submit_key": {"abc"}}
	first := e.do(req{method: http.MethodPost, path: "/threads", cookie: cookie, form: form})
	second := e.do(req{method: http.MethodPost, path: "/threads", cookie: cookie, form: form})
	wantStatus(t, second, http.StatusSeeOther)
	if first.Header().Get("Location") != second.Header().Get("Location") {
		t.Fatalf("double submit went to %q and %q", first.Header().Get("Location"), second.Header().Get("Location"))
	}
	if th, _ := e.store.ListThreads(context.Background(), models.ThreadFilter{}, models.Page{}); len(th.Items) != 1 {
		t.Fatalf("%d threads after a double submit", len(th.Items))
	}
	thread := first.Header().Get("Location")

	// Posting again at once is refused with 429, and the draft is kept.
	w = e.do(req{method: http.MethodPost, path: thread + "/posts", cookie: cookie, form: url.Values{"body": {"my precious draft"}}})
	wantStatus(t, w, http.StatusTooManyRequests)
	if body := w.Body.String(); !strings.Contains(body, "my precious draft") || !strings.Contains(body, "posting too fast") {
		t.Fatal("429 lost the draft or the reason")
	}
	// Too long: 422 with the text kept.
	long := strings.Repeat("word ", 7000)
	w = e.do(req{method: http.MethodPost, path: thread + "/posts", cookie: bobCookie, form: url.Values{"body": {long}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if !strings.Contains(w.Body.String(), "at most 32 KiB") || !strings.Contains(w.Body.String(), long[:500]) {
		t.Fatal("over-long post: no message or text lost")
	}
	// Its preview says the same, with 422.
	w = e.do(req{method: http.MethodPost, path: thread + "/posts", cookie: bobCookie, form: url.Values{"body": {long}, "preview": {"1"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if !strings.Contains(w.Body.String(), "at most 32 KiB") {
		t.Fatal("over-long preview: no message")
	}
	// Bob replies and is affected; the page shows the count.
	w = e.do(req{method: http.MethodPost, path: thread + "/posts", cookie: bobCookie, form: url.Values{"body": {"Same for me"}}})
	wantStatus(t, w, http.StatusSeeOther)
	wantStatus(t, e.do(req{method: http.MethodPost, path: thread + "/affected", cookie: bobCookie, form: url.Values{"affected": {"1"}}}), http.StatusSeeOther)
	page := e.do(req{method: http.MethodGet, path: thread, cookie: bobCookie}).Body.String()
	if !strings.Contains(page, `<strong class="affected-count">2</strong>`) || !strings.Contains(page, "Same for me") || !strings.Contains(page, `aria-pressed="true"`) {
		t.Fatal("thread page lacks the reply or the affected state")
	}
	// Bob cannot edit Alice's post; Alice can, and the history keeps the old text.
	first0 := e.posts(idFrom(t, "/threads/%d", thread))[0].ID
	wantStatus(t, e.do(req{method: http.MethodGet, path: fmt.Sprintf("/posts/%d/edit", first0), cookie: bobCookie}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d", first0), cookie: bobCookie, form: url.Values{"body": {"vandal"}}}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", first0), bearer: e.token(bob), json: `{"body":"vandal"}`}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d", first0), cookie: cookie, form: url.Values{"body": {"Corrected text"}}}), http.StatusSeeOther)
	page = e.do(req{method: http.MethodGet, path: thread}).Body.String()
	if !strings.Contains(page, "Corrected text") || !strings.Contains(page, fmt.Sprintf(`/posts/%d/revisions">edited</a>`, first0)) {
		t.Fatal("edit not shown or no history link")
	}
	hist := e.do(req{method: http.MethodGet, path: fmt.Sprintf("/posts/%d/revisions", first0)}).Body.String()
	if !strings.Contains(hist, "**bold** text") || !strings.Contains(hist, "<strong>bold</strong>") {
		t.Fatal("history lacks the previous text")
	}
	// The list filters by service and shows the counts.
	list := e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads?service=%d", svc.ID)}).Body.String()
	if !strings.Contains(list, "Mail is down") || !strings.Contains(list, "<strong>2</strong> affected") {
		t.Fatal("list lacks the thread or its count")
	}
	if strings.Contains(e.do(req{method: http.MethodGet, path: "/threads?service=999"}).Body.String(), "Mail is down") {
		t.Fatal("service filter ignored")
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/threads?service=x"}), http.StatusBadRequest)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/threads/999"}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodGet, path: thread + "?page=9"}), http.StatusNotFound)
	// Search finds a word from a reply.
	res := e.do(req{method: http.MethodGet, path: "/search?q=same"}).Body.String()
	if !strings.Contains(res, "<mark>Same</mark> for me") {
		t.Fatalf("search page: %s", res)
	}
}

func TestForumAPI(t *testing.T) {
	e := newTestEnv(t)
	alice, _ := forumCustomer(e)
	tok := e.token(alice)
	w := e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok, json: `{"title":"API thread title","body":"_hello_","author_id":99,"locked":true,"pinned":true}`,
		header: map[string]string{"Idempotency-Key": "k1"}})
	wantStatus(t, w, http.StatusCreated)
	th := decodeAs[apiThread](t, w)
	if th.ID == 0 || th.Author != "alice" || th.Locked || th.Pinned || len(th.Posts) != 1 || th.Posts[0].BodyHTML != "<p><em>hello</em></p>\n" || th.AffectedCount != 1 {
		t.Fatalf("created thread: %s", w.Body.String())
	}
	if th.Page != 1 || th.HasMore == nil || *th.HasMore {
		t.Errorf("thread answer without its page of posts: page %d has_more %v", th.Page, th.HasMore)
	}
	// The same Idempotency-Key gives the same thread, 200.
	w = e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok, json: `{"title":"API thread title","body":"_hello_"}`,
		header: map[string]string{"Idempotency-Key": "k1"}})
	wantStatus(t, w, http.StatusOK)
	for body, code := range map[string]int{`{"title":"x","body":"y"}`: 422, `{"title":"Fine title","body":""}`: 422, `[]`: 400, `{"title":"Fine title","body":"x","service_id":42}`: 422} {
		e.clock.Advance(time.Minute)
		if w := e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok, json: body}); w.Code != code {
			t.Errorf("%s: %d, want %d: %s", body, w.Code, code, w.Body.String())
		}
	}
	e.clock.Advance(time.Minute)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/posts", th.ID), bearer: tok, json: `{"body":"reply one"}`})
	wantStatus(t, w, http.StatusCreated)
	p := decodeAs[apiPost](t, w)
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/threads/%d/posts", th.ID), bearer: tok, json: `{"body":"too soon"}`})
	wantStatus(t, w, http.StatusTooManyRequests)
	wantJSONError(t, w, "rate_limited")
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	w = e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", p.ID), bearer: tok, json: `{"body":"reply edited"}`})
	wantStatus(t, w, http.StatusOK)
	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/posts/%d/revisions", p.ID)})
	revs := decodeAs[struct {
		Revisions []apiRevision `json:"revisions"`
	}](t, w)
	if len(revs.Revisions) != 1 || revs.Revisions[0].Body != "reply one" || revs.Revisions[0].Editor != "alice" {
		t.Fatalf("revisions: %s", w.Body.String())
	}
	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/api/v1/threads/%d", th.ID)})
	th = decodeAs[apiThread](t, w)
	if len(th.Posts) != 2 || th.Posts[1].EditedAt == nil || th.Posts[1].Role != models.RoleCustomer {
		t.Fatalf("thread: %s", w.Body.String())
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/threads?page=1&per_page=1000"})
	list := decodeAs[struct {
		Threads []apiThread `json:"threads"`
	}](t, w)
	if len(list.Threads) != 1 {
		t.Fatalf("list: %s", w.Body.String())
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/search?q=edited"})
	sr := decodeAs[struct {
		Results []searchHit `json:"results"`
	}](t, w)
	if len(sr.Results) != 1 || sr.Results[0].Type != "post" || sr.Results[0].ID != p.ID || !strings.Contains(string(sr.Results[0].Snippet), "<mark>edited</mark>") {
		t.Fatalf("search: %s", w.Body.String())
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/search?q=" + strings.Repeat("a", 201)}), http.StatusBadRequest)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/threads/abc"}), http.StatusNotFound)
}

// TestAffectedConcurrentHTTP: 50 customers press "I'm affected" at once over
// real HTTP, one of them twice: the count is exactly 51 with the author.
func TestAffectedConcurrentHTTP(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: cookie, form: url.Values{"title": {"Calendar is down"}, "body": {"x"}}})
	thread := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	srv := e.server()
	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = e.token(e.user(fmt.Sprintf("cust%02d", i), models.RoleCustomer))
	}
	var wg sync.WaitGroup
	fails := make(chan string, 60)
	send := func(tok string) {
		defer wg.Done()
		r, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/threads/%d/affected", srv.URL, thread), nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			fails <- err.Error()
			return
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			fails <- res.Status
		}
	}
	for _, tok := range tokens {
		wg.Add(1)
		go send(tok)
	}
	wg.Add(1)
	go send(tokens[0])
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
	th, _ := e.store.ThreadByID(context.Background(), thread)
	if th.AffectedCount != 51 {
		t.Fatalf("affected count %d, want 51", th.AffectedCount)
	}
}

func TestThreadFeedParses(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	w := e.must(http.StatusSeeOther, req{method: http.MethodPost, path: "/threads", cookie: cookie, form: url.Values{"title": {`Feed <script>alert("t")</script> & more`}, "body": {"Body with <b>tags</b> & **bold**"}}})
	thread := idFrom(t, "/threads/%d", w.Header().Get("Location"))
	e.clock.Advance(time.Minute)
	w = e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d/feed.atom", thread)})
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Errorf("content type %q", ct)
	}
	feed, err := gofeed.NewParser().ParseString(w.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if feed.Title != `Feed <script>alert("t")</script> & more` || len(feed.Items) != 1 || !strings.Contains(feed.Items[0].Content, "<strong>bold</strong>") {
		t.Fatalf("feed: %q %d", feed.Title, len(feed.Items))
	}
	if strings.Contains(w.Body.String(), "<script>") {
		t.Fatal("raw markup in the feed")
	}
	if !strings.HasPrefix(feed.Items[0].Title, "Post by ") {
		t.Errorf("the first post's entry is titled %q", feed.Items[0].Title)
	}
	// An edit later than any post moves the feed's updated time with it.
	e.clock.Advance(time.Hour)
	first := e.posts(thread)[0]
	if _, err := e.store.EditPost(context.Background(), first.Author, first.ID, "Edited body"); err != nil {
		t.Fatal(err)
	}
	feed, err = gofeed.NewParser().ParseString(e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d/feed.atom", thread)}).Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if feed.UpdatedParsed == nil || feed.Items[0].UpdatedParsed == nil || feed.UpdatedParsed.Before(*feed.Items[0].UpdatedParsed) {
		t.Errorf("feed updated %v is older than its edited entry %v", feed.UpdatedParsed, feed.Items[0].UpdatedParsed)
	}
	page := e.do(req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", thread)}).Body.String()
	if !strings.Contains(page, fmt.Sprintf(`rel="alternate" type="application/atom+xml"`)) {
		t.Fatal("the thread page does not link its feed")
	}
}

// TestSearchTooLong: an over-long search comes back in the form with what
// is wrong (page), or as a JSON 400 (API).
func TestSearchTooLong(t *testing.T) {
	e := newTestEnv(t)
	q := url.QueryEscape(strings.Repeat("mail ", 50))
	w := e.do(req{method: http.MethodGet, path: "/search?q=" + q})
	wantStatus(t, w, http.StatusBadRequest)
	if body := w.Body.String(); !strings.Contains(body, `id="q" name="q" type="search" value="mail mail`) || !strings.Contains(body, "at most 200 characters") {
		t.Errorf("the search form does not come back with the query and the reason: %.500s", body)
	}
	w = e.do(req{method: http.MethodGet, path: "/api/v1/search?q=" + q})
	wantStatus(t, w, http.StatusBadRequest)
	wantJSONError(t, w, "bad_request")
}

// TestPostFloodRefusedBeforeRendering is the reproduction of the CPU burn
// by Markdown: POST /api/v1/threads with "[a](" repeated 8,000 times (under
// the 32 KiB cap). Without a title it is refused for the title before
// anything is rendered; with one, 32 sent at once by one account make one
// thread and the other 31 are refused with 429 and Retry-After before
// rendering (models.TestConcurrentPostsRenderOnce counts the renderings).
func TestPostFloodRefusedBeforeRendering(t *testing.T) {
	e := newTestEnv(t)
	alice, _ := forumCustomer(e)
	tok := e.token(alice)
	body, _ := json.Marshal(strings.Repeat("[a](", 8000))
	w := e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok, json: `{"body":` + string(body) + `}`})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	wantJSONError(t, w, "invalid", "title")
	var wg sync.WaitGroup
	codes := make(chan *httptest.ResponseRecorder, 32)
	for range 32 {
		wg.Go(func() {
			codes <- e.do(req{method: http.MethodPost, path: "/api/v1/threads", bearer: tok,
				json: `{"title":"Links do not render","body":` + string(body) + `}`})
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for w := range codes {
		count[w.Code]++
		if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if count[http.StatusCreated] != 1 || count[http.StatusTooManyRequests] != 31 {
		t.Fatalf("32 threads at once: %v, want 1 created and 31 refused", count)
	}
}

// TestEditFloodPaced is the reproduction of the unbounded edits: 200 edits
// of 30 KB sent at once store one revision; the rest are refused with 429.
// Moderators are not paced.
func TestEditFloodPaced(t *testing.T) {
	e := newTestEnv(t)
	alice, _ := forumCustomer(e)
	th := e.thread(alice, "Mail is down", "Since nine.")
	post := e.posts(th.ID)[0]
	tok := e.token(alice)
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := range 200 {
		wg.Go(func() {
			body, _ := json.Marshal(fmt.Sprintf("%03d %s", i, strings.Repeat("x", 30<<10)))
			codes <- e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", post.ID), bearer: tok, json: `{"body":` + string(body) + `}`}).Code
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusTooManyRequests] != 199 {
		t.Fatalf("200 edits at once: %v, want 1 saved and 199 refused", count)
	}
	_, revs, err := e.store.PostRevisions(context.Background(), post.ID, alice, models.Page{PerPage: models.MaxPerPage})
	if err != nil || len(revs.Items) != 1 {
		t.Fatalf("%d revisions (%v), want 1", len(revs.Items), err)
	}
	// The next edit waits for the interval; a moderator does not wait.
	w := e.do(req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", post.ID), bearer: tok, json: `{"body":"Since nine UTC."}`})
	wantStatus(t, w, http.StatusTooManyRequests)
	wantJSONError(t, w, "rate_limited", "editing too fast")
	mod := e.token(e.user("morgan", models.RoleModerator))
	for i := range 3 {
		e.must(http.StatusOK, req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", post.ID), bearer: mod, json: fmt.Sprintf(`{"body":"Moderated %d"}`, i)})
	}
	e.clock.Advance(models.EditInterval)
	e.must(http.StatusOK, req{method: http.MethodPatch, path: fmt.Sprintf("/api/v1/posts/%d", post.ID), bearer: tok, json: `{"body":"Since nine UTC."}`})
}

// TestPreviewsLimited: previews render without posting, so they are
// counted per person: past the bound the form comes back with the text and
// 429, unrendered.
func TestPreviewsLimited(t *testing.T) {
	e := newTestEnv(t)
	_, cookie := forumCustomer(e)
	preview := func() *httptest.ResponseRecorder {
		return e.do(req{method: http.MethodPost, path: "/threads", cookie: cookie,
			form: url.Values{"title": {"Mail is down"}, "body": {"**draft** text"}, "preview": {"1"}}})
	}
	for range previewAccount.max {
		wantStatus(t, preview(), http.StatusOK)
	}
	w := preview()
	wantStatus(t, w, http.StatusTooManyRequests)
	mustContain(t, "refused preview", w.Body.String(), "many previews", "**draft** text")
	if strings.Contains(w.Body.String(), "<strong>draft</strong>") || w.Header().Get("Retry-After") == "" {
		t.Error("a refused preview was rendered, or has no Retry-After")
	}
	e.clock.Advance(previewAccount.window)
	wantStatus(t, preview(), http.StatusOK)
}

// TestThreadJSONAlwaysHasPosts: a thread whose every post is hidden still
// answers with "posts": [] (a client reading the key must find it); lists
// of threads carry no posts.
func TestThreadJSONAlwaysHasPosts(t *testing.T) {
	e := newTestEnv(t)
	alice, _ := forumCustomer(e)
	th := e.thread(alice, "Buy cheap watches", "Visit my shop.")
	if _, err := e.store.HidePost(context.Background(), e.user("morgan", models.RoleModerator), e.posts(th.ID)[0].ID, "spam"); err != nil {
		t.Fatal(err)
	}
	body := e.page(fmt.Sprintf("/api/v1/threads/%d", th.ID), nil)
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if string(got["posts"]) != "[]" {
		t.Fatalf(`"posts" is %q in %s, want []`, got["posts"], body)
	}
	if list := e.page("/api/v1/threads", nil); strings.Contains(list, `"posts"`) {
		t.Errorf("a list of threads carries posts: %.300s", list)
	}
}

// TestMentionsAndProfiles: "@name" of a person in a post links to their
// public page, which lists their posts; a name of nobody stays text.
func TestMentionsAndProfiles(t *testing.T) {
	e := newTestEnv(t)
	alice, bob := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleStaff)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	e.reply(bob, th.ID, "Thanks @alice, and @nobody-at-all: we are on it.")
	body := e.page(fmt.Sprintf("/threads/%d", th.ID), nil)
	mustContain(t, "thread with mentions", body, `<a href="/users/alice" rel="nofollow ugc noopener">@alice</a>`, "@nobody-at-all:")
	if strings.Contains(body, `href="/users/nobody-at-all"`) {
		t.Error("a mention of nobody became a link")
	}
	body = e.page("/users/alice", nil)
	mustContain(t, "alice's page", body, "<h1>alice", "Mail is down", "member since")
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/users/nobody-at-all"}), http.StatusNotFound)
	e.runJobs()
	if !strings.Contains(e.page("/notifications", e.session(alice)), "bob mentioned you in") {
		t.Error("alice was not told of the mention")
	}
}
