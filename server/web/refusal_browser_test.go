package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sitrep/models"
)

// TestBrowserTooSoonBesideTheForm: a customer replies twice in a row at the
// bottom of a long thread. The second reply is refused, and the page lands
// on the reply form: the reason is on screen, right above the kept text,
// and the send button comes back when the wait is over.
func TestBrowserTooSoonBesideTheForm(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	staff := e.user("sam", models.RoleStaff)
	e.user("carol", models.RoleCustomer)
	e.clock.Advance(48 * time.Hour)
	th := e.thread(staff, "Mail delivery delayed", "We are looking into it.")
	for i := range 30 {
		e.reply(staff, th.ID, fmt.Sprintf("Update %d: still looking.\n\nMore news soon.", i))
	}
	srv := e.server()
	threadPath := fmt.Sprintf("/threads/%d", th.ID)
	logIn(t, ctx, srv.URL, "carol", threadPath)

	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(".reply #body"), "Same here."))
	follow(t, ctx, srv.URL+threadPath, chromedp.Click(button("Post reply")))
	// The second reply comes 8 of the 10 seconds the pace asks for later.
	e.clock.Advance(models.PostInterval - 2*time.Second)
	browse(t, ctx, chromedp.SendKeys(chromedp.CSS(".reply #body"), "Still nothing here."))
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(button("Post reply")))
	if err != nil || resp == nil || resp.Status != 429 {
		t.Fatalf("the second reply: %+v %v, want 429", resp, err)
	}
	type place struct {
		Hash      string  `json:"hash"`
		ScrollY   float64 `json:"scrollY"`
		Viewport  float64 `json:"viewport"`
		MsgTop    float64 `json:"msgTop"`
		MsgBottom float64 `json:"msgBottom"`
		BoxTop    float64 `json:"boxTop"`
	}
	at := fetch(t, ctx, chromedp.Evaluate[place](`(() => {
		const m = document.getElementById("form-message").getBoundingClientRect();
		const box = document.querySelector(".reply textarea").getBoundingClientRect();
		return {hash: location.hash, scrollY: scrollY, viewport: innerHeight, msgTop: m.top, msgBottom: m.bottom, boxTop: box.top};
	})()`))
	if at.Hash != "#reply" || at.ScrollY < 1000 {
		t.Errorf("the refused reply did not land on the form: hash %q, scrolled %.0f px", at.Hash, at.ScrollY)
	}
	if at.MsgTop < 0 || at.MsgBottom > at.Viewport {
		t.Errorf("the message is outside the window: %.0f to %.0f px, the window is %.0f px high", at.MsgTop, at.MsgBottom, at.Viewport)
	}
	if gap := at.BoxTop - at.MsgBottom; gap < 0 || gap > 200 {
		t.Errorf("the message is %.0f px above the text it refused, want it beside the form", gap)
	}
	if got := textOf(t, ctx, chromedp.ID("form-message")); got != "You are posting too fast. Your text is kept below." {
		t.Errorf("the message says %q", got)
	}
	if draft := fetch(t, ctx, chromedp.Value(chromedp.CSS(".reply #body"))); draft != "Still nothing here." {
		t.Errorf("the form holds %q, want the refused text", draft)
	}
	// The countdown and the button agree whenever they are read; the
	// button comes back at zero.
	type state struct {
		Timer    string `json:"timer"`
		Disabled bool   `json:"disabled"`
	}
	st := fetch(t, ctx, chromedp.Evaluate[state](`({timer: document.querySelector("[data-countdown]").textContent,
		disabled: document.querySelector("#reply button:not([name=preview])").disabled})`))
	if counting := st.Timer != "You can send it now."; counting != st.Disabled {
		t.Errorf("the countdown says %q while the button is disabled: %v", st.Timer, st.Disabled)
	}
	browse(t, ctx, chromedp.WaitEnabled(chromedp.CSS("#reply button:not([name=preview])")))
	if got := textOf(t, ctx, chromedp.CSS("[data-countdown]")); got != "You can send it now." {
		t.Errorf("at zero the countdown says %q", got)
	}
	e.clock.Advance(2 * time.Second)
	follow(t, ctx, srv.URL+threadPath, chromedp.Click(button("Post reply")))
	if posts := e.posts(th.ID); posts[len(posts)-1].Source != "Still nothing here." {
		t.Errorf("after the wait the reply is not posted: %q", posts[len(posts)-1].Source)
	}
}
