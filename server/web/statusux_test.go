package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"sitrep/models"
)

// uptimeHistory is a fixed history on the test clock (14 March 2026 09:30
// UTC; the dashboard's 90 days start on 15 December 2025): Mail, in the
// group Comms since December, with a major outage of 2 h on 1 February and
// a partial outage of 5 h on 1 March; Chat, without a group, added ten
// days ago.
type uptimeHistory struct {
	staff         *models.User
	mail, chat    *models.Service
	outage, slow  *models.Incident
	start, before time.Time // the window's start; the clock when it was made
}

func newUptimeHistory(e *testEnv) *uptimeHistory {
	e.t.Helper()
	ctx := context.Background()
	h := &uptimeHistory{before: e.clock.Now(), start: time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)}
	setTo := func(t time.Time) { e.clock.Advance(t.Sub(e.clock.Now())) }
	setTo(time.Date(2025, 12, 1, 9, 30, 0, 0, time.UTC))
	h.staff = e.user("sam", models.RoleStaff)
	h.mail = e.service(models.NewService{Name: "Mail", Group: "Comms", Position: 1})
	declare := func(title string, st models.ComponentStatus, at time.Time, d time.Duration) *models.Incident {
		setTo(at)
		inc := e.incident(h.staff, models.NewIncident{Kind: models.KindIncident, Title: title, Impact: "major",
			Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: h.mail.ID, Status: st}}})
		setTo(at.Add(d))
		if _, err := e.store.PostUpdate(ctx, h.staff, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
			e.t.Fatal(err)
		}
		return inc
	}
	h.outage = declare("Mail is down", models.MajorOutage, time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), 2*time.Hour)
	h.slow = declare("Mail is slow", models.PartialOutage, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), 5*time.Hour)
	setTo(time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC))
	h.chat = e.service(models.NewService{Name: "Chat", Position: 2})
	setTo(h.before)
	return h
}

// TestDashboardUptimeAndDays: each service shows its uptime over the 90
// days; the days before Chat was listed say "no data", and each day names
// its incidents; Chat, without a group, is not drawn inside Mail's group.
func TestDashboardUptimeAndDays(t *testing.T) {
	e := newTestEnv(t)
	h := newUptimeHistory(e)
	doc, err := html.Parse(strings.NewReader(e.page("/", nil)))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*html.Node{}
	walk(doc, func(n *html.Node) {
		if hasClass(n, "service") {
			rows[textContent(find(n, "service-name"))] = n
		}
	})
	if len(rows) != 2 {
		t.Fatalf("service rows %v, want Mail and Chat", rows)
	}
	// Mail: 3.5 h down (2 h + 30 % of 5 h) in 89 days 9.5 h: 99.8368...%.
	if got := textContent(find(rows["Mail"], "uptime")); got != "99.83% uptime" {
		t.Errorf("Mail's uptime reads %q", got)
	}
	if got := textContent(find(rows["Chat"], "uptime")); got != "100% uptime" {
		t.Errorf("Chat's uptime reads %q", got)
	}
	days := func(row *html.Node) []*html.Node {
		var out []*html.Node
		walk(row, func(n *html.Node) {
			if n.Data == "details" && hasClass(n, "day") {
				out = append(out, n)
			}
		})
		return out
	}
	mail, chat := days(rows["Mail"]), days(rows["Chat"])
	if len(mail) != 90 || len(chat) != 90 {
		t.Fatalf("%d and %d days, want 90 each", len(mail), len(chat))
	}
	// Chat was listed on 4 March, day 79 of the window: the 79 days before
	// have no data, the bar and the count alike.
	for i, d := range chat {
		if noData := hasClass(d, "st-no_data"); noData != (i < 79) {
			t.Errorf("Chat, day %d: classes %q", i, attrOf(d, "class"))
		}
	}
	mustContain(t, "Chat's summary", textContent(rows["Chat"]), "no problems; no data for the 79 days before the service was listed")
	mustContain(t, "Chat's days", render(rows["Chat"]), "<b>Tue 3 Mar 2026</b> · No data<br/>The service was not listed yet.",
		"<b>Wed 4 Mar 2026</b> · Operational<br/>No incidents.")
	for i, want := range map[int]string{78: "3 Mar 2026: No data", 79: "4 Mar 2026: Operational"} {
		if got := attrOf(chat[i].FirstChild, "aria-label"); got != want {
			t.Errorf("Chat, day %d, is named %q, want %q", i, got, want)
		}
	}
	mustContain(t, "Mail's summary", textContent(rows["Mail"]), "2 days with problems")
	// Each day names its incidents, linked.
	day := func(at time.Time) int { return int(at.Sub(h.start) / (24 * time.Hour)) }
	for _, c := range []struct {
		day  int
		inc  *models.Incident
		want string
	}{
		{day(h.outage.StartedAt), h.outage, "1 Feb 2026: Major outage, 1 incident"},
		{day(h.slow.StartedAt), h.slow, "1 Mar 2026: Partial outage, 1 incident"},
	} {
		d := mail[c.day]
		body := render(d)
		if attrOf(d.FirstChild, "aria-label") != c.want || !strings.Contains(body, fmt.Sprintf(`<a href="/incidents/%d">%s</a>`, c.inc.ID, c.inc.Title)) {
			t.Errorf("Mail, day %d: %s", c.day, body)
		}
	}
	if got := textContent(mail[day(h.outage.StartedAt)+1]); !strings.Contains(got, "No incidents.") {
		t.Errorf("the day after the outage: %q", got)
	}
	// Chat has no group: it is not inside Comms's box.
	for n := rows["Chat"].Parent; n != nil; n = n.Parent {
		if hasClass(n, "service-group") {
			t.Error("Chat is drawn inside a group")
		}
	}
	if p := rows["Mail"].Parent.Parent; !hasClass(p, "service-group") || !strings.Contains(textContent(p), "Comms") {
		t.Errorf("Mail is not in its group's box: %.200s", render(p))
	}
}

