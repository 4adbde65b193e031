package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

func TestSignUpCreatesCustomerAndLogsIn(t *testing.T) {
	e := newTestEnv(t)
	w := e.do(req{method: http.MethodPost, path: "/signup", form: url.Values{
		"name": {"newbie"}, "email": {"newbie@example.com"}, "password": {testPassword}, "password_confirm": {testPassword},
		"role": {"admin"}, "Role": {"admin"}, "next": {"/account"},
	}})
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != "/account" {
		t.Errorf("redirect to %q, want /account", loc)
	}
	u, err := e.store.UserByName(context.Background(), "newbie")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleCustomer {
		t.Fatalf("sign-up with role=admin gave role %s", u.Role)
	}
	if findCookie(w, e.app.sessionCookieName()) == nil {
		t.Fatal("no session cookie after sign-up")
	}
}

func TestSignUpValidationKeepsInput(t *testing.T) {
	e := newTestEnv(t)
	e.user("taken", models.RoleCustomer)
	cases := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"bad email", url.Values{"name": {"fresh"}, "email": {"nope"}, "password": {testPassword}, "password_confirm": {testPassword}}, "Enter an email address such as"},
		{"taken name", url.Values{"name": {"Taken"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}, "This name is taken."},
		{"staff look-alike", url.Values{"name": {"Supp0rt"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}, "could be mistaken for the site or its staff"},
		{"short password", url.Values{"name": {"fresh"}, "email": {"x@example.com"}, "password": {"short"}, "password_confirm": {"short"}}, "at least 10 characters"},
		{"mismatch", url.Values{"name": {"fresh"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {"something else"}}, "The two passwords differ."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.do(req{method: http.MethodPost, path: "/signup", form: c.form})
			wantStatus(t, w, http.StatusUnprocessableEntity)
			body := w.Body.String()
			if !strings.Contains(body, c.field) {
				t.Errorf("message %q missing", c.field)
			}
			if !strings.Contains(body, `value="`+c.form.Get("email")+`"`) {
				t.Errorf("email input not kept")
			}
			if strings.Contains(body, testPassword) {
				t.Errorf("password echoed back into the page")
			}
		})
	}
}

func TestLogInRenewsSessionAndSetsCookieFlags(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newTestEnvConfig(t, func(c *Config) {
			if secure {
				c.BaseURL = "https://status.example.com"
			}
		})
		u := e.user("alice", models.RoleCustomer)
		planted := e.session(u) // a session id the browser already had
		w := e.do(req{method: http.MethodPost, path: "/login", cookie: planted,
			form: url.Values{"login": {"alice"}, "password": {testPassword}, "next": {"/account"}}})
		wantStatus(t, w, http.StatusSeeOther)
		c := findCookie(w, e.app.sessionCookieName())
		if c == nil {
			t.Fatal("no session cookie")
		}
		if c.Value == planted.Value {
			t.Fatal("session id was not renewed at log-in")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
			t.Errorf("cookie flags: %+v (secure site: %v)", c, secure)
		}
		if secure && !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("cookie %s lacks the __Host- prefix on https", c.Name)
		}
		if _, err := e.store.UserBySession(context.Background(), planted.Value); err == nil {
			t.Error("the old session still works after log-in")
		}
	}
}

func TestLogOutEndsServerSession(t *testing.T) {
	e := newTestEnv(t)
	cookie := e.session(e.user("alice", models.RoleCustomer))
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/account", cookie: cookie}), http.StatusOK)
	w := e.do(req{method: http.MethodPost, path: "/logout", cookie: cookie})
	wantStatus(t, w, http.StatusSeeOther)
	if c := findCookie(w, e.app.sessionCookieName()); c == nil || c.MaxAge >= 0 {
		t.Errorf("log-out did not clear the cookie: %+v", c)
	}
	// The browser's copy of the cookie is now worthless.
	w = e.do(req{method: http.MethodGet, path: "/account", cookie: cookie})
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("redirected to %q", loc)
	}
}

