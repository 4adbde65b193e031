package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// modEnv: alice started a thread, bob replied with spam, carol reads along,
// morgan moderates.
type modEnv struct {
	*testEnv
	alice, bob, carol, morgan *models.User
	threadID, spamID          int64
}

func newModEnv(t *testing.T) *modEnv {
	t.Helper()
	e := newTestEnv(t)
	m := &modEnv{testEnv: e, alice: e.user("alice", models.RoleCustomer), bob: e.user("bob", models.RoleCustomer),
		carol: e.user("carol", models.RoleCustomer), morgan: e.user("morgan", models.RoleModerator)}
	e.clock.Advance(48 * time.Hour)
	ctx := context.Background()
	th, _, err := e.store.CreateThread(ctx, m.alice, models.NewThread{Title: "Mail is down", Body: "Since nine."})
	if err != nil {
		t.Fatal(err)
	}
	spam, _, err := e.store.CreateReply(ctx, m.bob, th.ID, models.NewPost{Body: "Cheap watches at example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.threadID, m.spamID = th.ID, spam.ID
	e.clock.Advance(time.Minute)
	return m
}

func (m *modEnv) get(path string, u *models.User) string {
	m.t.Helper()
	r := req{method: http.MethodGet, path: path}
	if u != nil {
		r.cookie = m.session(u)
	}
	w := m.do(r)
	wantStatus(m.t, w, http.StatusOK)
	return w.Body.String()
}

func (m *modEnv) post(path string, u *models.User, form url.Values, want int) string {
	m.t.Helper()
	w := m.do(req{method: http.MethodPost, path: path, cookie: m.session(u), form: form})
	wantStatus(m.t, w, want)
	return w.Body.String()
}

// TestFlagToHiddenPlaceholder: a customer flags a post, the moderator hides
// it from the queue, readers see an honest placeholder, the author and the
// moderator still read it, and the audit log has one entry.
func TestFlagToHiddenPlaceholder(t *testing.T) {
	m := newModEnv(t)
	m.post(fmt.Sprintf("/posts/%d/flags", m.spamID), m.carol, url.Values{"reason": {"spam"}}, http.StatusSeeOther)
	body := m.post(fmt.Sprintf("/posts/%d/flags", m.spamID), m.carol, url.Values{"reason": {"spam"}}, http.StatusConflict)
	mustContain(t, "second flag", body, "flagged this post already")
	m.post(fmt.Sprintf("/posts/%d/flags", m.spamID), m.alice, url.Values{"reason": {"other"}}, http.StatusUnprocessableEntity)

	queue := m.get("/mod/flags", m.morgan)
	mustContain(t, "queue", queue, "Cheap watches", "Mail is down", "1 open flag(s)", "Spam")
	flags, err := m.store.FlagQueue(context.Background(), false, models.Page{})
	if err != nil || len(flags.Items) != 1 {
		t.Fatalf("open flags: %v %+v", err, flags.Items)
	}
	m.post(fmt.Sprintf("/mod/flags/%d/resolve", flags.Items[0].Flags[0].ID), m.morgan,
		url.Values{"action": {"hide"}, "reason": {"advertising"}, "note": {"third time"}}, http.StatusSeeOther)

	thread := threadURL(m.threadID)
	for _, who := range []*models.User{nil, m.carol} {
		page := m.get(thread, who)
		mustContain(t, "placeholder", page, "Hidden by a moderator: advertising")
		if strings.Contains(page, "Cheap watches") {
			t.Errorf("hidden text shown to %v", who)
		}
	}
	mustContain(t, "author's view", m.get(thread, m.bob), "Cheap watches", "Hidden by a moderator: advertising")
	mustContain(t, "moderator's view", m.get(thread, m.morgan), "Cheap watches", "Restore post")
	mustContain(t, "queue after", m.get("/mod/flags", m.morgan), "No open flags")
	mustContain(t, "handled flags", m.get("/mod/flags?state=handled", m.morgan), "Cheap watches", "1 handled flag(s)", "resolved", "by morgan", "note: third time")
	w := m.do(req{method: http.MethodGet, path: "/api/v1/flags?state=handled", bearer: m.token(m.morgan)})
	wantStatus(t, w, http.StatusOK)
	mustContain(t, "handled flags JSON", w.Body.String(), `"state":"resolved"`, `"handled_by":"morgan"`, `"private_note":"third time"`,
		fmt.Sprintf(`"post_author_id":%d`, m.bob.ID))
	wantStatus(t, m.do(req{method: http.MethodGet, path: "/api/v1/flags?state=sideways", bearer: m.token(m.morgan)}), http.StatusBadRequest)
	audit := m.get("/mod/audit?action=flags.hide", m.morgan)
	mustContain(t, "audit", audit, "flags.hide", "morgan", fmt.Sprintf("post %d", m.spamID), "advertising")
	entries, _ := m.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "post", TargetID: m.spamID}, models.Page{})
	if len(entries.Items) != 1 || entries.Items[0].RequestID == "" {
		t.Fatalf("audit entries for the post: %+v", entries.Items)
	}

	// From the queue, the moderator warns the author and comes back to it.
	w = m.do(req{method: http.MethodPost, path: fmt.Sprintf("/mod/users/%d/sanctions", m.bob.ID), cookie: m.session(m.morgan),
		form: url.Values{"kind": {"warning"}, "reason": {"no advertising"}, "next": {"/mod/flags"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/mod/flags" {
		t.Fatalf("sanction from the queue: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if list, _ := m.store.Sanctions(context.Background(), m.bob.ID); len(list) != 1 || list[0].Reason != "no advertising" {
		t.Fatalf("bob's sanctions: %+v", list)
	}

	// Nothing is lost: the moderator restores it.
	m.post(fmt.Sprintf("/posts/%d/unhide", m.spamID), m.morgan, url.Values{"reason": {"appeal"}}, http.StatusSeeOther)
	mustContain(t, "restored", m.get(thread, nil), "Cheap watches")
}

// TestThreadToolsThroughPages: lock, slow mode, pin and merge from the
// thread page's forms.
func TestThreadToolsThroughPages(t *testing.T) {
	m := newModEnv(t)
	thread := threadURL(m.threadID)
	m.post(thread+"/lock", m.morgan, url.Values{"reason": {"see the incident"}}, http.StatusSeeOther)
	mustContain(t, "locked", m.get(thread, m.carol), "This thread is locked.", "see the incident", "Replies are closed.")
	m.post(thread+"/lock", m.morgan, url.Values{}, http.StatusConflict)
	m.post(thread+"/unlock", m.morgan, url.Values{}, http.StatusSeeOther)
	m.post(thread+"/slow-mode", m.morgan, url.Values{"seconds": {"300"}}, http.StatusSeeOther)
	mustContain(t, "slow mode", m.get(thread, m.carol), "Slow mode:", "5 min")
	m.post(thread+"/slow-mode", m.morgan, url.Values{"seconds": {"soon"}}, http.StatusUnprocessableEntity)
	m.post(thread+"/pin", m.morgan, url.Values{"until": {"yesterday"}}, http.StatusUnprocessableEntity)

	dup, _, err := m.store.CreateThread(context.Background(), m.carol, models.NewThread{Title: "Mail down here too", Body: "Same."})
	if err != nil {
		t.Fatal(err)
	}
	m.post(threadURL(dup.ID)+"/merge", m.morgan, url.Values{"into_id": {fmt.Sprint(m.threadID)}, "reason": {"duplicate"}}, http.StatusSeeOther)
	w := m.do(req{method: http.MethodGet, path: threadURL(dup.ID)})
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != thread {
		t.Fatalf("old thread: %d to %q", w.Code, w.Header().Get("Location"))
	}
	mustContain(t, "merged", m.get(thread, nil), "Same.", "2</strong> people are affected")
	m.post(threadURL(m.threadID)+"/merge", m.morgan, url.Values{"into_id": {"x"}}, http.StatusUnprocessableEntity)
}

// TestSanctionsThroughPages: the user page's forms, what the sanctioned user
// is told, and the role hierarchy.
func TestSanctionsThroughPages(t *testing.T) {
	m := newModEnv(t)
	bobPage := fmt.Sprintf("/mod/users/%d", m.bob.ID)
	mustContain(t, "user page", m.get(bobPage, m.morgan), "Cheap watches", "Record sanction")
	bobCookie := m.session(m.bob)
	until := m.clock.Now().Add(24 * time.Hour).Format(formTimeLayout)
	m.post(bobPage+"/sanctions", m.morgan, url.Values{"kind": {"silence"}, "reason": {"spam links"}, "until": {until}}, http.StatusSeeOther)

	// Silenced: reads, says affected, cannot post; the draft comes back.
	w := m.do(req{method: http.MethodGet, path: threadURL(m.threadID), cookie: bobCookie})
	mustContain(t, "silenced reader", w.Body.String(), "Your account is silenced", "spam links")
	w = m.do(req{method: http.MethodPost, path: threadURL(m.threadID) + "/posts", cookie: bobCookie, form: url.Values{"body": {"my draft text"}}})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "silenced reply", w.Body.String(), "my draft text")
	w = m.do(req{method: http.MethodPost, path: threadURL(m.threadID) + "/affected", cookie: bobCookie, form: url.Values{"affected": {"1"}}})
	wantStatus(t, w, http.StatusSeeOther)
	mustContain(t, "account notice", m.get("/account", m.bob), "Notices from moderators", "spam links")

	// Suspended: the open session stops at once; log-in says why.
	m.post(bobPage+"/sanctions", m.morgan, url.Values{"kind": {"suspension"}, "reason": {"repeated spam"}, "until": {until}}, http.StatusSeeOther)
	w = m.do(req{method: http.MethodGet, path: "/account", cookie: bobCookie})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "suspended session", w.Body.String(), "suspended", "repeated spam")
	w = m.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"bob"}, "password": {testPassword}}})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "suspended log-in", w.Body.String(), "suspended until", "repeated spam")
	m.post(bobPage+"/lift", m.morgan, url.Values{"reason": {"appeal accepted"}}, http.StatusSeeOther)
	w = m.do(req{method: http.MethodGet, path: "/account", cookie: bobCookie})
	wantStatus(t, w, http.StatusOK)

	// Hierarchy: nobody sanctions an equal or higher role, or themselves.
	other := m.user("mira", models.RoleModerator)
	root := m.user("root", models.RoleAdmin)
	for _, target := range []*models.User{other, root, m.morgan} {
		body := m.post(fmt.Sprintf("/mod/users/%d/sanctions", target.ID), m.morgan,
			url.Values{"kind": {"warning"}, "reason": {"x"}}, http.StatusForbidden)
		mustContain(t, "hierarchy", body, "You cannot sanction")
	}
	if page := m.get(fmt.Sprintf("/mod/users/%d", root.ID), m.morgan); strings.Contains(page, "Record sanction") {
		t.Error("a moderator is offered the sanction form for an admin")
	}
}