// walk calls fn on every element under n, n included.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

// find is the first element under n with class, or nil.
func find(n *html.Node, class string) *html.Node {
	var out *html.Node
	walk(n, func(m *html.Node) {
		if out == nil && hasClass(m, class) {
			out = m
		}
	})
	return out
}

// textContent is the text under n, spaces collapsed.
func textContent(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// badgeText is a badge's parsed SVG: its accessible name, its texts (each
// drawn twice, shadow and text) and the colour of its right half.
type badgeText struct {
	Label, Fill string
	Texts       []string
}

func parseBadge(t *testing.T, w *httptest.ResponseRecorder) badgeText {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "image/svg+xml; charset=utf-8" {
		t.Errorf("badge content type %q", ct)
	}
	var out badgeText
	rects := 0
	d := xml.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	var inText bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the badge is not well-formed XML: %v\n%s", err, w.Body.String())
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || strings.Contains(strings.ToLower(a.Value), "javascript:") {
					t.Errorf("script-capable attribute %s=%q", a.Name.Local, a.Value)
				}
			}
			switch tok.Name.Local {
			case "script", "foreignObject", "image", "use", "a", "style", "iframe":
				t.Errorf("<%s> in a badge", tok.Name.Local)
			case "svg":
				for _, a := range tok.Attr {
					if a.Name.Local == "aria-label" {
						out.Label = a.Value
					}
				}
			case "rect":
				if rects++; rects == 3 { // clip, label, message
					for _, a := range tok.Attr {
						if a.Name.Local == "fill" {
							out.Fill = a.Value
						}
					}
				}
			case "text":
				inText = true
			}
		case xml.CharData:
			if inText {
				out.Texts = append(out.Texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return out
}

// TestBadges: the overall and a service's badge say the status in words
// and colour, escape a hostile name, are safe to embed and cacheable, and
// an unknown or malformed service is a 404.
func TestBadges(t *testing.T) {
	e := newTestEnv(t)
	staff := e.user("sam", models.RoleStaff)
	hostile := `<script>alert(1)</script>&"M"'x']]>`
	mail := e.service(models.NewService{Name: hostile, Position: 1})
	chat := e.service(models.NewService{Name: "Chat", Position: 2})
	get := func(path string) badgeText {
		t.Helper()
		w := e.must(http.StatusOK, req{method: http.MethodGet, path: path})
		h := w.Header()
		if csp := h.Get("Content-Security-Policy"); csp != badgeSecurityPolicy {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "public, max-age=60" || h.Get("ETag") == "" ||
			h.Get("X-Frame-Options") != "" || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
		if strings.Contains(w.Body.String(), "<script") {
			t.Errorf("%s: the name is not escaped: %s", path, w.Body.String())
		}
		wantStatus(t, e.do(req{method: http.MethodGet, path: path, header: map[string]string{"If-None-Match": h.Get("ETag")}}), http.StatusNotModified)
		return parseBadge(t, w)
	}
	want := func(path, label, word, fill string) {
		t.Helper()
		b := get(path)
		if b.Label != label+": "+word || b.Fill != fill || len(b.Texts) != 4 || b.Texts[1] != label || b.Texts[3] != word {
			t.Errorf("%s: %+v, want %q: %q on %s", path, b, label, word, fill)
		}
	}
	mailBadge, chatBadge := fmt.Sprintf("/services/%d/badge.svg", mail.ID), fmt.Sprintf("/services/%d/badge.svg", chat.ID)
	want("/badge.svg", "status", "operational", badgeGreen)
	want(mailBadge, hostile, "operational", badgeGreen)

	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail down", Impact: "critical", Status: models.StatusInvestigating,
		Body: "Down.", Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.MajorOutage}, {ServiceID: chat.ID, Status: models.DegradedPerformance}}})
	want("/badge.svg", "status", "major outage", badgeRed)
	want(mailBadge, hostile, "major outage", badgeRed)
	want(chatBadge, "Chat", "degraded", badgeYellow)
	if _, err := e.store.PostUpdate(context.Background(), staff, inc.ID, models.NewUpdate{Status: models.StatusIdentified, Body: "Found it.", Impact: "major",
		Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.PartialOutage}}}); err != nil {
		t.Fatal(err)
	}
	want("/badge.svg", "status", "partial outage", badgeOrange)
	want(mailBadge, hostile, "partial outage", badgeOrange)

	// A long name is cut to 40 characters.
	long := e.service(models.NewService{Name: strings.Repeat("Long name ", 8), Position: 3})
	if b := get(fmt.Sprintf("/services/%d/badge.svg", long.ID)); len([]rune(b.Texts[1])) != badgeLabelMax || !strings.HasSuffix(b.Texts[1], "…") {
		t.Errorf("long name drawn as %q", b.Texts[1])
	}
	for _, path := range []string{"/services/999/badge.svg", "/services/abc/badge.svg", "/services/0/badge.svg", "/services/-1/badge.svg", "/services/99999999999999999999/badge.svg"} {
		wantStatus(t, e.do(req{method: http.MethodGet, path: path}), http.StatusNotFound)
	}
	// Pages keep their own policy.
	if csp := e.do(req{method: http.MethodGet, path: "/"}).Header().Get("Content-Security-Policy"); csp != contentSecurityPolicy {
		t.Errorf("the dashboard's CSP is %q", csp)
	}
}

