package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

func TestSameHere(t *testing.T) {
	latest := []models.Post{{Source: "Our whole office in Lyon has no mail since 9:00."}, {Source: "It is down.", Official: true}}
	for body, want := range map[string]bool{
		"+1": true, "Same here": true, "same here!!": true, "Me too!!": true, "me too 😡": true, "SAME.": true,
		"ich auch": true, "Moi aussi !": true, "yo también": true, "ditto": true,
		"Our whole office in Lyon has no mail since 9:00.":              true, // word for word what a reply said
		"Same here, is there a workaround?":                             false,
		"Same here since 9:00 in Berlin, IMAP works but SMTP times out": false,
		"When is the next update?":                                      false,
		"It is down.":                                                   false, // an official post is not echoed
		"":                                                              false,
	} {
		if got := sameHere(body, latest); got != want {
			t.Errorf("sameHere(%q) = %v, want %v", body, got, want)
		}
	}
}

// TestSurgeMode: on an open incident's thread a customer's "same here"
// becomes an "I'm affected" mark, not a reply, and the text stays on the
// page to post anyway; a real question is posted; with the mode off, or
// once the incident is resolved, everything is posted.
func TestSurgeMode(t *testing.T) {
	for _, on := range []bool{true, false} {
		e := newTestEnvConfig(t, func(c *Config) { c.SurgeMode = on })
		sam, casey := e.user("sam", models.RoleStaff), e.user("casey", models.RoleCustomer)
		e.clock.Advance(48 * time.Hour)
		svc := e.service(models.NewService{Name: "Mail"})
		inc := e.incident(sam, models.NewIncident{Kind: models.KindIncident, Title: "Mail is down", Impact: "major",
			Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.MajorOutage}}})
		cookie := e.session(casey)
		path := fmt.Sprintf("/threads/%d/posts", inc.ThreadID)
		before := len(e.posts(inc.ThreadID))
		w := e.do(req{method: http.MethodPost, path: path, form: url.Values{"body": {"Same here!!"}, "submit_key": {"k1"}}, cookie: cookie})
		if !on {
			wantStatus(t, w, http.StatusSeeOther)
			if n := len(e.posts(inc.ThreadID)); n != before+1 {
				t.Errorf("surge mode off: %d posts, want %d", n, before+1)
			}
			continue
		}
		wantStatus(t, w, http.StatusOK)
		mustContain(t, "the counted reply's page", w.Body.String(), "You are counted as affected", ">Same here!!</textarea>", "Post it anyway")
		if n := len(e.posts(inc.ThreadID)); n != before {
			t.Fatalf("a bare \"same here\" was posted: %d posts", n)
		}
		if marks, err := e.store.MarksOn(t.Context(), casey, inc.ThreadID); err != nil || !marks.Affected {
			t.Fatalf("not marked affected: %+v %v", marks, err)
		}
		// One click posts it anyway.
		w = e.do(req{method: http.MethodPost, path: path, form: url.Values{"body": {"Same here!!"}, "submit_key": {"k1"}, "post_anyway": {"1"}}, cookie: cookie})
		wantStatus(t, w, http.StatusSeeOther)
		if n := len(e.posts(inc.ThreadID)); n != before+1 {
			t.Errorf("post anyway: %d posts", n)
		}
		// A question is a reply.
		e.clock.Advance(time.Minute)
		w = e.do(req{method: http.MethodPost, path: path, form: url.Values{"body": {"Same here, is there a workaround?"}, "submit_key": {"k2"}}, cookie: cookie})
		wantStatus(t, w, http.StatusSeeOther)
		// Staff saying "+1" mean it; a resolved incident is a normal thread.
		w = e.do(req{method: http.MethodPost, path: path, form: url.Values{"body": {"+1"}, "submit_key": {"k3"}}, cookie: e.session(sam)})
		wantStatus(t, w, http.StatusSeeOther)
		e.clock.Advance(time.Minute)
		e.must(http.StatusCreated, req{method: http.MethodPost, path: fmt.Sprintf("/api/v1/incidents/%d/updates", inc.ID), bearer: e.token(sam),
			json: `{"status":"resolved","body":"Fixed."}`})
		w = e.do(req{method: http.MethodPost, path: path, form: url.Values{"body": {"me too"}, "submit_key": {"k4"}}, cookie: cookie})
		if w.Code != http.StatusSeeOther || strings.Contains(w.Body.String(), "counted as affected") {
			t.Errorf("after the resolution: %d", w.Code)
		}
	}
}