// TestHostileTextOnModerationPages: flag notes, reasons, names and titles
// from the XSS corpus render escaped on the queue, the audit log and the
// user page.
func TestHostileTextOnModerationPages(t *testing.T) {
	m := newModEnv(t)
	ctx := context.Background()
	payloads := xssPayloads(t)
	m.store.FlagHideThreshold = 1000 // keep the post visible to every flagger
	for i, p := range payloads[:min(len(payloads), 30)] {
		u := m.user(fmt.Sprintf("flagger%d", i), models.RoleCustomer)
		note := p
		if len([]rune(note)) > models.ReasonMaxLen {
			note = string([]rune(note)[:models.ReasonMaxLen])
		}
		if _, err := m.store.FlagPost(ctx, u, m.spamID, "other", note); err != nil && !strings.Contains(err.Error(), "control") {
			t.Fatalf("payload %d: %v", i, err)
		}
		if _, err := m.store.SanctionUser(ctx, m.morgan, m.bob.ID, models.SanctionWarning, note, nil); err != nil && !strings.Contains(err.Error(), "control") {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	for _, path := range []string{"/mod/flags", "/mod/audit", fmt.Sprintf("/mod/users/%d", m.bob.ID), threadURL(m.threadID)} {
		checkPage(t, m.get(path, m.morgan))
	}
	checkPage(t, m.get("/account", m.bob))
}