// TestOfficialUpdateOnceInTheFlow: an official update is shown in full in
// the timeline at the top and as a marker linking there in the replies,
// never twice; a linked customer thread keeps the latest update in its
// banner.
func TestOfficialUpdateOnceInTheFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	staff := e.user("sam", models.RoleStaff)
	casey := e.user("casey", models.RoleCustomer)
	mod := e.user("mia", models.RoleModerator)
	e.clock.Advance(48 * time.Hour)
	svc := e.service(models.NewService{Name: "Mail"})
	complaint := e.thread(casey, "Mail bounces", "Everything bounces.")
	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "We are looking into **bounces**.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	if _, err := e.store.LinkThread(ctx, staff, complaint.ID, inc.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Minute)
	e.reply(casey, inc.ThreadID, "Same for our whole team, since 9:00.")
	e.clock.Advance(27 * time.Minute)
	second, err := e.store.PostUpdate(ctx, staff, inc.ID, models.NewUpdate{Status: models.StatusIdentified, Body: "A full disk on the relay; clearing it now."})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := e.store.IncidentUpdates(ctx, nil, 0, inc.ID)
	if err != nil || len(ups) != 2 {
		t.Fatalf("updates %v, %v", ups, err)
	}
	first := ups[1]
	for _, who := range []*http.Cookie{nil, e.session(casey), e.session(staff), e.session(mod)} {
		body := e.page(fmt.Sprintf("/incidents/%d", inc.ID), who)
		for _, text := range []string{"We are looking into <strong>bounces</strong>.", "A full disk on the relay; clearing it now."} {
			if n := strings.Count(body, text); n != 1 {
				t.Errorf("%q is on the page %d times, want once", text, n)
			}
		}
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var posts []*html.Node
		walk(doc, func(n *html.Node) {
			if n.Data == "li" && hasClass(n, "post") {
				posts = append(posts, n)
			}
		})
		if len(posts) != 3 {
			t.Fatalf("%d posts in the flow, want 3", len(posts))
		}
		for i, u := range []*models.IncidentUpdate{&first, nil, second} {
			marker := find(posts[i], "update-marker")
			switch {
			case u == nil && (marker != nil || !strings.Contains(textContent(posts[i]), "Same for our whole team")):
				t.Errorf("the customer's reply is not shown in full: %s", render(posts[i]))
			case u == nil:
			case marker == nil || attrOf(posts[i], "id") != fmt.Sprintf("post-%d", u.PostID):
				t.Errorf("post %d is not a marker: %s", i, render(posts[i]))
			default:
				link := fmt.Sprintf(`<a href="#update-%d">`, u.ID)
				if !strings.Contains(render(marker), link) || !strings.Contains(textContent(marker), "Official update "+models.StatusLabel(u.Status)+" at ") ||
					!strings.Contains(textContent(marker), "see above") || !strings.Contains(body, fmt.Sprintf(`<li id="update-%d">`, u.ID)) {
					t.Errorf("marker %s does not link to the timeline's update %d", render(marker), u.ID)
				}
			}
		}
		checkAccessible(t, "incident page", body)
	}
	// The linked thread's banner still shows the latest update in full.
	body := e.page(fmt.Sprintf("/threads/%d", complaint.ID), nil)
	mustContain(t, "linked thread", body, "Tracked in", "A full disk on the relay; clearing it now.")
}

