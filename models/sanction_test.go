package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSanctionRules(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	other := mustUser(t, f.s, "mira", RoleModerator)
	until := f.s.now().Add(24 * time.Hour)
	for _, tt := range []struct {
		name   string
		actor  *User
		target *User
	}{
		{"moderator on moderator", f.mod, other},
		{"moderator on admin", f.mod, f.admin},
		{"moderator on self", f.mod, f.mod},
		{"admin on self", f.admin, f.admin},
		{"moderator on staff", f.mod, f.staff},
	} {
		for _, kind := range []string{SanctionWarning, SanctionSilence, SanctionSuspension} {
			if _, err := f.s.SanctionUser(ctx, tt.actor, tt.target.ID, kind, "because", &until); !errors.Is(err, ErrForbidden) {
				t.Errorf("%s %s: %v, want forbidden", tt.name, kind, err)
			}
		}
	}
	if _, err := f.s.SanctionUser(ctx, f.alice, f.bob.ID, SanctionWarning, "x", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer sanctions: %v", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.admin, f.staff.ID, SanctionWarning, "tone", nil); err != nil {
		t.Errorf("admin warns staff: %v", err)
	}
	// A silence and a suspension at once keep their own reasons; a shorter
	// silence cannot quietly end a longer one.
	dora := oldUser(t, f.s, "dora")
	long, brief := f.s.now().Add(48*time.Hour), f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, dora.ID, SanctionSilence, "calm down", &long); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SanctionUser(ctx, f.mod, dora.ID, SanctionSilence, "oops", &brief); !errors.Is(err, ErrConflict) {
		t.Errorf("a shorter silence over a longer one: %v, want a conflict", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.admin, dora.ID, SanctionSuspension, "spamming", &brief); err != nil {
		t.Fatal(err)
	}
	dora, _ = f.s.UserByID(ctx, dora.ID)
	var dse *SanctionedError
	if err := dora.Silenced(f.s.now()); !errors.As(err, &dse) || dse.Reason != "calm down" || !dse.Until.Equal(long) {
		t.Errorf("silence beside a suspension: %v", err)
	}
	if err := dora.Suspended(f.s.now()); !errors.As(err, &dse) || dse.Reason != "spamming" {
		t.Errorf("suspension: %v", err)
	}
	var ve *ValidationError
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionSilence, "spam", nil); !errors.As(err, &ve) {
		t.Errorf("silence without an end: %v", err)
	}
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionWarning, "", nil); !errors.As(err, &ve) {
		t.Errorf("warning without a reason: %v", err)
	}
	// Silence: reading and "affected" still work, posting does not.
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionSilence, "spam links", &until); err != nil {
		t.Fatal(err)
	}
	bob, _ := f.s.UserByID(ctx, f.bob.ID)
	var se *SanctionedError
	if _, _, err := f.s.CreateReply(ctx, bob, f.thread.ID, NewPost{Body: "more spam"}); !errors.As(err, &se) || se.Reason != "spam links" {
		t.Fatalf("silenced reply: %v", err)
	}
	if _, err := f.s.EditPost(ctx, bob, f.reply.ID, "edited spam"); !errors.As(err, &se) {
		t.Fatalf("silenced edit: %v", err)
	}
	if _, err := f.s.SetAffected(ctx, bob, f.thread.ID, true); err != nil {
		t.Fatalf("silenced affected: %v", err)
	}
	// Suspension: log-in, sessions and tokens are refused at once.
	secret, _ := f.s.CreateSession(ctx, f.carol.ID)
	_, token, _ := f.s.CreateToken(ctx, f.carol.ID, "script")
	if _, err := f.s.SanctionUser(ctx, f.admin, f.carol.ID, SanctionSuspension, "abuse", &until); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UserBySession(ctx, secret); !errors.As(err, &se) || se.Kind != SanctionSuspension {
		t.Fatalf("suspended session: %v", err)
	}
	if _, err := f.s.UserByToken(ctx, token); !errors.As(err, &se) {
		t.Fatalf("suspended token: %v", err)
	}
	if _, err := f.s.Authenticate(ctx, "carol", "long enough password"); !errors.As(err, &se) {
		t.Fatalf("suspended log-in: %v", err)
	}
	if err := f.s.LiftSanctions(ctx, f.mod, f.carol.ID, "appeal"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UserBySession(ctx, secret); err != nil {
		t.Fatalf("session after lift: %v", err)
	}
	if err := f.s.LiftSanctions(ctx, f.mod, f.carol.ID, "again"); !errors.Is(err, ErrConflict) {
		t.Fatalf("lift twice: %v", err)
	}
	// A suspension ends by itself.
	short := f.s.now().Add(time.Hour)
	if _, err := f.s.SanctionUser(ctx, f.mod, f.carol.ID, SanctionSuspension, "cool off", &short); err != nil {
		t.Fatal(err)
	}
	advance(f.s, 2*time.Hour)
	if _, err := f.s.UserBySession(ctx, secret); err != nil {
		t.Fatalf("session after the suspension ended: %v", err)
	}
	list, _ := f.s.Sanctions(ctx, f.carol.ID)
	if len(list) != 2 || list[1].LiftedAt == nil {
		t.Fatalf("sanction history: %+v", list)
	}
	// bob and dora silenced (the refused shorter silence leaves none), carol
	// and dora suspended.
	for action, n := range map[string]int{"user.silence": 2, "user.suspension": 3, "user.lift": 1} {
		if got := f.auditCount(t, action); got != n {
			t.Errorf("%s audited %d times, want %d", action, got, n)
		}
	}
}

