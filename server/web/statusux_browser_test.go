package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tap touches the middle of the element the JavaScript expression el
// evaluates to, as a finger does (a touch gesture, not a mouse click),
// after scrolling it into view.
func tap(t *testing.T, ctx context.Context, el string) {
	t.Helper()
	xy := fetch(t, ctx, chromedp.Evaluate[[]float64](`(() => { const el = `+el+`; el.scrollIntoView({block: "center"});
		const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`))
	browse(t, ctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		if _, err := cdp.Call(ctx, target, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: xy[0], Y: xy[1]}}}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, target, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	}))
}

// TestBrowserPhoneBars: on a phone (390 px) the dashboard shows each
// service's last 30 days; a tap on a day opens its popover, which names
// the day's incident and fits on the screen; another tap moves it, Escape
// closes it, and the keyboard opens it too. On a laptop all 90 days show.
func TestBrowserPhoneBars(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	h := newUptimeHistory(e)
	srv := e.server()
	const phone = 390
	browse(t, ctx, chromedp.EmulateViewport(phone, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	open(t, ctx, srv.URL+"/")

	// Mail's row: 90 days in the page, the last 30 drawn.
	days := `document.querySelectorAll("li.service")[0].querySelectorAll("details.day")`
	counts := fetch(t, ctx, chromedp.Evaluate[[]int](`(() => { const all = [...`+days+`];
		const shown = all.filter(d => d.getBoundingClientRect().width > 0);
		return [all.length, shown.length, all.indexOf(shown[0]), Math.floor(Math.min(...shown.map(d => d.getBoundingClientRect().width)))]; })()`))
	if counts[0] != 90 || counts[1] != 30 || counts[2] != 60 || counts[3] < 6 {
		t.Fatalf("Mail's days: %d in the page, %d drawn from day %d, the narrowest %d px; want 90, the last 30, at least 6 px wide", counts[0], counts[1], counts[2], counts[3])
	}
	if got := textOf(t, ctx, chromedp.CSS(`li.service .bars-scale`)); !strings.HasPrefix(got, "30 days ago") {
		t.Errorf("the scale under the bars says %q", got)
	}

	// A tap on 1 March opens its popover, naming the incident.
	slowDay := int(h.slow.StartedAt.Sub(h.start).Hours() / 24)
	day := func(i int) string { return fmt.Sprintf(`%s[%d]`, days, i) }
	// popover waits until day i is open and returns what its popover says.
	popover := func(i int) string {
		t.Helper()
		return fetch(t, ctx, chromedp.Poll[string](`(() => { const d = `+day(i)+`; return d.open && d.querySelector(".pop").innerText; })()`,
			chromedp.WithPollingTimeout(5*time.Second)))
	}
	// openDays waits until the open days are n in number and returns them.
	openDays := func(n int) []int {
		t.Helper()
		return fetch(t, ctx, chromedp.Poll[[]int](`(() => { const open = [...document.querySelectorAll("details.day")].map((d, i) => d.open ? i : -1).filter(i => i >= 0);
			return open.length === `+fmt.Sprint(n)+` && open; })()`, chromedp.WithPollingTimeout(5*time.Second)))
	}
	tap(t, ctx, day(slowDay)+`.querySelector("summary")`)
	if got := popover(slowDay); !strings.Contains(got, "Sun 1 Mar 2026") || !strings.Contains(got, "Partial outage") || !strings.Contains(got, "Mail is slow") {
		t.Errorf("the day's popover says %q", got)
	}
	box := fetch(t, ctx, chromedp.Evaluate[[]float64](`(() => { const r = `+day(slowDay)+`.querySelector(".pop").getBoundingClientRect(); return [r.left, r.right, r.width]; })()`))
	if box[0] < 0 || box[1] > phone || box[2] < 200 {
		t.Errorf("the popover spans %v px on a %d px screen", box, phone)
	}
	screenshot(t, ctx, "phone-day")
	// Another day: one popover at a time.
	tap(t, ctx, day(89)+`.querySelector("summary")`)
	if got := popover(89); !strings.Contains(got, "No incidents.") {
		t.Errorf("today's popover says %q", got)
	}
	if got := openDays(1); got[0] != 89 {
		t.Errorf("open days after a second tap: %v, want today's alone", got)
	}
	// Escape closes it; the keyboard opens a day as well.
	browse(t, ctx, chromedp.KeyEvent(kb.Escape))
	openDays(0)
	browse(t, ctx, chromedp.Focus(chromedp.CSS(fmt.Sprintf(`li.service details.day:nth-child(%d) > summary`, slowDay+1))), chromedp.KeyEvent(kb.Enter))
	if got := popover(slowDay); !strings.Contains(got, "Mail is slow") {
		t.Errorf("opened with Enter, the popover says %q", got)
	}

	// A laptop shows all 90.
	browse(t, ctx, chromedp.EmulateViewport(browserWidth, browserHeight))
	if n := fetch(t, ctx, chromedp.Evaluate[int](`[...`+days+`].filter(d => d.getBoundingClientRect().width > 0).length`)); n != 90 {
		t.Errorf("%d days drawn at %d px, want 90", n, browserWidth)
	}
}