// TestCommunicationRecordPageAndAPI: the record's figures on a fixed data
// set, as the page and GET /api/v1/record show them. A customer reports at
// 09:30; staff declare at 09:50 promising 10:10, update at 10:05
// promising 10:20 (kept), update at 10:40 (missed) and resolve at 11:00.
// Another incident, declared at 11:30 promising 11:45, is still silent at
// 12:00.
func TestCommunicationRecordPageAndAPI(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	staff := e.user("sam", models.RoleStaff)
	casey := e.user("casey", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour) // 16 March, 09:30
	svc := e.service(models.NewService{Name: "Mail"})
	complaint := e.thread(casey, "Mail bounces", "Everything bounces.")
	promise := func(d time.Duration) *time.Time { p := e.clock.Now().Add(d); return &p }
	e.clock.Advance(20 * time.Minute)
	inc := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail <bouncing>", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", NextUpdateAt: promise(20 * time.Minute),
		Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	if _, err := e.store.LinkThread(ctx, staff, complaint.ID, inc.ID); err != nil {
		t.Fatal(err)
	}
	// post moves the clock by d and posts an update, promising the next
	// in next (0: no promise).
	post := func(d time.Duration, status string, next time.Duration) {
		t.Helper()
		e.clock.Advance(d)
		in := models.NewUpdate{Status: status, Body: "News.", NoPromise: next == 0}
		if next > 0 {
			in.NextUpdateAt = promise(next)
		}
		if _, err := e.store.PostUpdate(ctx, staff, inc.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	post(15*time.Minute, models.StatusIdentified, 15*time.Minute) // 10:05, promising 10:20
	post(35*time.Minute, models.StatusMonitoring, 0)              // 10:40
	post(20*time.Minute, models.StatusResolved, 0)                // 11:00
	e.clock.Advance(30 * time.Minute)
	quiet := e.incident(staff, models.NewIncident{Kind: models.KindIncident, Title: "Calendar slow", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", NextUpdateAt: promise(15 * time.Minute),
		Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.DegradedPerformance}}})
	e.clock.Advance(30 * time.Minute) // 12:00

	w := e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/record"})
	if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=60" || w.Header().Get("ETag") == "" {
		t.Errorf("record caching: %q, ETag %q", cc, w.Header().Get("ETag"))
	}
	rec := decodeAs[apiRecord](t, w)
	sec := func(d time.Duration) *int64 { s := int64(d / time.Second); return &s }
	eq := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	s := rec.Summary
	if s.Incidents != 2 || s.ReportedFirst != 1 || !eq(s.MedianTimeToFirstWordSeconds, sec(20*time.Minute)) ||
		!eq(s.LongestTimeToFirstWordSecs, sec(20*time.Minute)) || s.PromisesMade != 3 || s.PromisesKept != 1 || s.PromisesMissed != 2 ||
		s.PromisesPending != 0 || !eq(s.LongestSilenceSeconds, sec(35*time.Minute)) || s.LongestSilenceIncidentID == nil || *s.LongestSilenceIncidentID != inc.ID {
		t.Errorf("summary %+v", s)
	}
	if len(rec.Incidents) != 2 || rec.Incidents[0].ID != quiet.ID || rec.Incidents[1].ID != inc.ID {
		t.Fatalf("incidents %+v", rec.Incidents)
	}
	q, r := rec.Incidents[0], rec.Incidents[1]
	if q.FirstReport != nil || q.TimeToFirstWordSeconds != nil || q.PromisesMissed != 1 || !eq(q.LongestSilenceSeconds, sec(30*time.Minute)) || !q.SilenceOngoing {
		t.Errorf("the quiet incident: %+v", q)
	}
	if r.FirstReport == nil || *r.FirstReport != "thread" || !r.FirstReportAt.Equal(complaint.CreatedAt) || !eq(r.TimeToFirstWordSeconds, sec(20*time.Minute)) ||
		r.PromisesMade != 2 || r.PromisesKept != 1 || r.PromisesMissed != 1 || r.SilenceOngoing || r.URL != fmt.Sprintf("/incidents/%d", inc.ID) ||
		r.Title != "Mail <bouncing>" || r.ResolvedAt == nil {
		t.Errorf("the reported incident: %+v", r)
	}

	body := e.page("/record", nil)
	mustContain(t, "record page", body, "median 20 min, longest 20 min", "3 made: 1 kept, 2 missed", "(33% of those due were kept)",
		fmt.Sprintf(`35 min, in <a href="/incidents/%d">incident %d</a>`, inc.ID, inc.ID), "Mail &lt;bouncing&gt;",
		"20 min <span class=\"muted\">after the first customer thread</span>", "none: declared before any report",
		"30 min <span class=\"muted\">so far</span>", "What the figures mean", `<a href="/api/v1/record">`)
	checkPage(t, body)
	checkAccessible(t, "record", body)
	// The dashboard links to it.
	mustContain(t, "dashboard", e.page("/", nil), `<a href="/record">Communication record</a>`)
}