func TestLogInSameAnswerForUnknownAndWrong(t *testing.T) {
	e := newTestEnv(t)
	e.user("alice", models.RoleCustomer)
	var bodies []string
	for _, login := range []string{"alice", "nobody"} {
		w := e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {login}, "password": {"wrong password!"}}})
		wantStatus(t, w, http.StatusUnauthorized)
		bodies = append(bodies, strings.Replace(w.Body.String(), login, "X", -1))
	}
	if bodies[0] != bodies[1] {
		t.Error("unknown user and wrong password give different pages")
	}
}

// TestLogInThrottle: the sixth failure for one account is refused with 429
// even with the right password, and a spoofed X-Forwarded-For does not reset
// the per-IP limit.
func TestLogInThrottle(t *testing.T) {
	e := newTestEnv(t)
	e.user("alice", models.RoleCustomer)
	for i := 0; i < 5; i++ {
		w := e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"alice"}, "password": {"wrong password!"}},
			header: map[string]string{"X-Forwarded-For": "203.0.113." + string(rune('1'+i))}})
		wantStatus(t, w, http.StatusUnauthorized)
	}
	w := e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"ALICE"}, "password": {testPassword}},
		header: map[string]string{"X-Forwarded-For": "198.51.100.7"}})
	wantStatus(t, w, http.StatusTooManyRequests)
	if w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `value="ALICE"`) {
		t.Error("429 lacks Retry-After or lost the log-in name")
	}
	// After the window, the right password works again.
	e.clock.Advance(16 * time.Minute)
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"alice"}, "password": {testPassword}}}), http.StatusSeeOther)

	// Per IP: failures spread over many accounts, each with a new spoofed
	// X-Forwarded-For, still hit the limit of the one real client address.
	e2 := newTestEnv(t)
	for i := 0; i < 30; i++ {
		w := e2.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"user" + string(rune('a'+i))}, "password": {"x"}},
			header: map[string]string{"X-Forwarded-For": "10.0.0." + string(rune('a'+i))}})
		wantStatus(t, w, http.StatusUnauthorized)
	}
	w = e2.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"someone"}, "password": {"x"}},
		header: map[string]string{"X-Forwarded-For": "192.0.2.99", "X-Real-IP": "192.0.2.98"}})
	wantStatus(t, w, http.StatusTooManyRequests)
}