// TestSilencedStaffSpeakNoOfficialWord: a silence stops every kind of post,
// official ones included: declaring an incident, an update, a postmortem,
// a reply, an edit. An admin lifts it in one step.
func TestSilencedStaffSpeakNoOfficialWord(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	admin := mustUser(t, f.s, "root", RoleAdmin)
	declare := NewIncident{Kind: KindIncident, Title: "Mail is slow", Impact: "minor", Status: StatusInvestigating, Body: "Looking.",
		Services: []ServiceChange{{f.mail.ID, DegradedPerformance}}}
	inc, err := f.s.DeclareIncident(ctx, f.staff, declare)
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := f.s.DeclareIncident(ctx, f.staff, declare)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PostUpdate(ctx, f.staff, resolved.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	until := f.s.now().Add(24 * time.Hour)
	if _, err := f.s.SanctionUser(ctx, admin, f.staff.ID, SanctionSilence, "posted in anger", &until); err != nil {
		t.Fatal(err)
	}
	staff, _ := f.s.UserByID(ctx, f.staff.ID)
	first := mustFirstPost(t, f.s, inc.ThreadID)
	for name, try := range map[string]func() error{
		"declare": func() error { _, err := f.s.DeclareIncident(ctx, staff, declare); return err },
		"update": func() error {
			_, err := f.s.PostUpdate(ctx, staff, inc.ID, NewUpdate{Status: StatusIdentified, Body: "Found it."})
			return err
		},
		"postmortem": func() error {
			_, err := f.s.SetPostmortem(ctx, staff, resolved.ID, "A disk filled up.")
			return err
		},
		"reply": func() error {
			_, _, err := f.s.CreateReply(ctx, staff, inc.ThreadID, NewPost{Body: "Hello"})
			return err
		},
		"edit": func() error { _, err := f.s.EditPost(ctx, staff, first.ID, "Looking hard."); return err },
	} {
		var se *SanctionedError
		if err := try(); !errors.As(err, &se) || se.Reason != "posted in anger" {
			t.Errorf("%s while silenced: %v", name, err)
		}
	}
	if err := f.s.LiftSanctions(ctx, admin, staff.ID, "a mistake"); err != nil {
		t.Fatal(err)
	}
	staff, _ = f.s.UserByID(ctx, f.staff.ID)
	if _, err := f.s.PostUpdate(ctx, staff, inc.ID, NewUpdate{Status: StatusIdentified, Body: "Found it."}); err != nil {
		t.Fatalf("after the lift: %v", err)
	}
}