// TestPostTaskListsAndRemoteImages: on a thread page, a task list's
// checkboxes are named by their items, and another host's image is a link
// to it, not an image the reader's browser would fetch; the pages' policy
// lets no other host's image load either.
func TestPostTaskListsAndRemoteImages(t *testing.T) {
	e := newTestEnv(t)
	casey := e.user("casey", models.RoleCustomer)
	th := e.thread(casey, "Checklist for the migration", "- [x] Back up the **mailboxes**\n- [ ] Switch DNS\n\n"+
		"Here is the graph: ![latency](https://tracker.example/pixel.gif?u=casey)\n\n[![status](https://img.example/b.svg)](https://example.com/ci)")
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: fmt.Sprintf("/threads/%d", th.ID)})
	body := w.Body.String()
	mustContain(t, "thread page", body,
		`<input checked="" disabled="" type="checkbox" aria-label="Back up the mailboxes">`,
		`<input disabled="" type="checkbox" aria-label="Switch DNS">`,
		`<a href="https://tracker.example/pixel.gif?u=casey" rel="nofollow ugc noopener">Image: latency</a>`,
		`<a href="https://example.com/ci" rel="nofollow ugc noopener">status</a>`)
	if strings.Contains(body, "<img") || strings.Contains(body, "img.example") {
		t.Error("a post's image is shown as an image")
	}
	checkPage(t, body)
	checkAccessible(t, "thread page", body) // a checkbox without a name fails it
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self';") {
		t.Errorf("images may come from elsewhere: %q", csp)
	}
}
