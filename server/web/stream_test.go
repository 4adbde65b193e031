package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// sseEvent is one Server-Sent Event as a browser reads it.
type sseEvent struct {
	ID    int64
	Event string
	Data  string
}

// sseClient is one open stream.
type sseClient struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	retry  string
	cancel context.CancelFunc
}

// openStream connects to the stream at path (with a cookie and a
// Last-Event-ID when given) and reads its events in the background.
func openStream(t *testing.T, base, path string, cookie *http.Cookie, lastID int64) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	if lastID > 0 {
		r.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &sseClient{t: t, resp: resp, events: make(chan sseEvent, 100), cancel: cancel}
	t.Cleanup(c.close)
	if resp.StatusCode != http.StatusOK {
		return c
	}
	sc := bufio.NewScanner(resp.Body)
	// The first block says how long to wait before reconnecting.
	for sc.Scan() && sc.Text() != "" {
		c.retry = sc.Text()
	}
	go func() {
		defer close(c.events)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Event != "" {
					c.events <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				e.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.Data = line[6:]
			}
		}
	}()
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next waits for the stream's next event of kind, skipping others.
func (c *sseClient) next(kind string) sseEvent {
	c.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				c.t.Fatalf("the stream ended while waiting for a %s event", kind)
			}
			if e.Event == kind {
				return e
			}
		case <-timeout:
			c.t.Fatalf("no %s event within 5 s", kind)
		}
	}
}

// quiet fails if an event of kind arrives within d.
func (c *sseClient) quiet(kind string, d time.Duration) {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e, ok := <-c.events:
			if ok && e.Event == kind {
				c.t.Fatalf("unexpected %s event: %s", kind, e.Data)
			}
			if !ok {
				return
			}
		case <-timeout:
			return
		}
	}
}