// TestLogInThrottleConcurrent: wrong passwords sent all at once are counted
// before any is checked, so no more than the limit are ever tried; naming
// the account by its email instead of its name draws on the same budget.
func TestLogInThrottleConcurrent(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user("alice", models.RoleCustomer)
	logins := []string{"alice", alice.Email}
	count := concurrently(40, func(i int) int {
		return e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {logins[i%2]}, "password": {"wrong password!"}}}).Code
	})
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != 35 {
		t.Fatalf("40 concurrent wrong log-ins by name and email: %v, want 5 checked (401) and 35 refused (429)", count)
	}
	// Right passwords give their attempt back: they never use up the limit.
	e2 := newTestEnv(t)
	e2.user("bob", models.RoleCustomer)
	for range 10 {
		wantStatus(t, e2.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"bob"}, "password": {testPassword}}}), http.StatusSeeOther)
	}
	// A log-in name longer than any account's is refused without echoing it.
	w := e2.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {strings.Repeat("a", 100_000)}, "password": {"x"}}})
	wantStatus(t, w, http.StatusUnauthorized)
	if w.Body.Len() > 50_000 {
		t.Fatalf("an over-long log-in name was echoed back (%d bytes)", w.Body.Len())
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/account":             "/account",
		"/threads?page=2":      "/threads?page=2",
		"//evil.example":       "/",
		`/\evil.example`:       "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"account":              "/",
		"/ok\r\nSet-Cookie:x":  "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccountForms(t *testing.T) {
	e := newTestEnv(t)
	u := e.user("alice", models.RoleCustomer)
	cookie := e.session(u)

	// Email change ignores role and name fields (mass assignment).
	w := e.do(req{method: http.MethodPost, path: "/account/email", cookie: cookie,
		form: url.Values{"email": {"new@example.com"}, "role": {"admin"}, "name": {"root"}, "id": {"1"}}})
	wantStatus(t, w, http.StatusSeeOther)
	got, _ := e.store.UserByID(context.Background(), u.ID)
	if got.Email != "new@example.com" || got.Role != models.RoleCustomer || got.Name != "alice" {
		t.Fatalf("after email form: %+v", got)
	}
	// A bad email comes back with 422 and the input.
	w = e.do(req{method: http.MethodPost, path: "/account/email", cookie: cookie, form: url.Values{"email": {"broken@"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if !strings.Contains(w.Body.String(), `value="broken@"`) {
		t.Error("bad email not kept in the form")
	}

	// Tokens: shown once, listed by name, revocable.
	w = e.do(req{method: http.MethodPost, path: "/account/tokens", cookie: cookie, form: url.Values{"name": {"nightly <script>"}}})
	wantStatus(t, w, http.StatusCreated)
	body := w.Body.String()
	i := strings.Index(body, models.TokenPrefix)
	if i < 0 {
		t.Fatal("new token not shown")
	}
	secret := body[i : i+len(models.TokenPrefix)+43]
	if strings.Contains(body, "nightly <script>") || !strings.Contains(body, "nightly &lt;script&gt;") {
		t.Error("token name not escaped")
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: secret}), http.StatusOK)
	w = e.do(req{method: http.MethodGet, path: "/account", cookie: cookie})
	if strings.Contains(w.Body.String(), secret) {
		t.Fatal("the token is shown again")
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("account page may be cached")
	}
	tokens, _ := e.store.ListTokens(context.Background(), u.ID)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/account/tokens/%d/revoke", tokens[0].ID), cookie: cookie}), http.StatusSeeOther)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: secret}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/account/tokens", cookie: cookie, form: url.Values{"name": {""}}}), http.StatusUnprocessableEntity)

	// Password change: wrong current password is a 422; the right one ends
	// other sessions and gives this browser a new one.
	other := e.session(u)
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/account/password", cookie: cookie,
		form: url.Values{"current_password": {"wrong"}, "new_password": {"another long password"}}}), http.StatusUnprocessableEntity)
	w = e.do(req{method: http.MethodPost, path: "/account/password", cookie: cookie,
		form: url.Values{"current_password": {testPassword}, "new_password": {"another long password"}, "role": {"admin"}, "email": {"x@evil.example"}}})
	wantStatus(t, w, http.StatusSeeOther)
	fresh := findCookie(w, e.app.sessionCookieName())
	// The token and password forms carry role, user and email fields for
	// nothing (mass assignment).
	e.do(req{method: http.MethodPost, path: "/account/tokens", cookie: fresh, form: url.Values{"name": {"ci"}, "role": {"admin"}, "user_id": {"999"}}})
	if got, _ := e.store.UserByID(context.Background(), u.ID); got.Role != models.RoleCustomer || got.Email != "new@example.com" {
		t.Fatalf("after the password and token forms: %+v", got)
	}
	if list, _ := e.store.ListTokens(context.Background(), u.ID); len(list) != 1 || list[0].UserID != u.ID || list[0].Name != "ci" {
		t.Fatalf("token made for someone else: %+v", list)
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/account", cookie: other}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/account", cookie: fresh}), http.StatusOK)
}

func TestAPIMe(t *testing.T) {
	e := newTestEnv(t)
	u := e.user("alice", models.RoleStaff)
	tok := e.token(u)
	w := e.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: tok})
	wantStatus(t, w, http.StatusOK)
	if body := w.Body.String(); !strings.Contains(body, `"name":"alice"`) || !strings.Contains(body, `"role":"staff"`) || !strings.Contains(body, `"id":`) {
		t.Fatalf("me: %s", body)
	}
	for _, bad := range []req{
		{method: http.MethodGet, path: "/api/v1/me"},
		{method: http.MethodGet, path: "/api/v1/me", bearer: "sitrep_forged"},
		{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "Basic YWxpY2U6eA=="}},
	} {
		w := e.do(bad)
		wantStatus(t, w, http.StatusUnauthorized)
		wantJSONError(t, w, "unauthorized")
	}
	// JSON mass assignment: role, name and id are ignored.
	w = e.do(req{method: http.MethodPatch, path: "/api/v1/me", bearer: tok, json: `{"email":"a2@example.com","role":"admin","name":"root","id":99}`})
	wantStatus(t, w, http.StatusOK)
	got, _ := e.store.UserByID(context.Background(), u.ID)
	if got.Role != models.RoleStaff || got.Name != "alice" || got.Email != "a2@example.com" {
		t.Fatalf("after PATCH: %+v", got)
	}
	for body, code := range map[string]string{`{"email":"nope"}`: "invalid", `{`: "bad_request", `{"email":5}`: "invalid", `{"email":"a@b.c"} {}`: "bad_request"} {
		w := e.do(req{method: http.MethodPatch, path: "/api/v1/me", bearer: tok, json: body, header: map[string]string{"Content-Type": "application/json"}})
		wantJSONError(t, w, code)
	}
}

