package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"sitrep/models"
)

// modPagesFixture: alice started a thread, bob replied with spam, carol
// reads along, morgan moderates.
type modPagesFixture struct {
	alice, bob, carol, morgan *models.User
	threadID, spamID          int64
}

func newModPagesFixture(e *testEnv) *modPagesFixture {
	f := &modPagesFixture{alice: e.user("alice", models.RoleCustomer), bob: e.user("bob", models.RoleCustomer),
		carol: e.user("carol", models.RoleCustomer), morgan: e.user("morgan", models.RoleModerator)}
	e.clock.Advance(48 * time.Hour)
	f.threadID = e.thread(f.alice, "Mail is down", "Since nine.").ID
	f.spamID = e.reply(f.bob, f.threadID, "Cheap watches at example.com").ID
	e.clock.Advance(time.Minute)
	return f
}

// TestFlagToHiddenPlaceholder: a customer flags a post, the moderator hides
// it from the queue, readers see an honest placeholder, the author and the
// moderator still read it, and the audit log has one entry.
func TestFlagToHiddenPlaceholder(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	modCk := e.session(f.morgan)
	flagPath := fmt.Sprintf("/posts/%d/flags", f.spamID)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: flagPath, cookie: e.session(f.carol), form: url.Values{"reason": {"spam"}}})
	w := e.do(req{method: http.MethodPost, path: flagPath, cookie: e.session(f.carol), form: url.Values{"reason": {"spam"}}})
	mustContain(t, "second flag", e.landing(w, e.session(f.carol)), "flagged this post already")
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: flagPath, cookie: e.session(f.alice), form: url.Values{"reason": {"other"}}})

	queue := e.page("/mod/flags", modCk)
	mustContain(t, "queue", queue, "Cheap watches", "Mail is down", "1 open flag(s)", "Spam")
	flags, err := e.store.FlagQueue(context.Background(), false, models.Page{})
	if err != nil || len(flags.Items) != 1 {
		t.Fatalf("open flags: %v %+v", err, flags.Items)
	}
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/mod/flags/%d/resolve", flags.Items[0].Flags[0].ID), cookie: modCk,
		form: url.Values{"action": {"hide"}, "reason": {"advertising"}, "note": {"third time"}}})

	thread := threadURL(f.threadID)
	for _, who := range []*models.User{nil, f.carol} {
		var cookie *http.Cookie
		if who != nil {
			cookie = e.session(who)
		}
		page := e.page(thread, cookie)
		mustContain(t, "placeholder", page, "Hidden by a moderator: advertising")
		if strings.Contains(page, "Cheap watches") {
			t.Errorf("hidden text shown to %v", who)
		}
	}
	mustContain(t, "author's view", e.page(thread, e.session(f.bob)), "Cheap watches", "Hidden by a moderator: advertising")
	mustContain(t, "moderator's view", e.page(thread, modCk), "Cheap watches", "Restore post")
	mustContain(t, "queue after", e.page("/mod/flags", modCk), "No open flags")
	mustContain(t, "handled flags", e.page("/mod/flags?state=handled", modCk), "Cheap watches", "1 handled flag(s)", "resolved", "by morgan", "note: third time")
	w = e.do(req{method: http.MethodGet, path: "/api/v1/flags?state=handled", bearer: e.token(f.morgan)})
	wantStatus(t, w, http.StatusOK)
	mustContain(t, "handled flags JSON", w.Body.String(), `"state":"resolved"`, `"handled_by":"morgan"`, `"private_note":"third time"`,
		fmt.Sprintf(`"post_author_id":%d`, f.bob.ID))
	wantStatus(t, e.do(req{method: http.MethodGet, path: "/api/v1/flags?state=sideways", bearer: e.token(f.morgan)}), http.StatusBadRequest)
	audit := e.page("/mod/audit?action=flags.hide", modCk)
	mustContain(t, "audit", audit, "flags.hide", "morgan", fmt.Sprintf("post %d", f.spamID), "advertising")
	entries, _ := e.store.ListAudit(context.Background(), models.AuditFilter{TargetType: "post", TargetID: f.spamID}, models.Page{})
	if len(entries.Items) != 1 || entries.Items[0].RequestID == "" {
		t.Fatalf("audit entries for the post: %+v", entries.Items)
	}

	// From the queue, the moderator warns the author and comes back to it.
	w = e.do(req{method: http.MethodPost, path: fmt.Sprintf("/mod/users/%d/sanctions", f.bob.ID), cookie: modCk,
		form: url.Values{"kind": {"warning"}, "reason": {"no advertising"}, "next": {"/mod/flags"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/mod/flags" {
		t.Fatalf("sanction from the queue: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if list, _ := e.store.Sanctions(context.Background(), f.bob.ID); len(list) != 1 || list[0].Reason != "no advertising" {
		t.Fatalf("bob's sanctions: %+v", list)
	}

	// Nothing is lost: the moderator restores it.
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d/unhide", f.spamID), cookie: modCk, form: url.Values{"reason": {"appeal"}}})
	mustContain(t, "restored", e.page(thread, nil), "Cheap watches")
}

// TestThreadToolsThroughPages: lock, slow mode, pin and merge from the
// thread page's forms.
func TestThreadToolsThroughPages(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	modCk := e.session(f.morgan)
	thread := threadURL(f.threadID)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: thread + "/lock", cookie: modCk, form: url.Values{"reason": {"see the incident"}}})
	mustContain(t, "locked", e.page(thread, e.session(f.carol)), "This thread is locked.", "see the incident", "Replies are closed.")
	e.must(http.StatusConflict, req{method: http.MethodPost, path: thread + "/lock", cookie: modCk, form: url.Values{}})
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: thread + "/unlock", cookie: modCk, form: url.Values{}})
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: thread + "/slow-mode", cookie: modCk, form: url.Values{"seconds": {"300"}}})
	mustContain(t, "slow mode", e.page(thread, e.session(f.carol)), "Slow mode:", "5 min")
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: thread + "/slow-mode", cookie: modCk, form: url.Values{"seconds": {"soon"}}})
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: thread + "/pin", cookie: modCk, form: url.Values{"until": {"yesterday"}}})

	dup := e.thread(f.carol, "Mail down here too", "Same.")
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: threadURL(dup.ID) + "/merge", cookie: modCk,
		form: url.Values{"into_id": {fmt.Sprint(f.threadID)}, "reason": {"duplicate"}}})
	w := e.do(req{method: http.MethodGet, path: threadURL(dup.ID)})
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != thread {
		t.Fatalf("old thread: %d to %q", w.Code, w.Header().Get("Location"))
	}
	mustContain(t, "merged", e.page(thread, nil), "Same.", "2</strong> people are affected")
	e.must(http.StatusUnprocessableEntity, req{method: http.MethodPost, path: threadURL(f.threadID) + "/merge", cookie: modCk, form: url.Values{"into_id": {"x"}}})
}

