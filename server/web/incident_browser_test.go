package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserIncidentJourney: staff declare an incident and post an update;
// a customer sees it on the dashboard, opens it, replies and says they are
// affected; staff link the customer's own thread and the banner appears.
func TestBrowserIncidentJourney(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	bg := context.Background()
	mail := e.service(models.NewService{Name: "Mail", Group: "Communication", Position: 1})
	e.service(models.NewService{Name: "Calendar", Group: "Communication", Position: 2})
	e.user("sam", models.RoleStaff)
	casey := e.user("casey", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	complaint := e.thread(casey, "My mail does not leave the outbox", "Since 9:00.")
	e.clock.Advance(time.Minute)
	srv := e.server()

	// Staff declare the incident from the dashboard.
	logIn(t, ctx, srv.URL, "sam", "/")
	follow(t, ctx, srv.URL+"/incidents/new", chromedp.Click(link("Declare an incident")))
	browse(t, ctx,
		chromedp.SendKeys(chromedp.ID("title"), "Outgoing mail failing"),
		chromedp.SetValue(chromedp.ID("impact"), "major"),
		chromedp.SetValue(chromedp.ID(fmt.Sprintf("service-%d", mail.ID)), "major_outage"),
		chromedp.SendKeys(chromedp.ID("body"), "We are **investigating** failed sending."),
	)
	follow(t, ctx, srv.URL+"/incidents/1", chromedp.Click(button("Declare incident")))
	if got := textOf(t, ctx, chromedp.CSS(".flash")); got != "The incident is declared." {
		t.Errorf("after declaring the flash says %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS("#timeline .timeline li:first-child .official-label")); !strings.EqualFold(got, "Investigating") {
		t.Errorf("the first update is labelled %q", got)
	}

	// The incident promises the next update by default (the cadence).
	if got := textOf(t, ctx, chromedp.CSS(".incident-header .promise")); !strings.HasPrefix(got, "Next update by") {
		t.Errorf("the declared incident's promise reads %q", got)
	}

	// Then post an update, choosing the 1 h preset for the next one: the
	// form previews when it falls due, in UTC and in the reader's own zone
	// (Paris, an hour ahead in winter), and the message before it goes out.
	browse(t, ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"})
		return err
	}))
	open(t, ctx, srv.URL+"/incidents/1")
	if !fetch(t, ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=next_in][value="30"]').checked`)) {
		t.Error("the update form does not default to the 30 min cadence")
	}
	browse(t, ctx,
		chromedp.SetValue(chromedp.ID("update-status"), "identified"),
		chromedp.SendKeys(chromedp.ID("update-body"), "An expired certificate on the relays."),
		chromedp.Click(chromedp.CSS(`input[name=next_in][value="60"]`)),
	)
	preview := textOf(t, ctx, chromedp.CSS(".promise-preview"))
	if m := regexp.MustCompile(`^Next update in 1 h, (\d\d):(\d\d) UTC, (\d\d?):(\d\d)( [AP]M)? your time\.$`).FindStringSubmatch(preview); m == nil {
		t.Errorf("the promise preview reads %q", preview)
	} else {
		utcHour, _ := strconv.Atoi(m[1])
		localHour, _ := strconv.Atoi(m[3]) // 24 h, or 12 h with AM/PM
		switch {
		case m[5] == " PM" && localHour < 12:
			localHour += 12
		case m[5] == " AM" && localHour == 12:
			localHour = 0
		}
		if m[4] != m[2] || localHour != (utcHour+1)%24 {
			t.Errorf("the promise preview reads %q: not an hour ahead in Paris", preview)
		}
	}
	if now := textOf(t, ctx, chromedp.CSS("[data-utc-now]")); !strings.HasSuffix(now, "your time (Europe/Paris)") {
		t.Errorf("the current time reads %q", now)
	}
	follow(t, ctx, srv.URL+"/incidents/1/updates", chromedp.Click(button("Preview")))
	if got := textOf(t, ctx, chromedp.CSS(".staff-tools .preview .post-body")); got != "An expired certificate on the relays." {
		t.Errorf("the preview reads %q", got)
	}
	if !fetch(t, ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=next_in][value="60"]').checked`)) {
		t.Error("the preview lost the chosen promise")
	}
	posted := e.clock.Now()
	follow(t, ctx, srv.URL+"/incidents/1", chromedp.Click(button("Post official update")))
	if got := textOf(t, ctx, chromedp.CSS("#timeline .timeline li:first-child .post-body")); got != "An expired certificate on the relays." {
		t.Errorf("the newest update reads %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(".incident-header .promise")); !strings.HasPrefix(got, "Next update by") {
		t.Errorf("the promise reads %q", got)
	}
	if inc, err := e.store.IncidentByID(bg, 1); err != nil || inc.NextUpdateAt == nil || !inc.NextUpdateAt.Equal(posted.Add(time.Hour)) {
		t.Errorf("promised %v, want %v (%v)", inc.NextUpdateAt, posted.Add(time.Hour), err)
	}
	if got := textOf(t, ctx, chromedp.ID("reply-not-official")); !strings.Contains(got, "not an official update") {
		t.Errorf("staff's reply box says %q", got)
	}
	logOut(t, ctx, srv.URL)

	// The customer sees it on the dashboard, opens it, replies, is affected.
	logIn(t, ctx, srv.URL, "casey", "/")
	if got := textOf(t, ctx, chromedp.CSS(".overall h1")); got != "Major System Outage" {
		t.Errorf("the dashboard says %q", got)
	}
	if got := textOf(t, ctx, chromedp.CSS(".incident-card .latest .post-body")); got != "An expired certificate on the relays." {
		t.Errorf("the dashboard's latest update reads %q", got)
	}
	img := screenshot(t, ctx, "dashboard")
	if n := colours(img); n < 8 {
		t.Errorf("dashboard screenshot has %d colours", n)
	}
	// "Report a problem" offers the incident while the customer types.
	follow(t, ctx, srv.URL+"/report", chromedp.Click(link("Report a problem")))
	browse(t, ctx, chromedp.SendKeys(chromedp.ID("report-title"), "cannot send mail"))
	if got := textOf(t, ctx, chromedp.CSS(".suggestions h3")); got != "Outgoing mail failing" {
		t.Errorf("while typing, the report form suggests %q", got)
	}
	// So does the new-thread form.
	open(t, ctx, srv.URL+"/threads/new")
	browse(t, ctx, chromedp.SendKeys(chromedp.ID("title"), "outgoing mail broken"))
	if got := textOf(t, ctx, chromedp.CSS("#thread-suggestions .suggestions h3")); got != "Outgoing mail failing" {
		t.Errorf("while typing, the new-thread form suggests %q", got)
	}
	open(t, ctx, srv.URL+"/")
	follow(t, ctx, srv.URL+"/incidents/1", chromedp.Click(link("Outgoing mail failing")))
	inc, err := e.store.IncidentByID(bg, 1)
	if err != nil {
		t.Fatal(err)
	}
	incThread := srv.URL + threadURL(inc.ThreadID)
	e.clock.Advance(time.Minute)
	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(".reply #body"), "Same here, three offices."))
	follow(t, ctx, incThread, chromedp.Click(button("Post reply")))
	if got := textOf(t, ctx, chromedp.CSS("#post-4 .post-body")); got != "Same here, three offices." {
		t.Errorf("the reply reads %q", got)
	}
	follow(t, ctx, incThread, chromedp.Click(button("I'm affected too")))
	if got := textOf(t, ctx, chromedp.CSS("#affected .affected-count")); got != "1" {
		t.Errorf("affected count %q after marking", got)
	}
	logOut(t, ctx, srv.URL)

	// Staff link the customer's thread; the banner shows the incident.
	complaintPath := threadURL(complaint.ID)
	logIn(t, ctx, srv.URL, "sam", complaintPath)
	browse(t, ctx, chromedp.SetValue(chromedp.ID("incident_id"), "1"))
	follow(t, ctx, srv.URL+complaintPath, chromedp.Click(button("Link")))
	logOut(t, ctx, srv.URL)
	logIn(t, ctx, srv.URL, "casey", complaintPath)
	banner := textOf(t, ctx, chromedp.CSS(".banner-tracked"))
	for _, want := range []string{"Tracked in incident 1: Outgoing mail failing", "Identified", "An expired certificate on the relays."} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner %q lacks %q", banner, want)
		}
	}
	screenshot(t, ctx, "linked-thread")
	logOut(t, ctx, srv.URL)

	// Staff take it off again: the banner goes, the picker comes back.
	logIn(t, ctx, srv.URL, "sam", complaintPath)
	follow(t, ctx, srv.URL+complaintPath, chromedp.Click(button("Unlink from incident 1")))
	banners := fetch(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".banner-tracked").length`))
	chosen := fetch(t, ctx, chromedp.Evaluate[string](`document.getElementById("incident_id").selectedOptions[0].textContent`))
	if banners != 0 || chosen != "Choose an incident…" {
		t.Errorf("after unlinking: %d banners, the picker on %q", banners, chosen)
	}
}
