package web

// Browser tests: real headless Chromium, driven from Go with chromedp, against
// the real router on a test server. They check what a person sees and clicks.
//
// Environment:
//
//	SITREP_CHROMIUM      the browser to run (default /usr/bin/chromium, Debian's package)
//	SITREP_SKIP_BROWSER  "1" skips the browser tests; without it a missing browser fails them
//	SITREP_SCREENSHOTS   a directory that also receives the screenshots (relative paths
//	                     start in server/, where go test runs)

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sitrep/models"
)

const (
	// browserTimeout bounds one browser's whole life: start-up, every page
	// and shutdown. A hung page fails the test instead of hanging CI.
	browserTimeout = 90 * time.Second

	// The viewport, in CSS pixels: a laptop screen.
	browserWidth, browserHeight = 1280, 800
)

// chromiumPath is the browser to run: SITREP_CHROMIUM, else Debian's package.
func chromiumPath() string {
	if p := os.Getenv("SITREP_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// newBrowser starts a headless Chromium for t and returns the context of one
// tab in it; run actions with chromedp.Do and chromedp.Run on it. Everything
// ends by browserTimeout, and t.Cleanup closes the browser. A second person
// with their own cookies is chromedp.NewContext(ctx, chromedp.WithNewBrowserContext()).
//
// A missing browser fails the test (CI must never skip it silently) unless
// SITREP_SKIP_BROWSER=1.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("SITREP_SKIP_BROWSER") == "1" {
		t.Skip("SITREP_SKIP_BROWSER=1: browser tests skipped")
	}
	path := chromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no browser at %s (%v). Install Chromium (Debian: apt-get install chromium), "+
			"set SITREP_CHROMIUM to a Chromium binary, or set SITREP_SKIP_BROWSER=1 to skip browser tests", path, err)
	}

	// Exactly these flags, rather than chromedp.DefaultExecAllocatorOptions:
	// as little network traffic as the flags allow (no component updates,
	// sync, QUIC or background requests), no sandbox (CI runs as root, in
	// containers), and shared memory in /tmp because /dev/shm is small in
	// containers. Chromium 156 still tries a few Google hosts at start-up
	// (sign-in, network time, update checks), so every name but the test
	// server's resolves to nothing. The
	// flags are spelled out instead of chromedp.Headless and
	// chromedp.DisableGPU, which add flags of their own. Without a
	// user-data-dir flag, chromedp gives every browser a fresh profile in a
	// temporary directory and removes it, with any leftover Chromium
	// processes, when the browser stops.
	var output lockedBuffer
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Screenshots keep the window's width whatever the page's height.
		chromedp.Flag("hide-scrollbars", true),
		// Resolve no host but the test server's: nothing leaves the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.CombinedOutput(&output),
	}

	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		// Close the browser gracefully and wait until its processes exit,
		// then release the contexts (cancelAlloc waits for the process too).
		if err := chromedp.Cancel(tabCtx); err != nil && ctx.Err() == nil {
			t.Logf("closing the browser: %v", err)
		}
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		if t.Failed() && output.Len() > 0 {
			t.Logf("browser output:\n%s", output.Tail(4000))
		}
	})

	// Start the browser now, so that a browser that cannot start fails here
	// with its own message rather than in the first step of a journey.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(browserWidth, browserHeight)); err != nil {
		t.Fatalf("starting %s: %v\n%s", path, err, output.Tail(4000))
	}
	return tabCtx
}

// lockedBuffer keeps the browser's output, written from chromedp's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Tail is the last n bytes of the output.
func (b *lockedBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// browse runs steps in the tab, in order, and fails the test at the first error.
func browse(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// follow runs a step that loads a page (a click on a link or a submit button),
// waits until the page has loaded, and checks that it answered 200 at want.
func follow(t *testing.T, ctx context.Context, want string, step chromedp.Action[chromedp.Void]) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, step)
	landed(t, resp, err, want)
}

// open loads url in the tab and checks that it answered 200 there.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	landed(t, resp, err, url)
}

func landed(t *testing.T, resp *network.Response, err error, want string) {
	t.Helper()
	switch {
	case err != nil:
		t.Fatalf("browser: %v", err)
	case resp == nil:
		t.Fatalf("no page loaded, want %s", want)
	case resp.Status != 200 || resp.URL != want:
		t.Fatalf("landed on %s (%d), want %s (200)", resp.URL, resp.Status, want)
	}
}

// textOf is the text a person sees in the first element that sel matches,
// waiting until it is visible.
func textOf[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	browse(t, ctx, chromedp.WaitVisible(sel))
	text, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("browser: reading %v: %v", sel, err)
	}
	return strings.TrimSpace(text)
}