// TestSanctionsThroughPages: the user page's forms, what the sanctioned user
// is told, and the role hierarchy.
func TestSanctionsThroughPages(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	modCk := e.session(f.morgan)
	bobPage := fmt.Sprintf("/mod/users/%d", f.bob.ID)
	mustContain(t, "user page", e.page(bobPage, modCk), "Cheap watches", "Record sanction")
	bobCookie := e.session(f.bob)
	until := e.clock.Now().Add(24 * time.Hour).Format(formTimeLayout)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: bobPage + "/sanctions", cookie: modCk,
		form: url.Values{"kind": {"silence"}, "reason": {"spam links"}, "until": {until}}})

	// Silenced: reads, says affected, cannot post; the draft comes back.
	w := e.do(req{method: http.MethodGet, path: threadURL(f.threadID), cookie: bobCookie})
	mustContain(t, "silenced reader", w.Body.String(), "Your account is silenced", "spam links")
	w = e.do(req{method: http.MethodPost, path: threadURL(f.threadID) + "/posts", cookie: bobCookie, form: url.Values{"body": {"my draft text"}}})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "silenced reply", w.Body.String(), "my draft text")
	w = e.do(req{method: http.MethodPost, path: threadURL(f.threadID) + "/affected", cookie: bobCookie, form: url.Values{"affected": {"1"}}})
	wantStatus(t, w, http.StatusSeeOther)
	mustContain(t, "account notice", e.page("/account", e.session(f.bob)), "Notices from moderators", "spam links")

	// Suspended: the open session stops at once; log-in says why.
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: bobPage + "/sanctions", cookie: modCk,
		form: url.Values{"kind": {"suspension"}, "reason": {"repeated spam"}, "until": {until}}})
	w = e.do(req{method: http.MethodGet, path: "/account", cookie: bobCookie})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "suspended session", w.Body.String(), "suspended", "repeated spam")
	w = e.do(req{method: http.MethodPost, path: "/login", form: url.Values{"login": {"bob"}, "password": {testPassword}}})
	wantStatus(t, w, http.StatusForbidden)
	mustContain(t, "suspended log-in", w.Body.String(), "suspended until", "repeated spam")
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: bobPage + "/lift", cookie: modCk, form: url.Values{"reason": {"appeal accepted"}}})
	w = e.do(req{method: http.MethodGet, path: "/account", cookie: bobCookie})
	wantStatus(t, w, http.StatusOK)

	// Hierarchy: nobody sanctions an equal or higher role, or themselves.
	other := e.user("mira", models.RoleModerator)
	root := e.user("root", models.RoleAdmin)
	for _, target := range []*models.User{other, root, f.morgan} {
		w := e.must(http.StatusForbidden, req{method: http.MethodPost, path: fmt.Sprintf("/mod/users/%d/sanctions", target.ID), cookie: modCk,
			form: url.Values{"kind": {"warning"}, "reason": {"x"}}})
		mustContain(t, "hierarchy", w.Body.String(), "You cannot sanction")
	}
	if page := e.page(fmt.Sprintf("/mod/users/%d", root.ID), modCk); strings.Contains(page, "Record sanction") {
		t.Error("a moderator is offered the sanction form for an admin")
	}
}