// TestDemotedCredentialsRefused: after an admin is demoted, the cookie and
// token they held get 403 on an admin route, and the API says why.
func TestDemotedCredentialsRefused(t *testing.T) {
	e := newTestEnv(t)
	boss := e.user("boss", models.RoleAdmin)
	victim := e.user("deputy", models.RoleAdmin)
	cookie, tok := e.session(victim), e.token(victim)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users", cookie: cookie}), http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/users/%d/role", victim.ID), cookie: e.session(boss),
		form: url.Values{"role": {"customer"}}}), http.StatusSeeOther)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users", cookie: cookie}), http.StatusForbidden)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users", bearer: tok}), http.StatusForbidden)
	w := e.do(req{method: http.MethodGet, path: "/api/v1/me", bearer: tok})
	wantStatus(t, w, http.StatusForbidden)
	wantJSONError(t, w, "revoked")
	if !strings.Contains(w.Body.String(), "role changed") {
		t.Errorf("the reason is not given: %s", w.Body.String())
	}
	// Logging in again gives the new role.
	w = e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"deputy"}, "password": {testPassword}}})
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users", cookie: findCookie(w, e.app.sessionCookieName())}), http.StatusForbidden)

	// A staff member demoted to customer: the old cookie and token can no
	// longer declare an incident, by page or API.
	sam := e.user("sam", models.RoleStaff)
	cookie, tok = e.session(sam), e.token(sam)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/incidents/new", cookie: cookie}), http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/users/%d/role", sam.ID), cookie: e.session(boss),
		form: url.Values{"role": {"customer"}}}), http.StatusSeeOther)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/incidents/new", cookie: cookie}), http.StatusForbidden)
	w = e.do(req{method: http.MethodPost, path: "/api/v1/incidents", bearer: tok,
		json: `{"title":"Mail is down","impact":"major","status":"investigating","body":"Looking."}`})
	wantStatus(t, w, http.StatusForbidden)
	wantJSONError(t, w, "revoked")
}

// TestGuardsFailClosed: an expired session, a made-up cookie, an empty
// cookie and a made-up token on a staff route get 401 or a log-in redirect,
// never the page.
func TestGuardsFailClosed(t *testing.T) {
	e := newTestEnv(t)
	sam := e.user("sam", models.RoleStaff)
	expired := e.session(sam)
	e.clock.Advance(models.SessionLifetime + time.Minute)
	name := e.app.sessionCookieName()
	for _, c := range []*http.Cookie{expired, {Name: name, Value: "made-up"}, {Name: name, Value: ""}} {
		w := e.do(req{method: http.MethodGet, path: "/incidents/new", cookie: c})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("cookie %q on a staff page: %d %s", c.Value, w.Code, w.Header().Get("Location"))
		}
		wantStatus(t, e.do(req{method: http.MethodPost, path: "/incidents", cookie: c, form: url.Values{"title": {"Mail is down"}}}), http.StatusUnauthorized)
	}
	w := e.do(req{method: http.MethodPost, path: "/api/v1/incidents", bearer: "made-up", json: `{}`})
	wantStatus(t, w, http.StatusUnauthorized)
	wantJSONError(t, w, "unauthorized")
}

// TestAuthorizationSchemes: the bearer scheme is case-insensitive; another
// scheme (a proxy's Basic credentials) is not Sitrep's and is ignored.
func TestAuthorizationSchemes(t *testing.T) {
	e := newTestEnv(t)
	tok := e.token(e.user("alice", models.RoleCustomer))
	w := e.do(req{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "bearer " + tok}})
	wantStatus(t, w, http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/", header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}}), http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}}), http.StatusUnauthorized)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/me", header: map[string]string{"Authorization": "Bearer "}}), http.StatusUnauthorized)
}