// fetch runs one action that reads something from the tab and returns it,
// failing the test on an error.
func fetch[T any](t *testing.T, ctx context.Context, read chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, read)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// button and link select a button or link by the label a person reads.
func button(label string) chromedp.Search {
	return chromedp.Search(`//button[normalize-space()="` + label + `"]`)
}

func link(label string) chromedp.Search {
	return chromedp.Search(`//a[normalize-space()="` + label + `"]`)
}

// logIn signs name in through the log-in form and lands on next.
func logIn(t *testing.T, ctx context.Context, base, name, next string) {
	t.Helper()
	open(t, ctx, base+"/login?next="+next)
	browse(t, ctx,
		chromedp.SendKeys(chromedp.ID("login"), name),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	follow(t, ctx, base+next, chromedp.Click(button("Log in")))
}

// logOut presses Log out and lands on the start page.
func logOut(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	follow(t, ctx, base+"/", chromedp.Click(button("Log out")))
}

// screenshot takes a full-page PNG of the tab, writes it to the test's
// temporary directory and to SITREP_SCREENSHOTS when set, and decodes it.
func screenshot(t *testing.T, ctx context.Context, name string) image.Image {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	file := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-" + name + ".png"
	dirs := []string{t.TempDir()}
	if d := os.Getenv("SITREP_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, file), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", file, err)
	}
	return img
}

// colours counts the distinct colours on a coarse grid of img: a blank or
// unstyled page has very few.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// TestBrowserAccountJourney: a visitor looks at the start page, signs up,
// logs out, logs in again and opens their account page.
func TestBrowserAccountJourney(t *testing.T) {
	ctx := newBrowser(t)
	e := newTestEnv(t)
	for i, name := range []string{"Mail", "Calendar", "File storage"} {
		e.service(models.NewService{Name: name, Description: name + " for every team.", Group: "Workplace", Position: i})
	}
	srv := e.server()
	home := srv.URL + "/"

	// The start page, as a visitor sees it.
	open(t, ctx, home)
	services := textOf(t, ctx, chromedp.CSS("ul.services"))
	for _, name := range []string{"Mail", "Calendar", "File storage"} {
		if !strings.Contains(services, name) {
			t.Errorf("the services list does not show %q: %q", name, services)
		}
	}
	img := screenshot(t, ctx, "start")
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != browserWidth || h < 300 || h > 20000 {
		t.Errorf("start page screenshot is %dx%d, want %d wide and 300 to 20000 high", w, h, browserWidth)
	}
	if n := colours(img); n < 8 {
		t.Errorf("start page screenshot has %d colours: blank or unstyled?", n)
	}

	// Sign up through the form.
	const name = "ada_lovelace"
	follow(t, ctx, srv.URL+"/signup", chromedp.Click(link("Sign up")))
	browse(t, ctx,
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.SendKeys(chromedp.ID("password_confirm"), testPassword),
	)
	follow(t, ctx, home, chromedp.Click(button("Sign up")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "Welcome to Sitrep, "+name+"."; got != want {
		t.Errorf("after signing up the flash says %q, want %q", got, want)
	}
	if got := textOf(t, ctx, chromedp.CSS(`.nav a[href="/account"]`)); got != name {
		t.Errorf("after signing up the nav shows %q, want the user name %q", got, name)
	}

	// Log out.
	follow(t, ctx, home, chromedp.Click(button("Log out")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "You are logged out."; got != want {
		t.Errorf("after logging out the flash says %q, want %q", got, want)
	}
	if got := textOf(t, ctx, chromedp.CSS(`.nav a[href="/login"]`)); got != "Log in" {
		t.Errorf("after logging out the nav's log-in link says %q", got)
	}
	browse(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(`.nav a[href="/account"]`)))

	// Log in through the form, by name.
	follow(t, ctx, srv.URL+"/login", chromedp.Click(link("Log in")))
	browse(t, ctx,
		chromedp.SendKeys(chromedp.ID("login"), name),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	follow(t, ctx, home, chromedp.Click(button("Log in")))
	if got, want := textOf(t, ctx, chromedp.CSS(".flash")), "You are logged in as "+name+"."; got != want {
		t.Errorf("after logging in the flash says %q, want %q", got, want)
	}
	if got := textOf(t, ctx, chromedp.CSS(`.nav a[href="/account"]`)); got != name {
		t.Errorf("after logging in the nav shows %q, want %q", got, name)
	}

	// The account page.
	open(t, ctx, srv.URL+"/account")
	if got := textOf(t, ctx, chromedp.CSS("main h1")); got != "Your account" {
		t.Errorf("account page heading is %q", got)
	}
	if got := textOf(t, ctx, chromedp.Search(`//dt[normalize-space()="User name"]/following-sibling::dd[1]`)); got != name {
		t.Errorf("account page shows the user name %q, want %q", got, name)
	}
}