// TestHostileTextOnModerationPages: flag notes, reasons, names and titles
// from the XSS corpus render escaped on the queue, the audit log and the
// user page.
func TestHostileTextOnModerationPages(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	modCk := e.session(f.morgan)
	ctx := context.Background()
	payloads := xssPayloads(t)
	e.store.FlagHideThreshold = 1000 // keep the post visible to every flagger
	for i, p := range payloads[:min(len(payloads), 30)] {
		u := e.user(fmt.Sprintf("flagger%d", i), models.RoleCustomer)
		note := p
		if len([]rune(note)) > models.ReasonMaxLen {
			note = string([]rune(note)[:models.ReasonMaxLen])
		}
		if _, err := e.store.FlagPost(ctx, u, f.spamID, "other", note); err != nil && !strings.Contains(err.Error(), "control") {
			t.Fatalf("payload %d: %v", i, err)
		}
		if _, err := e.store.SanctionUser(ctx, f.morgan, f.bob.ID, models.SanctionWarning, note, nil); err != nil && !strings.Contains(err.Error(), "control") {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	// Hostile titles reach the audit log (entries name their threads), the
	// merge picker and the "merged from" of moved posts.
	var titled int64
	for i, p := range payloads[:min(len(payloads), 10)] {
		title := fmt.Sprintf("Mail %d %s", i, p)
		if len([]rune(title)) > models.TitleMaxLen {
			title = string([]rune(title)[:models.TitleMaxLen])
		}
		th, _, err := e.store.CreateThread(ctx, e.user(fmt.Sprintf("writer%d", i), models.RoleCustomer), models.NewThread{Title: title, Body: "Down."})
		if err != nil {
			continue // a title the Store refuses (control characters)
		}
		if titled == 0 {
			titled = th.ID
			continue
		}
		if _, err := e.store.MergeThread(ctx, f.morgan, th.ID, titled, p); err != nil && !strings.Contains(err.Error(), "control") {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	if titled == 0 || len(e.posts(titled)) < 5 {
		t.Fatalf("the hostile titles made no merges to show")
	}
	for _, path := range []string{"/mod/flags", "/mod/audit", fmt.Sprintf("/mod/users/%d", f.bob.ID), threadURL(f.threadID),
		threadURL(titled), fmt.Sprintf("/mod/threads/%d/merge?q=mail", f.threadID)} {
		checkPage(t, e.page(path, modCk))
	}
	checkPage(t, e.page("/account", e.session(f.bob)))
}

// TestAuditLogReadsForModerators: the audit log names what each entry acted
// on, says "none" for a first postmortem's text before, and every link on
// it opens for a moderator (admin pages are linked for admins only).
func TestAuditLogReadsForModerators(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	ctx := context.Background()
	root := e.user("root", models.RoleAdmin)
	sam := e.user("sam", models.RoleStaff)
	if _, err := e.store.SanctionUser(ctx, f.morgan, f.bob.ID, models.SanctionWarning, "no ads", nil); err != nil {
		t.Fatal(err)
	}
	svc, err := e.store.CreateService(ctx, root, models.NewService{Name: "Calendar"})
	if err != nil {
		t.Fatal(err)
	}
	inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Calendar down", Impact: "major",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
	if _, err := e.store.PostUpdate(ctx, sam, inc.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetPostmortem(ctx, sam, inc.ID, "A disk filled up."); err != nil {
		t.Fatal(err)
	}
	modCk := e.session(f.morgan)
	page := e.page("/mod/audit", modCk)
	mustContain(t, "audit log", page, fmt.Sprintf(`<a href="/mod/users/%d">bob</a>`, f.bob.ID),
		fmt.Sprintf(`incident <a href="/incidents/%d">Calendar down</a>`, inc.ID), "service Calendar",
		`<td class="audit-change"><em>none</em> → A disk filled up.</td>`)
	if strings.Contains(page, "user "+fmt.Sprint(f.bob.ID)) {
		t.Error("the audit log calls a person by number")
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" && strings.HasPrefix(attrOf(n, "href"), "/") {
			links = append(links, attrOf(n, "href"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, href := range links {
		if w := e.do(req{method: http.MethodGet, path: href, cookie: modCk}); w.Code >= 400 {
			t.Errorf("the audit log links %s, which answers a moderator %d", href, w.Code)
		}
	}
	mustContain(t, "admin's audit log", e.page("/mod/audit", e.session(root)), `service <a href="/admin/services">Calendar</a>`)
	w := e.must(http.StatusOK, req{method: http.MethodGet, path: "/api/v1/audit?target_type=user", bearer: e.token(f.morgan)})
	mustContain(t, "audit JSON", w.Body.String(), `"target_name":"bob"`)
}

// TestSanctionFormsComeBack: a refused sanction or lift comes back on the
// user's page with the message beside its form and what was typed; the
// page speaks of "this account", not the moderator's own.
func TestSanctionFormsComeBack(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	modCk := e.session(f.morgan)
	bob := fmt.Sprintf("/mod/users/%d", f.bob.ID)
	carol := fmt.Sprintf("/mod/users/%d", f.carol.ID)
	week := e.clock.Now().Add(7 * 24 * time.Hour).Format(formTimeLayout)
	day := e.clock.Now().Add(24 * time.Hour).Format(formTimeLayout)
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: bob + "/sanctions", cookie: modCk,
		form: url.Values{"kind": {"silence"}, "reason": {"spam links"}, "until": {week}}})
	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		want       []string
	}{
		{"a silence without an end", carol + "/sanctions", url.Values{"kind": {"silence"}, "reason": {"heated words"}}, http.StatusUnprocessableEntity,
			[]string{`<p class="field-error" role="alert">A silence needs an end time: say until when.</p>`, `value="heated words"`,
				`<option value="silence" selected>`, fmt.Sprintf(`action="/mod/users/%d/sanctions#sanction"`, f.carol.ID), `aria-invalid="true" autofocus`}},
		{"from the queue, kept going back there", carol + "/sanctions", url.Values{"kind": {"suspension"}, "reason": {"spam"}, "next": {"/mod/flags"}},
			http.StatusUnprocessableEntity, []string{"A suspension needs an end time", `<input type="hidden" name="next" value="/mod/flags">`}},
		{"an end in the past", carol + "/sanctions", url.Values{"kind": {"silence"}, "reason": {"x"}, "until": {"2020-01-01T00:00"}},
			http.StatusUnprocessableEntity, []string{"Give an end time in the future."}},
		{"a lift without a reason", bob + "/lift", url.Values{}, http.StatusUnprocessableEntity,
			[]string{fmt.Sprintf(`action="/mod/users/%d/lift#lift"`, f.bob.ID), "Give a reason"}},
		{"a shorter silence over a longer one", bob + "/sanctions", url.Values{"kind": {"silence"}, "reason": {"again"}, "until": {day}},
			http.StatusConflict, []string{`<p class="form-error" role="alert">bob is already under a silence until`, `value="again"`}},
		{"a lift of nothing", carol + "/lift", url.Values{"reason": {"appeal"}}, http.StatusConflict,
			[]string{`<p class="form-error" role="alert">This user is neither silenced nor suspended.</p>`, `value="appeal"`}},
	} {
		w := e.do(req{method: http.MethodPost, path: tc.path, cookie: modCk, form: tc.form})
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		mustContain(t, tc.name, w.Body.String(), append(tc.want, "<h2 id=\"sanctions-heading\">Sanctions</h2>")...)
	}
	page := e.page(bob, modCk)
	mustContain(t, "moderator's view", page, "This account is silenced: they can read and say they are affected")
	if strings.Contains(page, "Your account") {
		t.Error("the moderator's view of a user says \"Your account\"")
	}
}

// TestEndedSessionSaysWhy: someone suspended, or whose role changed, while
// signed in is told why on the next page, public pages included, rather
// than shown them as a stranger.
func TestEndedSessionSaysWhy(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	root := e.user("root", models.RoleAdmin)
	sam := e.user("sam", models.RoleStaff)
	bobCk, samCk := e.session(f.bob), e.session(sam)
	until := e.clock.Now().Add(24 * time.Hour)
	if _, err := e.store.SanctionUser(context.Background(), f.morgan, f.bob.ID, models.SanctionSuspension, "repeated spam", &until); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ChangeRole(context.Background(), root, sam.ID, models.RoleCustomer); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		path   string
		status int
		want   string
	}{
		{"suspended, on the dashboard", bobCk, "/", http.StatusOK, "Your account is suspended until"},
		{"suspended, on a thread", bobCk, threadURL(f.threadID), http.StatusOK, "Reason: repeated spam"},
		{"suspended, on their account page", bobCk, "/account", http.StatusForbidden, "Your account is suspended until"},
		{"role changed, on the forum", samCk, "/threads", http.StatusOK, "Your session or token was ended (role changed"},
	} {
		w := e.do(req{method: http.MethodGet, path: tc.path, cookie: tc.cookie})
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		page := w.Body.String()
		mustContain(t, tc.name, page, tc.want, `href="/login"`)
		if n := strings.Count(page, tc.want); n != 1 {
			t.Errorf("%s: the reason is said %d times, want once", tc.name, n)
		}
		if tc.status == http.StatusOK && !strings.Contains(page, `<div class="flash flash-error" role="alert" id="session-ended">`) {
			t.Errorf("%s: no alert says why", tc.name)
		}
	}
}

// TestMergePicker: a moderator finds the thread to merge into by title or
// number and picks it from a list; a merge without a choice comes back to
// the list with the message; moved posts say where they came from.
func TestMergePicker(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e) // alice's "Mail is down"
	modCk := e.session(f.morgan)
	dup := e.thread(f.carol, "Mail down for me too", "Same since nine.")
	e.clock.Advance(time.Minute)
	cal := e.thread(f.bob, "Calendar invites vanish", "Gone.")
	mustContain(t, "thread tools", e.page(threadURL(dup.ID), modCk),
		fmt.Sprintf(`<form method="get" action="/mod/threads/%d/merge"`, dup.ID), `name="q"`)
	picker := fmt.Sprintf("/mod/threads/%d/merge", dup.ID)
	radio := func(id int64) string { return fmt.Sprintf(`<input type="radio" name="into_id" value="%d">`, id) }
	for _, tc := range []struct {
		name, query  string
		want, absent []string
	}{
		{"titles like this one", "", []string{"Threads with titles like “Mail down for me too”", radio(f.threadID)}, []string{radio(dup.ID), radio(cal.ID)}},
		{"by title", "calendar", []string{"Threads matching “calendar”", radio(cal.ID)}, []string{radio(f.threadID)}},
		{"by number", fmt.Sprintf("#%d", cal.ID), []string{radio(cal.ID)}, nil},
		{"nothing", "printer", []string{"No thread matches."}, nil},
	} {
		page := e.page(picker+"?q="+url.QueryEscape(tc.query), modCk)
		mustContain(t, tc.name, page, tc.want...)
		for _, s := range tc.absent {
			if strings.Contains(page, s) {
				t.Errorf("%s: %s listed", tc.name, s)
			}
		}
	}
	e.must(http.StatusBadRequest, req{method: http.MethodGet, path: picker + "?q=" + strings.Repeat("x", 201), cookie: modCk})

	w := e.do(req{method: http.MethodPost, path: threadURL(dup.ID) + "/merge", cookie: modCk, form: url.Values{"q": {"mail"}, "reason": {"same outage"}}})
	wantStatus(t, w, http.StatusUnprocessableEntity)
	mustContain(t, "no choice", w.Body.String(), `role="alert">Choose the thread to merge into.</p>`, `value="same outage"`,
		"Threads matching “mail”", radio(f.threadID))
	w = e.do(req{method: http.MethodPost, path: threadURL(dup.ID) + "/merge", cookie: modCk,
		form: url.Values{"into_id": {fmt.Sprint(f.threadID)}, "reason": {"same outage"}}})
	mustContain(t, "merged", e.landing(w, modCk), "The thread is merged into this one.", "merged from “Mail down for me too”")
	mustContain(t, "a reader's view", e.page(threadURL(f.threadID), nil), "Same since nine.", "merged from “Mail down for me too”")
}

// TestMovePicker: a moderator moves a reply by finding the thread it
// belongs in by title and picking it; a move without a choice, or to a
// thread that cannot take it, comes back to the list with the message.
func TestMovePicker(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e) // alice's "Mail is down"
	modCk := e.session(f.morgan)
	cal := e.thread(f.bob, "Calendar invites vanish", "Gone.")
	stray := e.reply(f.carol, f.threadID, "My calendar invites vanish too.")
	mustContain(t, "post tools", e.page(threadURL(f.threadID), modCk),
		fmt.Sprintf(`<form method="get" action="/mod/posts/%d/move"`, stray.ID))
	picker := fmt.Sprintf("/mod/posts/%d/move", stray.ID)
	radio := func(id int64) string { return fmt.Sprintf(`<input type="radio" name="thread_id" value="%d">`, id) }
	page := e.page(picker+"?q=calendar", modCk)
	mustContain(t, "the move picker", page, "Move a post by carol", "<p>My calendar invites vanish too.</p>", "It leaves “Mail is down”",
		"Threads matching “calendar”", radio(cal.ID), `action="/posts/`)
	if strings.Contains(page, radio(f.threadID)) {
		t.Error("the picker offers the post's own thread")
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no choice", url.Values{"q": {"calendar"}, "reason": {"wrong thread"}}, "Choose the thread to move the post to."},
		{"its own thread", url.Values{"q": {"calendar"}, "reason": {"wrong thread"}, "thread_id": {fmt.Sprint(f.threadID)}}, "The post is in this thread already."},
	} {
		w := e.do(req{method: http.MethodPost, path: postURL(stray.ID) + "/move", cookie: modCk, form: tc.form})
		wantStatus(t, w, http.StatusUnprocessableEntity)
		mustContain(t, tc.name, w.Body.String(), `role="alert">`+tc.want+`</p>`, `value="wrong thread"`, "Threads matching “calendar”", radio(cal.ID))
	}
	w := e.do(req{method: http.MethodPost, path: postURL(stray.ID) + "/move", cookie: modCk,
		form: url.Values{"thread_id": {fmt.Sprint(cal.ID)}, "reason": {"wrong thread"}}})
	mustContain(t, "moved", e.landing(w, modCk), "The post is moved here.", "My calendar invites vanish too.", "Calendar invites vanish")
}

// TestNavigationCountsOpenFlags: moderators see how many flags wait in the
// navigation, on pages that are never cached; nobody else sees it.
func TestNavigationCountsOpenFlags(t *testing.T) {
	e := newTestEnv(t)
	f := newModPagesFixture(e)
	for _, u := range []*models.User{f.alice, f.carol} {
		e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/posts/%d/flags", f.spamID), cookie: e.session(u),
			form: url.Values{"reason": {"spam"}}})
	}
	modCk := e.session(f.morgan)
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		want   string
	}{
		{"moderator", modCk, `Flags <span class="count" id="open-flags">2<span class="visually-hidden"> open</span></span>`},
		{"admin", e.session(e.user("root", models.RoleAdmin)), `id="open-flags">2<`},
		{"customer", e.session(f.carol), ""},
		{"visitor", nil, ""},
	} {
		w := e.must(http.StatusOK, req{method: http.MethodGet, path: threadURL(f.threadID), cookie: tc.cookie})
		if tc.want == "" {
			if strings.Contains(w.Body.String(), "open-flags") {
				t.Errorf("%s: the open flags are counted for them", tc.name)
			}
			continue
		}
		mustContain(t, tc.name, w.Body.String(), tc.want)
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: a page with the count is sent with Cache-Control %q", tc.name, cc)
		}
	}
	flags, _ := e.store.FlagQueue(context.Background(), false, models.Page{})
	e.must(http.StatusSeeOther, req{method: http.MethodPost, path: fmt.Sprintf("/mod/flags/%d/resolve", flags.Items[0].Flags[0].ID), cookie: modCk,
		form: url.Values{"action": {"dismiss"}}})
	mustContain(t, "queue done", e.page("/mod/flags", modCk), `<span class="count" id="open-flags"></span>`)
}