func TestAdminUsersPage(t *testing.T) {
	e := newTestEnv(t)
	boss := e.user("boss", models.RoleAdmin)
	cookie := e.session(boss)
	e.user("alice", models.RoleCustomer)
	w := e.do(req{method: http.MethodGet, path: "/admin/users?q=ali", cookie: cookie})
	wantStatus(t, w, http.StatusOK)
	if body := w.Body.String(); !strings.Contains(body, "alice@example.com") || strings.Contains(body, "boss@example.com") {
		t.Error("filter by name does not work")
	}
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users?role=emperor", cookie: cookie}), http.StatusBadRequest)
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/admin/users?page=-1", cookie: cookie}), http.StatusBadRequest)
	// Lowering one's own role is refused with a message, not a 500.
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/users/%d/role", boss.ID), cookie: cookie, form: url.Values{"role": {"customer"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if !strings.Contains(w.Body.String(), "cannot change your own role") {
		t.Error("no message for changing one's own role")
	}
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/admin/users/999/role", cookie: cookie, form: url.Values{"role": {"staff"}}}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/admin/users/abc/role", cookie: cookie, form: url.Values{"role": {"staff"}}}), http.StatusNotFound)
	wantStatus(t, e.do(req{method: http.MethodPost, path: fmt.Sprintf("/admin/users/%d/role", boss.ID), cookie: cookie, form: url.Values{"role": {"god"}}}), http.StatusUnprocessableEntity)
}

// behindProxy is an app that believes the X-Forwarded-For of the test
// requests' socket address (192.0.2.1), so that a test can send from many
// clients.
func behindProxy(t *testing.T) *testEnv {
	return newTestEnvConfig(t, func(c *Config) { c.TrustedProxies = []string{"192.0.2.1"} })
}

// from is the header that makes a request come from client ip.
func from(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

// TestLogInLockoutSparesOtherClients is the reproduction of the lockout:
// wrong passwords from one client lock that client out of the account, and
// the owner logs in from another client with the right password, staff and
// admins included.
func TestLogInLockoutSparesOtherClients(t *testing.T) {
	e := behindProxy(t)
	for _, u := range []*models.User{e.user("alice", models.RoleCustomer), e.user("sam", models.RoleStaff), e.user("boss", models.RoleAdmin)} {
		login := func(password, ip string) *httptest.ResponseRecorder {
			return e.do(req{method: http.MethodPost, path: "/login", header: from(ip),
				form: url.Values{"login": {u.Name}, "password": {password}}})
		}
		for range 6 {
			login("wrong password!", "203.0.113.10")
		}
		w := login(testPassword, "203.0.113.10")
		wantStatus(t, w, http.StatusTooManyRequests)
		if w.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		w = login(testPassword, "198.51.100.20")
		wantStatus(t, w, http.StatusSeeOther)
		if findCookie(w, e.app.sessionCookieName()) == nil {
			t.Errorf("%s: no session from the other client", u.Name)
		}
		// The other client's own failures are its own.
		for range 4 {
			wantStatus(t, login("wrong password!", "198.51.100.20"), http.StatusUnauthorized)
		}
		wantStatus(t, login(testPassword, "198.51.100.20"), http.StatusSeeOther)
	}
}

// TestLogInAccountWideBound: many clients guessing one account are stopped
// by the account-wide bound, which then refuses everyone until its window
// ends.
func TestLogInAccountWideBound(t *testing.T) {
	e := behindProxy(t)
	e.user("alice", models.RoleCustomer)
	login := func(password, ip string) int {
		return e.do(req{method: http.MethodPost, path: "/login", header: from(ip),
			form: url.Values{"login": {"alice"}, "password": {password}}}).Code
	}
	for i := range passwordAccount.max {
		if code := login("wrong password!", fmt.Sprintf("203.0.113.%d", i/passwordPair.max)); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, code)
		}
	}
	if code := login(testPassword, "198.51.100.20"); code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures from many clients: %d, want 429", passwordAccount.max, code)
	}
	e.clock.Advance(passwordAccount.window)
	if code := login(testPassword, "198.51.100.20"); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
}