// TestStreamOfAnIncident: a visitor's stream on an incident's thread gets an
// official update as it is posted; after a disconnect, the replies posted
// meanwhile arrive in order when it reconnects with Last-Event-ID; a hidden
// post never travels with its text, live or replayed.
func TestStreamOfAnIncident(t *testing.T) {
	e := newTestEnv(t)
	e.startBackground()
	srv := e.server()
	sam := e.user("sam", models.RoleStaff)
	mod := e.user("mia", models.RoleModerator)
	cust := e.user("casey", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	svc := e.service(models.NewService{Name: "Mail"})
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail is slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})

	path := fmt.Sprintf("/api/v1/stream?thread=%d", inc.ThreadID)
	s := openStream(t, srv.URL, path, nil, 0)
	if s.resp.StatusCode != http.StatusOK || !strings.HasPrefix(s.resp.Header.Get("Content-Type"), "text/event-stream") ||
		s.resp.Header.Get("X-Accel-Buffering") != "no" || s.retry != "retry: 10000" {
		t.Fatalf("stream answer: %d %v retry %q", s.resp.StatusCode, s.resp.Header, s.retry)
	}
	e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID),
		bearer: e.token(sam), json: `{"status":"identified","body":"Found the **cause**."}`})
	// The declaration may still be on its way to the stream: skip it.
	post := s.next("post")
	for strings.Contains(post.Data, "Looking.") {
		post = s.next("post")
	}
	var pd struct {
		ID       int64  `json:"id"`
		ThreadID int64  `json:"thread_id"`
		Official bool   `json:"official"`
		BodyHTML string `json:"body_html"`
	}
	if err := json.Unmarshal([]byte(post.Data), &pd); err != nil || pd.ThreadID != inc.ThreadID || !pd.Official ||
		!strings.Contains(pd.BodyHTML, "<strong>cause</strong>") || post.ID == 0 {
		t.Fatalf("post event: %+v %s %v", post, post.Data, err)
	}
	ev := s.next("incident")
	var id struct {
		IncidentID int64  `json:"incident_id"`
		Status     string `json:"status"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &id); err != nil || id.IncidentID != inc.ID || id.Status != "identified" || ev.ID <= post.ID {
		t.Fatalf("incident event: %+v %v", ev, err)
	}
	s.close()

	// Two replies while the page was away; one of them hidden at once.
	var replies []int64
	for _, body := range []string{"Same here.", "Buy cheap watches!"} {
		e.clock.Advance(time.Minute)
		replies = append(replies, e.reply(cust, inc.ThreadID, body).ID)
	}
	if _, err := e.store.HidePost(context.Background(), mod, replies[1], "spam"); err != nil {
		t.Fatal(err)
	}
	s = openStream(t, srv.URL, path, nil, ev.ID)
	first, second := s.next("post"), s.next("post")
	if !strings.Contains(first.Data, fmt.Sprintf(`"id":%d,`, replies[0])) || !strings.Contains(first.Data, "Same here.") ||
		!strings.Contains(second.Data, fmt.Sprintf(`"id":%d,`, replies[1])) || second.ID <= first.ID {
		t.Fatalf("replayed, in order: %s then %s", first.Data, second.Data)
	}
	hidden := s.next("post") // the hide, after the post
	for _, d := range []string{second.Data, hidden.Data} {
		if strings.Contains(d, "watches") || !strings.Contains(d, `"hidden":true`) {
			t.Errorf("a hidden post's event: %s", d)
		}
	}

	// Live, a post hidden later travels as hidden, without its text.
	e.clock.Advance(time.Minute)
	p := e.reply(cust, inc.ThreadID, "Call me on 555-0100 for a refund")
	if d := s.next("post").Data; !strings.Contains(d, "555-0100") {
		t.Fatalf("the new reply: %s", d)
	}
	if _, err := e.store.HidePost(context.Background(), mod, p.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if d := s.next("post").Data; strings.Contains(d, "555-0100") || !strings.Contains(d, `"hidden":true`) {
		t.Errorf("after the hide: %s", d)
	}
}

// TestStreamOfTheStatus: the dashboard's stream hears of a change of the
// overall status.
func TestStreamOfTheStatus(t *testing.T) {
	e := newTestEnv(t)
	e.startBackground()
	srv := e.server()
	sam := e.user("sam", models.RoleStaff)
	svc := e.service(models.NewService{Name: "Mail"})
	s := openStream(t, srv.URL, "/api/v1/stream?status=1", nil, 0)
	e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail is down", Impact: "critical",
		Status: models.StatusInvestigating, Body: "Down.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	ev := s.next("status")
	if strings.Contains(ev.Data, `"indicator":"none"`) { // the new service, on its way still
		ev = s.next("status")
	}
	if !strings.Contains(ev.Data, `"indicator":"critical"`) || !strings.Contains(ev.Data, `"status":"major_outage"`) {
		t.Errorf("status event: %s", ev.Data)
	}
}

// TestStreamOfNotifications: a signed-in person's stream carries their
// notifications with the unread count, and nobody else's; visitors are
// asked to log in.
func TestStreamOfNotifications(t *testing.T) {
	e := newTestEnv(t)
	e.startBackground()
	srv := e.server()
	alice, bob, carol := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleCustomer), e.user("carol", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	mine := openStream(t, srv.URL, "/api/v1/stream?notifications=1", e.session(alice), 0)
	theirs := openStream(t, srv.URL, "/api/v1/stream?notifications=1", e.session(carol), 0)
	e.reply(bob, th.ID, "Same here.")
	e.runJobs()
	n := mine.next("notification")
	var d struct {
		ID     int64  `json:"id"`
		Kind   string `json:"kind"`
		Unread int    `json:"unread"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal([]byte(n.Data), &d); err != nil || d.Kind != "reply" || d.Unread != 1 || d.Text != "bob replied in “Mail is down”" || d.ID == 0 {
		t.Fatalf("notification event: %s %v", n.Data, err)
	}
	theirs.quiet("notification", 300*time.Millisecond)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/stream?notifications=1"}), http.StatusUnauthorized)
	for _, bad := range []string{"/api/v1/stream", "/api/v1/stream?thread=abc", "/api/v1/stream?thread=1&status=1"} {
		wantStatus(t, e.do(req{method: http.MethodGet, path: bad}), http.StatusBadRequest)
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/stream?thread=999999"}), http.StatusNotFound)
}

// TestStreamsAreBounded: past -max-streams a new stream is refused with 503
// and Retry-After, and a freed slot serves again.
func TestStreamsAreBounded(t *testing.T) {
	e := newTestEnvConfig(t, func(c *Config) { c.MaxStreams = 1 })
	srv := e.server()
	first := openStream(t, srv.URL, "/api/v1/stream?status=1", nil, 0)
	second := openStream(t, srv.URL, "/api/v1/stream?status=1", nil, 0)
	if second.resp.StatusCode != http.StatusServiceUnavailable || second.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second stream: %d %v", second.resp.StatusCode, second.resp.Header)
	}
	first.close()
	for range 100 {
		if e.app.live.Streams() == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if third := openStream(t, srv.URL, "/api/v1/stream?status=1", nil, 0); third.resp.StatusCode != http.StatusOK {
		t.Fatalf("after the first closed: %d", third.resp.StatusCode)
	}
}

// TestNotificationsAPI: the list, newest first, with its unread count;
// marking read by id and all at once.
func TestNotificationsAPI(t *testing.T) {
	e := newTestEnv(t)
	alice, bob, sam := e.user("alice", models.RoleCustomer), e.user("bob", models.RoleCustomer), e.user("sam", models.RoleStaff)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(alice, "Mail is down", "Since nine.")
	e.clock.Advance(time.Minute)
	other := e.thread(alice, "Calendar is slow", "Very slow.")
	e.reply(bob, th.ID, "Same here.")
	e.clock.Advance(time.Minute)
	e.reply(sam, other.ID, "Looking, @alice.")
	e.runJobs()
	token := e.token(alice)
	type list struct {
		Notifications []apiNotification `json:"notifications"`
		Unread        int               `json:"unread"`
		Page          int               `json:"page"`
		HasMore       bool              `json:"has_more"`
	}
	got := decodeAs[list](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/notifications", bearer: token}))
	if got.Unread != 2 || len(got.Notifications) != 2 || got.Page != 1 || got.HasMore ||
		got.Notifications[0].Kind != "mention" || got.Notifications[1].Kind != "reply" ||
		got.Notifications[1].URL == "" || got.Notifications[1].Read || *got.Notifications[1].Actor != "bob" {
		t.Fatalf("list: %+v", got)
	}
	w := e.must(http.StatusOK, req{method: http.MethodPost, path: "/api/v1/notifications/read", bearer: token,
		json: fmt.Sprintf(`{"ids":[%d]}`, got.Notifications[0].ID)})
	if strings.TrimSpace(w.Body.String()) != `{"unread":1}` {
		t.Errorf("after reading one: %s", w.Body)
	}
	w = e.must(http.StatusOK, req{method: http.MethodPost, path: "/api/v1/notifications/read", bearer: token, json: `{"all":true}`})
	if strings.TrimSpace(w.Body.String()) != `{"unread":0}` {
		t.Errorf("after reading all: %s", w.Body)
	}
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/api/v1/notifications/read", bearer: token, json: `{}`}), http.StatusUnprocessableEntity)
	// Bob's list is his own.
	if got := decodeAs[list](t, e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/notifications", bearer: e.token(bob)})); len(got.Notifications) != 0 {
		t.Errorf("bob sees %+v", got.Notifications)
	}
	// The bell on every page, and the notifications page.
	body := e.page("/notifications", e.session(bob))
	mustContain(t, "notifications page", body, "Nothing yet")
}
