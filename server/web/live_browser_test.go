package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserLiveUpdates: a customer keeps an incident page open while
// staff, in another browser, post an official update: it appears in the
// timeline without a reload. A staff reply waits behind a "new post" bar
// until the customer shows it. When staff answer in the customer's own
// thread, the customer's notification count rises, live.
func TestBrowserLiveUpdates(t *testing.T) {
	cust, staff := newBrowser(t), newBrowser(t)
	e := newTestEnv(t)
	e.startBackground()
	mail := e.service(models.NewService{Name: "Mail", Position: 1})
	sam := e.user("sam", models.RoleStaff)
	casey := e.user("casey", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	complaint := e.thread(casey, "My mail does not leave the outbox", "Since 9:00.")
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Outgoing mail failing", Impact: "major",
		Status: models.StatusInvestigating, Body: "We are investigating.", Services: []models.ServiceChange{{ServiceID: mail.ID, Status: models.MajorOutage}}})
	srv := e.server()
	incidentAt := fmt.Sprintf("%s/incidents/%d", srv.URL, inc.ID)

	logIn(t, cust, srv.URL, "casey", fmt.Sprintf("/incidents/%d", inc.ID))
	// A mark that a reload would wipe out.
	fetch(t, cust, chromedp.Evaluate[bool](`window.stayed = true`))
	if got := textOf(t, cust, chromedp.CSS("#unread-count")); got != "" {
		t.Fatalf("the bell counts %q before anything happened", got)
	}

	logIn(t, staff, srv.URL, "sam", fmt.Sprintf("/incidents/%d", inc.ID))
	browse(t, staff,
		chromedp.SetValue(chromedp.ID("update-status"), "identified"),
		chromedp.SendKeys(chromedp.ID("update-body"), "An expired certificate on the relays."),
	)
	follow(t, staff, incidentAt, chromedp.Click(button("Post official update")))

	// The customer's page shows it, the page never reloaded.
	browse(t, cust, chromedp.WaitVisible(`//ol[contains(@class,"timeline")]/li[1]//div[contains(@class,"post-body")][contains(., "expired certificate")]`))
	if got := textOf(t, cust, chromedp.CSS("#incident-header .official-label")); !strings.EqualFold(got, "Identified") {
		t.Errorf("the header says %q after the update", got)
	}
	if !fetch(t, cust, chromedp.Evaluate[bool](`window.stayed === true`)) {
		t.Error("the customer's page reloaded to show the update")
	}

	// A reply waits behind the bar; pressing it shows the reply in place.
	e.reply(sam, inc.ThreadID, "We are rolling out a new certificate now.")
	if got := textOf(t, cust, chromedp.CSS("#new-posts button")); !strings.HasPrefix(got, "1 new post") && !strings.HasPrefix(got, "2 new posts") {
		t.Errorf("the new-posts bar says %q", got)
	}
	browse(t, cust, chromedp.Click(chromedp.CSS("#new-posts button")))
	browse(t, cust, chromedp.WaitVisible(`//ol[contains(@class,"posts")]/li//div[contains(@class,"post-body")][contains(., "rolling out a new certificate")]`))
	if !fetch(t, cust, chromedp.Evaluate[bool](`window.stayed === true`)) {
		t.Error("showing the new posts reloaded the page")
	}

	// Staff answer in the customer's own thread: her bell counts it.
	e.reply(sam, complaint.ID, "Thanks, this is the certificate problem; follow the incident for updates.")
	browse(t, cust, chromedp.WaitVisible(`//span[@id="unread-count"][starts-with(normalize-space(.), "1")]`))
	open(t, cust, srv.URL+"/notifications")
	if got := textOf(t, cust, chromedp.CSS(".notification.unread a")); got != "sam replied in “My mail does not leave the outbox”" {
		t.Errorf("the notification reads %q", got)
	}
}
