package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"sitrep/models"
)

func init() { gin.SetMode(gin.TestMode) }

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// testEnv is one app on its own migrated SQLite file.
type testEnv struct {
	t       *testing.T
	app     *App
	store   *models.Store
	handler http.Handler
	clock   *testClock
}

// testClock is an injectable clock for the app and the store.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time          { return c.now }
func (c *testClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, func(*Config) {})
}

func newTestEnvConfig(t *testing.T, adjust func(*Config)) *testEnv {
	t.Helper()
	store, err := models.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)}
	store.Now = clock.Now
	store.PasswordCost = bcrypt.MinCost
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{MaxBodyBytes: 1 << 20}
	adjust(&cfg)
	a, err := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.now = clock.Now
	h, err := a.router()
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, app: a, store: store, handler: h, clock: clock}
}

// user creates an account with testPassword.
func (e *testEnv) user(name string, role models.Role) *models.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), models.NewUser{
		Name: name, Email: name + "@example.com", Password: testPassword, Role: role, AllowReserved: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// session logs u in on the server side and returns the cookie to send.
func (e *testEnv) session(u *models.User) *http.Cookie {
	e.t.Helper()
	secret, err := e.store.CreateSession(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: e.app.sessionCookieName(), Value: secret}
}

// token makes an API token for u.
func (e *testEnv) token(u *models.User) string {
	e.t.Helper()
	_, secret, err := e.store.CreateToken(context.Background(), u.ID, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// req describes one request through the real router.
type req struct {
	method, path string
	form         url.Values // sent as application/x-www-form-urlencoded
	json         string     // sent as application/json
	cookie       *http.Cookie
	bearer       string
	header       map[string]string
}

func (e *testEnv) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.json != "":
		body = strings.NewReader(r.json)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	switch {
	case r.form != nil:
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.json != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.method != http.MethodGet {
		// What a browser sends for a same-origin form post.
		hr.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, hr)
	return w
}

// server starts a real HTTP server for multi-step flows and browsers.
func (e *testEnv) server() *httptest.Server {
	e.t.Helper()
	srv := httptest.NewServer(e.handler)
	e.t.Cleanup(srv.Close)
	return srv
}

// client is a cookie-keeping HTTP client that does not follow redirects.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d; body: %.400s", w.Code, want, w.Body.String())
	}
}
