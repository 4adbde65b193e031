package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// TestReportSuggestions: "Report a problem" honours the chosen service,
// ignores common words, asks about incidents resolved lately and labels
// maintenance that has not started, offering no "I'm affected" on it.
func TestReportSuggestions(t *testing.T) {
	e := newTestEnv(t)
	f := newIncidentFixture(e)
	ctx := context.Background()
	calendar := e.service(models.NewService{Name: "Calendar", Position: 3})
	mailInc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delivery failing",
		Impact: "major", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: f.mail.ID, Status: models.MajorOutage}}})
	calInc := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Calendar sync failing",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: calendar.ID, Status: models.DegradedPerformance}}})
	from, until := e.clock.Now().Add(24*time.Hour), e.clock.Now().Add(26*time.Hour)
	window := e.incident(f.staff, models.NewIncident{Kind: models.KindMaintenance, Title: "Calendar storage upgrade",
		Body: "Planned.", ScheduledFor: &from, ScheduledUntil: &until,
		Services: []models.ServiceChange{{ServiceID: calendar.ID, Status: models.UnderMaintenance}}})
	old := e.incident(f.staff, models.NewIncident{Kind: models.KindIncident, Title: "Calendar invites lost",
		Impact: "minor", Status: models.StatusInvestigating, Body: "Looking.",
		Services: []models.ServiceChange{{ServiceID: calendar.ID, Status: models.PartialOutage}}})
	if _, err := e.store.PostUpdate(ctx, f.staff, old.ID, models.NewUpdate{Status: models.StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	thread := func(id int64) string { return fmt.Sprintf(`<a href="/threads/%d">`, id) }
	affectedForm := func(id int64) string { return fmt.Sprintf(`action="/threads/%d/affected"`, id) }
	for _, tc := range []struct {
		name, path   string
		want, absent []string
	}{
		{"the chosen service only", fmt.Sprintf("/report?service=%d&title=failing", f.mail.ID),
			[]string{thread(mailInc.ThreadID), affectedForm(mailInc.ThreadID)}, []string{thread(calInc.ThreadID)}},
		{"the service's incidents whatever the words", fmt.Sprintf("/report?service=%d&title=printer+on+fire", calendar.ID),
			[]string{thread(calInc.ThreadID), thread(window.ThreadID), thread(old.ThreadID)}, []string{thread(mailInc.ThreadID)}},
		{"common words find nothing", "/report?title=it+is+not+working+please+help",
			[]string{"Nobody reported this yet"}, []string{"Is it one of these?"}},
		{"any service", "/report?title=failing", []string{thread(mailInc.ThreadID), thread(calInc.ThreadID)}, nil},
		{"resolved lately: still affected?", "/report?title=invites",
			[]string{thread(old.ThreadID), "Resolved 2 h ago: still affected?", fmt.Sprintf(`<a href="/threads/%d#reply">Tell us there</a>`, old.ThreadID)},
			[]string{affectedForm(old.ThreadID)}},
		{"maintenance not started", "/report?title=storage+upgrade",
			[]string{`<span class="official-label">Maintenance</span> <strong>Planned from`, "This planned work has not started"},
			[]string{affectedForm(window.ThreadID)}},
	} {
		page := e.page(tc.path, f.custCk)
		mustContain(t, tc.name, page, tc.want...)
		for _, s := range tc.absent {
			if strings.Contains(page, s) {
				t.Errorf("%s: %q should not be there", tc.name, s)
			}
		}
	}
	// Ordered as a customer needs them: the incidents going on, then the
	// planned work, then the one resolved.
	page := e.page(fmt.Sprintf("/report?service=%d&title=calendar", calendar.ID), f.custCk)
	if a, b, c := strings.Index(page, thread(calInc.ThreadID)), strings.Index(page, thread(window.ThreadID)), strings.Index(page, thread(old.ThreadID)); a < 0 || a > b || b > c {
		t.Errorf("order of the suggestions: %d, %d, %d", a, b, c)
	}
}