// TestPasswordChangeGuessesLimited: wrong current passwords on the password
// form count as failed log-ins of that account from that client: past the
// bound the form answers 429 without checking, and log-in from that client
// is refused too.
func TestPasswordChangeGuessesLimited(t *testing.T) {
	e := newTestEnv(t)
	u := e.user("alice", models.RoleCustomer)
	cookie := e.session(u)
	change := func(current string) *httptest.ResponseRecorder {
		return e.do(req{method: http.MethodPost, path: "/account/password", cookie: cookie,
			form: url.Values{"current_password": {current}, "new_password": {"another long password"}}})
	}
	for i := range passwordPair.max {
		wantStatus(t, change(fmt.Sprintf("guess number %d", i)), http.StatusUnprocessableEntity)
	}
	w := change(testPassword)
	wantStatus(t, w, http.StatusTooManyRequests)
	if w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Too many wrong passwords") {
		t.Errorf("429 without Retry-After or message: %.300s", w.Body.String())
	}
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"alice"}, "password": {testPassword}}}), http.StatusTooManyRequests)
	e.clock.Advance(passwordPair.window)
	wantStatus(t, change(testPassword), http.StatusSeeOther)
}

// TestSignUpCountsEveryAttempt: sign-ups refused for their input count as
// much as those that made an account, and are counted before any password
// is hashed.
func TestSignUpCountsEveryAttempt(t *testing.T) {
	e := newTestEnv(t)
	e.user("taken", models.RoleCustomer)
	bad := []url.Values{
		{"name": {"fresh"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {"something else"}},
		{"name": {"taken"}, "email": {"x@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}},
		{"name": {"fresh"}, "email": {"nope"}, "password": {testPassword}, "password_confirm": {testPassword}},
		{"name": {"fresh"}, "email": {"x@example.com"}, "password": {"short"}, "password_confirm": {"short"}},
	}
	for i := range signupClient.max {
		wantStatus(t, e.do(req{method: http.MethodPost, path: "/signup", form: bad[i%len(bad)]}), http.StatusUnprocessableEntity)
	}
	w := e.do(req{method: http.MethodPost, path: "/signup", form: url.Values{
		"name": {"newbie"}, "email": {"newbie@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}})
	wantStatus(t, w, http.StatusTooManyRequests)
	if _, err := e.store.UserByName(context.Background(), "newbie"); err == nil {
		t.Fatal("the eleventh sign-up made an account")
	}
	e.clock.Advance(signupClient.window)
	wantStatus(t, e.do(req{method: http.MethodPost, path: "/signup", form: url.Values{
		"name": {"newbie"}, "email": {"newbie@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}}}), http.StatusSeeOther)
}

// TestTokenCap: a person holds at most models.MaxActiveTokens live API
// tokens; the next is refused with 422 and says why, and the account page
// says so beforehand. Revoking one makes room.
func TestTokenCap(t *testing.T) {
	e := newTestEnv(t)
	u := e.user("alice", models.RoleCustomer)
	cookie := e.session(u)
	page := e.page("/account", cookie)
	mustContain(t, "account page", page, fmt.Sprintf("up to %d active tokens", models.MaxActiveTokens))
	for i := range models.MaxActiveTokens {
		e.must(http.StatusCreated, req{method: http.MethodPost, path: "/account/tokens", cookie: cookie, form: url.Values{"name": {fmt.Sprint("script ", i)}}})
	}
	w := e.do(req{method: http.MethodPost, path: "/account/tokens", cookie: cookie, form: url.Values{"name": {"one too many"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "refusal", w.Body.String(), fmt.Sprintf("You have %d active API tokens", models.MaxActiveTokens), "Revoke one")
	tokens, _ := e.store.ListTokens(context.Background(), u.ID)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/account/tokens/%d/revoke", tokens[0].ID), cookie: cookie})
	e.must(http.StatusCreated, req{method: http.MethodPost, path: "/account/tokens", cookie: cookie, form: url.Values{"name": {"room again"}}})
}
