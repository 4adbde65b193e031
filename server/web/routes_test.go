package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"sitrep/models"
)

// matrixRow says what each actor gets from one route, with a body that is
// valid for it, so that the allowed cells exercise the real action.
type matrixRow struct {
	path string // with the fixture's ids filled in
	form url.Values
	json string
	want map[actor]int
}

// all gives every actor the same status; except overrides some.
func all(status int, except map[actor]int) map[actor]int {
	m := map[actor]int{}
	for _, a := range actors {
		m[a] = status
	}
	for a, s := range except {
		m[a] = s
	}
	return m
}

// matrix has a row for every route that changes state or is not public.
func matrix(f *fixture) map[string]matrixRow {
	signedIn := func(ok int) map[actor]int { return all(ok, map[actor]int{visitor: http.StatusUnauthorized}) }
	pageSignedIn := func(ok int) map[actor]int { return all(ok, map[actor]int{visitor: http.StatusSeeOther}) }
	adminPage := all(http.StatusForbidden, map[actor]int{visitor: http.StatusSeeOther, admin: http.StatusOK})
	adminDo := func(ok int) map[actor]int {
		return all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, admin: ok})
	}
	staffPage := all(http.StatusForbidden, map[actor]int{visitor: http.StatusSeeOther, staff: http.StatusOK, admin: http.StatusOK})
	staffDo := func(ok int) map[actor]int {
		return all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, staff: ok, admin: ok})
	}
	svc := fmt.Sprintf("service_%d", f.serviceID)
	modPage := all(http.StatusForbidden, map[actor]int{visitor: http.StatusSeeOther, moderator: http.StatusOK, admin: http.StatusOK})
	modDo := func(ok int) map[actor]int {
		return all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, moderator: ok, admin: ok})
	}
	thread := func(id int64, tool string) string { return fmt.Sprintf("/threads/%d/%s", id, tool) }
	post := func(id int64, tool string) string { return fmt.Sprintf("/posts/%d/%s", id, tool) }
	reason := url.Values{"reason": {"cool down"}}
	return map[string]matrixRow{
		"POST /posts/:id/flags": {path: post(f.postID, "flags"), form: url.Values{"reason": {"abuse"}},
			want: all(http.StatusSeeOther, map[actor]int{visitor: http.StatusUnauthorized, owner: http.StatusUnprocessableEntity})},
		"GET /mod/flags": {want: modPage},
		"POST /mod/flags/:id/resolve": {path: fmt.Sprintf("/mod/flags/%d/resolve", f.flagID), form: url.Values{"action": {"dismiss"}},
			want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/lock":      {path: thread(f.threadID, "lock"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/unlock":    {path: thread(f.lockedID, "unlock"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/pin":       {path: thread(f.threadID, "pin"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/unpin":     {path: thread(f.lockedID, "unpin"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/slow-mode": {path: thread(f.threadID, "slow-mode"), form: url.Values{"seconds": {"30"}}, want: modDo(http.StatusSeeOther)},
		"POST /threads/:id/merge": {path: thread(f.lockedID, "merge"), form: url.Values{"into_id": {fmt.Sprint(f.threadID)}},
			want: modDo(http.StatusSeeOther)},
		"GET /mod/threads/:id/merge": {path: fmt.Sprintf("/mod/threads/%d/merge", f.threadID), want: modPage},
		"GET /mod/posts/:id/move":    {path: fmt.Sprintf("/mod/posts/%d/move", f.replyID), want: modPage},
		"POST /threads/:id/unmerge":  {path: thread(f.mergedID, "unmerge"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /posts/:id/hide":       {path: post(f.postID, "hide"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /posts/:id/unhide":     {path: post(f.hiddenPostID, "unhide"), form: reason, want: modDo(http.StatusSeeOther)},
		"POST /posts/:id/move": {path: post(f.replyID, "move"), form: url.Values{"thread_id": {fmt.Sprint(f.lockedID)}},
			want: modDo(http.StatusSeeOther)},
		"GET /mod/users/:id": {path: fmt.Sprintf("/mod/users/%d", f.users[owner].ID), want: modPage},
		"POST /mod/users/:id/sanctions": {path: fmt.Sprintf("/mod/users/%d/sanctions", f.users[owner].ID),
			form: url.Values{"kind": {"warning"}, "reason": {"be nice"}}, want: modDo(http.StatusSeeOther)},
		"POST /mod/users/:id/lift": {path: fmt.Sprintf("/mod/users/%d/lift", f.silencedID), form: reason, want: modDo(http.StatusSeeOther)},
		"GET /mod/audit":           {want: modPage},

		"GET /admin/services":  {want: adminPage},
		"POST /admin/services": {form: url.Values{"name": {"Calendar"}}, want: adminDo(http.StatusSeeOther)},
		"POST /admin/services/:id": {path: fmt.Sprintf("/admin/services/%d", f.serviceID), form: url.Values{"name": {"Email"}, "group": {"Communication"}},
			want: adminDo(http.StatusSeeOther)},
		"PATCH /api/v1/services/:id": {path: fmt.Sprintf("/api/v1/services/%d", f.serviceID), json: `{"description":"Email for everyone"}`,
			want: adminDo(http.StatusOK)},
		"POST /api/v1/services": {json: `{"name":"Calendar","group":"Communication"}`, want: adminDo(http.StatusCreated)},

		"GET /incidents/new": {want: staffPage},
		"POST /incidents": {form: url.Values{"kind": {"incident"}, "title": {"Calendar is down"}, "impact": {"major"},
			"status": {"investigating"}, "body": {"Looking."}, svc: {"major_outage"}}, want: staffDo(http.StatusSeeOther)},
		"GET /incidents/overdue": {want: staffPage},
		"POST /incidents/:id/updates": {path: fmt.Sprintf("/incidents/%d/updates", f.incidentID),
			form: url.Values{"status": {"identified"}, "body": {"Found it."}}, want: staffDo(http.StatusSeeOther)},
		"POST /incidents/:id/postmortem": {path: fmt.Sprintf("/incidents/%d/postmortem", f.resolvedID),
			form: url.Values{"postmortem": {"A disk filled up."}}, want: staffDo(http.StatusSeeOther)},
		"POST /threads/:id/link": {path: fmt.Sprintf("/threads/%d/link", f.threadID),
			form: url.Values{"incident_id": {fmt.Sprint(f.incidentID)}}, want: staffDo(http.StatusSeeOther)},
		"POST /threads/:id/unlink": {path: fmt.Sprintf("/threads/%d/unlink", f.lockedID), want: staffDo(http.StatusSeeOther)},
		"POST /api/v1/incidents": {json: fmt.Sprintf(`{"title":"Calendar is down","impact":"major","status":"investigating","body":"Looking.","services":[{"id":%d,"status":"major_outage"}]}`, f.serviceID),
			want: staffDo(http.StatusCreated)},
		"POST /api/v1/incidents/:id/updates": {path: fmt.Sprintf("/api/v1/incidents/%d/updates", f.incidentID),
			json: `{"status":"identified","body":"Found it."}`, want: staffDo(http.StatusCreated)},
		"POST /api/v1/incidents/:id/postmortem": {path: fmt.Sprintf("/api/v1/incidents/%d/postmortem", f.resolvedID),
			json: `{"postmortem":"A disk filled up."}`, want: staffDo(http.StatusOK)},
		"POST /api/v1/threads/:id/link": {path: fmt.Sprintf("/api/v1/threads/%d/link", f.threadID),
			json: fmt.Sprintf(`{"incident_id":%d}`, f.incidentID), want: staffDo(http.StatusOK)},
		"DELETE /api/v1/threads/:id/link": {path: fmt.Sprintf("/api/v1/threads/%d/link", f.lockedID), want: staffDo(http.StatusOK)},

		"POST /signup": {form: url.Values{"name": {"newcomer"}, "email": {"new@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}},
			want: all(http.StatusSeeOther, nil)},
		"POST /login": {form: url.Values{"login": {"owner-user"}, "password": {testPassword}},
			want: all(http.StatusSeeOther, nil)},
		"POST /logout":                    {want: all(http.StatusSeeOther, nil)},
		"GET /account":                    {want: pageSignedIn(http.StatusOK)},
		"GET /notifications":              {want: pageSignedIn(http.StatusOK)},
		"POST /notifications/read":        {form: url.Values{"all": {"1"}}, want: signedIn(http.StatusSeeOther)},
		"GET /api/v1/notifications":       {want: signedIn(http.StatusOK)},
		"POST /api/v1/notifications/read": {json: `{"all":true}`, want: signedIn(http.StatusOK)},
		"POST /account/email":             {form: url.Values{"email": {"changed@example.com"}}, want: signedIn(http.StatusSeeOther)},
		"POST /account/password":          {form: url.Values{"current_password": {testPassword}, "new_password": {"a brand new password"}}, want: signedIn(http.StatusSeeOther)},
		"POST /account/tokens":            {form: url.Values{"name": {"ci"}}, want: signedIn(http.StatusCreated)},
		"POST /account/tokens/:id/revoke": {path: fmt.Sprintf("/account/tokens/%d/revoke", f.tokenID),
			want: all(http.StatusNotFound, map[actor]int{visitor: http.StatusUnauthorized, owner: http.StatusSeeOther})},
		"GET /admin/users": {want: adminPage},
		"POST /admin/users/:id/role": {path: fmt.Sprintf("/admin/users/%d/role", f.users[owner].ID), form: url.Values{"role": {"staff"}},
			want: all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, admin: http.StatusSeeOther})},
		"GET /api/v1/me":   {want: signedIn(http.StatusOK)},
		"PATCH /api/v1/me": {json: `{"email":"api@example.com"}`, want: signedIn(http.StatusOK)},

		"GET /threads/new": {want: pageSignedIn(http.StatusOK)},
		"POST /threads":    {form: url.Values{"title": {"Calendar is slow"}, "body": {"Very slow."}}, want: signedIn(http.StatusSeeOther)},
		"POST /threads/:id/posts": {path: fmt.Sprintf("/threads/%d/posts", f.threadID), form: url.Values{"body": {"Same here."}},
			want: signedIn(http.StatusSeeOther)},
		"POST /threads/:id/affected": {path: fmt.Sprintf("/threads/%d/affected", f.threadID), form: url.Values{"affected": {"1"}},
			want: signedIn(http.StatusSeeOther)},
		"GET /posts/:id/edit": {path: fmt.Sprintf("/posts/%d/edit", f.postID),
			want: all(http.StatusForbidden, map[actor]int{visitor: http.StatusSeeOther, owner: http.StatusOK, moderator: http.StatusOK, admin: http.StatusOK})},
		"POST /posts/:id": {path: fmt.Sprintf("/posts/%d", f.postID), form: url.Values{"body": {"Edited text."}},
			want: all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, owner: http.StatusSeeOther, moderator: http.StatusSeeOther, admin: http.StatusSeeOther})},
		"POST /api/v1/threads": {json: `{"title":"Calendar is slow","body":"Very slow."}`, want: signedIn(http.StatusCreated)},
		"POST /api/v1/threads/:id/posts": {path: fmt.Sprintf("/api/v1/threads/%d/posts", f.threadID), json: `{"body":"Same."}`,
			want: signedIn(http.StatusCreated)},
		"POST /threads/:id/following": {path: fmt.Sprintf("/threads/%d/following", f.threadID), form: url.Values{"following": {"1"}},
			want: signedIn(http.StatusSeeOther)},
		"PUT /api/v1/threads/:id/following":    {path: fmt.Sprintf("/api/v1/threads/%d/following", f.threadID), want: signedIn(http.StatusOK)},
		"DELETE /api/v1/threads/:id/following": {path: fmt.Sprintf("/api/v1/threads/%d/following", f.threadID), want: signedIn(http.StatusOK)},
		"PUT /api/v1/threads/:id/affected":     {path: fmt.Sprintf("/api/v1/threads/%d/affected", f.threadID), want: signedIn(http.StatusOK)},
		"DELETE /api/v1/threads/:id/affected":  {path: fmt.Sprintf("/api/v1/threads/%d/affected", f.threadID), want: signedIn(http.StatusOK)},
		"PATCH /api/v1/posts/:id": {path: fmt.Sprintf("/api/v1/posts/%d", f.postID), json: `{"body":"Edited."}`,
			want: all(http.StatusForbidden, map[actor]int{visitor: http.StatusUnauthorized, owner: http.StatusOK, moderator: http.StatusOK, admin: http.StatusOK})},

		// Moderation API, on the fixture's flag, locked and pinned thread,
		// hidden post, movable reply and silenced user.
		"POST /api/v1/posts/:id/flags": {path: fmt.Sprintf("/api/v1/posts/%d/flags", f.postID), json: `{"reason":"spam"}`,
			want: all(http.StatusCreated, map[actor]int{visitor: http.StatusUnauthorized, owner: http.StatusUnprocessableEntity, customer: http.StatusConflict})},
		"GET /api/v1/flags": {want: modDo(http.StatusOK)},
		"POST /api/v1/flags/:id/resolve": {path: fmt.Sprintf("/api/v1/flags/%d/resolve", f.flagID), json: `{"action":"dismiss"}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/lock": {path: fmt.Sprintf("/api/v1/threads/%d/lock", f.threadID), json: `{"reason":"Heated"}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/unlock": {path: fmt.Sprintf("/api/v1/threads/%d/unlock", f.lockedID), json: `{}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/pin": {path: fmt.Sprintf("/api/v1/threads/%d/pin", f.threadID), json: `{"until":"2030-01-01T00:00:00Z"}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/unpin": {path: fmt.Sprintf("/api/v1/threads/%d/unpin", f.lockedID), json: `{}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/slow-mode": {path: fmt.Sprintf("/api/v1/threads/%d/slow-mode", f.threadID), json: `{"seconds":60}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/merge": {path: fmt.Sprintf("/api/v1/threads/%d/merge", f.lockedID), json: fmt.Sprintf(`{"into_id":%d}`, f.threadID),
			want: modDo(http.StatusOK)},
		"POST /api/v1/threads/:id/unmerge": {path: fmt.Sprintf("/api/v1/threads/%d/unmerge", f.mergedID), json: `{"reason":"not a duplicate"}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/posts/:id/hide": {path: fmt.Sprintf("/api/v1/posts/%d/hide", f.postID), json: `{"reason":"Spam"}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/posts/:id/unhide": {path: fmt.Sprintf("/api/v1/posts/%d/unhide", f.hiddenPostID), json: `{}`,
			want: modDo(http.StatusOK)},
		"POST /api/v1/posts/:id/move": {path: fmt.Sprintf("/api/v1/posts/%d/move", f.replyID), json: fmt.Sprintf(`{"thread_id":%d}`, f.lockedID),
			want: modDo(http.StatusOK)},
		"POST /api/v1/users/:id/warn": {path: fmt.Sprintf("/api/v1/users/%d/warn", f.users[owner].ID), json: `{"reason":"Be civil"}`,
			want: modDo(http.StatusCreated)},
		"POST /api/v1/users/:id/silence": {path: fmt.Sprintf("/api/v1/users/%d/silence", f.users[owner].ID), json: `{"reason":"Cool down","until":"2030-01-01T00:00:00Z"}`,
			want: modDo(http.StatusCreated)},
		"POST /api/v1/users/:id/suspend": {path: fmt.Sprintf("/api/v1/users/%d/suspend", f.users[owner].ID), json: `{"reason":"Spam","until":"2030-01-01T00:00:00Z"}`,
			want: modDo(http.StatusCreated)},
		"POST /api/v1/users/:id/lift": {path: fmt.Sprintf("/api/v1/users/%d/lift", f.silencedID), json: `{"reason":"Appeal"}`,
			want: modDo(http.StatusOK)},
		"GET /api/v1/audit": {want: modDo(http.StatusOK)},

		// Subscriptions and sign-up by mail: a link's button works for
		// anyone holding its token; the lists are the admins'.
		"POST /signup/confirm":            {form: url.Values{"token": {f.signupToken}}, want: all(http.StatusSeeOther, nil)},
		"POST /subscribe":                 {form: url.Values{"email": {"new.reader@example.com"}, "scope": {"all"}}, want: all(http.StatusAccepted, nil)},
		"POST /subscriptions/confirm":     {form: url.Values{"token": {f.confirmToken}}, want: all(http.StatusOK, nil)},
		"POST /subscriptions/unsubscribe": {form: url.Values{"token": {f.unsubscribeToken}}, want: all(http.StatusOK, nil)},
		"POST /account/mail":              {form: url.Values{"mail_level": {"all"}}, want: signedIn(http.StatusSeeOther)},
		"GET /admin/subscriptions":        {want: adminPage},
		"POST /admin/subscriptions/:id/delete": {path: fmt.Sprintf("/admin/subscriptions/%d/delete", f.subscriptionID),
			want: adminDo(http.StatusSeeOther)},
		"GET /admin/outbox":          {want: adminPage},
		"POST /api/v1/subscriptions": {json: `{"email":"new.reader@example.com"}`, want: all(http.StatusAccepted, nil)},
		"GET /api/v1/subscriptions":  {want: adminDo(http.StatusOK)},
		"GET /api/v1/subscriptions/:id/deliveries": {path: fmt.Sprintf("/api/v1/subscriptions/%d/deliveries", f.subscriptionID),
			want: adminDo(http.StatusOK)},
		"DELETE /api/v1/subscriptions/:id": {path: fmt.Sprintf("/api/v1/subscriptions/%d", f.subscriptionID), want: adminDo(http.StatusNoContent)},
	}
}

func isMutating(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// TestRoleMatrix walks every row as every actor, each cell on a fresh
// database. A route that changes state or is not public must have a row.
func TestRoleMatrix(t *testing.T) {
	e := newTestEnv(t)
	rows := matrix(newFixture(e))
	for _, rt := range e.app.routes() {
		key := rt.method + " " + rt.path
		if _, ok := rows[key]; !ok && (isMutating(rt.method) || rt.access != public) {
			t.Errorf("route %s has no row in the role matrix", key)
		}
	}
	for key, row := range rows {
		method, path, _ := strings.Cut(key, " ")
		if row.path != "" {
			path = row.path
		}
		for _, who := range actors {
			t.Run(strings.ReplaceAll(key, "/", "_")+"/"+string(who), func(t *testing.T) {
				t.Parallel()
				e := newTestEnv(t)
				f := newFixture(e)
				// The cell's own fixture: ids repeat, tokens do not.
				row := matrix(f)[key]
				r := req{method: method, path: path, form: row.form, json: row.json}
				if who != visitor {
					r.cookie = e.session(f.users[who])
				}
				if method != http.MethodGet && row.form == nil && row.json == "" {
					r.form = url.Values{}
				}
				w := e.do(r)
				if want := row.want[who]; w.Code != want {
					t.Fatalf("%s as %s: status %d, want %d; body %.300s", key, who, w.Code, want, w.Body.String())
				}
			})
		}
	}
}

// TestCrossSiteRefused sends every state-changing route as a cross-site
// browser request (by Sec-Fetch-Site, and by a foreign Origin alone): all 403,
// and nothing changes.
func TestCrossSiteRefused(t *testing.T) {
	e := newTestEnv(t)
	f := newFixture(e)
	cookie := e.session(f.users[admin])
	rows := matrix(f)
	for _, rt := range e.app.routes() {
		if !isMutating(rt.method) {
			continue
		}
		key := rt.method + " " + rt.path
		row := rows[key]
		path := rt.path
		if row.path != "" {
			path = row.path
		}
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
		} {
			w := e.do(req{method: rt.method, path: path, form: row.form, json: row.json, cookie: cookie, header: h})
			if w.Code != http.StatusForbidden {
				t.Errorf("%s with %v: status %d, want 403", key, h, w.Code)
			}
		}
	}
	// The session survived: log-out was refused.
	if w := e.do(req{method: http.MethodGet, path: "/account", cookie: cookie}); w.Code != http.StatusOK {
		t.Fatalf("session ended by a cross-site log-out: %d", w.Code)
	}
}

// TestCrossSiteOriginScheme: without Fetch metadata, an Origin that differs
// from the site only in scheme is another site once the base URL says
// which scheme is the site's; without a base URL only hosts are compared.
func TestCrossSiteOriginScheme(t *testing.T) {
	for _, tc := range []struct {
		base   string
		origin string
		want   int
	}{
		{"https://example.com", "http://example.com", http.StatusForbidden},
		{"https://example.com", "https://example.com", http.StatusSeeOther},
		{"http://example.com", "https://example.com", http.StatusForbidden},
		{"", "http://example.com", http.StatusSeeOther},
		{"", "https://example.com", http.StatusSeeOther},
	} {
		e := newTestEnvConfig(t, func(c *Config) { c.BaseURL = tc.base })
		cookie := e.session(e.user("alice", models.RoleCustomer))
		w := e.do(req{method: http.MethodPost, path: "/account/email", cookie: cookie, form: url.Values{"email": {"new@example.com"}},
			header: map[string]string{"Sec-Fetch-Site": "", "Origin": tc.origin}})
		if w.Code != tc.want {
			t.Errorf("base URL %q, Origin %q: status %d, want %d", tc.base, tc.origin, w.Code, tc.want)
		}
		// Reading is never refused for its Origin.
		e.must(http.StatusOK, req{method: http.MethodGet, path: "/", header: map[string]string{"Origin": tc.origin}})
	}
}
