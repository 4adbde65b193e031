package models

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestAuditIsAppendOnly(t *testing.T) {
	f := newModFixture(t)
	ctx := WithRequestID(context.Background(), "req-42")
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	list, _ := f.s.ListAudit(context.Background(), AuditFilter{ActorID: f.mod.ID}, Page{})
	if len(list.Items) != 1 || list.Items[0].RequestID != "req-42" || list.Items[0].Actor.Name != "morgan" ||
		list.Items[0].TargetType != "post" || list.Items[0].TargetID != f.reply.ID || list.Items[0].Reason != "spam" {
		t.Fatalf("audit entry: %+v", list.Items)
	}
	if err := f.s.db.Model(&AuditEntry{}).Where("id = ?", list.Items[0].ID).Update("reason", "nothing").Error; err == nil {
		t.Fatal("an audit entry was updated")
	}
	if err := f.s.db.Delete(&AuditEntry{}, list.Items[0].ID).Error; err == nil {
		t.Fatal("an audit entry was deleted")
	}
}

// TestPostmortemAuditBeforeAfter: the entry of a first postmortem has no
// text before; a rewrite has the old text before and the new after; the
// same text published again changes nothing and is not recorded.
func TestPostmortemAuditBeforeAfter(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	inc := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	if _, err := f.s.PostUpdate(ctx, f.staff, inc.ID, NewUpdate{Status: StatusResolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	type change struct{ before, after string }
	entries := func() []change {
		list, err := f.s.ListAudit(ctx, AuditFilter{Action: "incident.postmortem"}, Page{})
		if err != nil {
			t.Fatal(err)
		}
		var out []change
		for _, e := range list.Items {
			out = append([]change{{e.Before, e.After}}, out...) // oldest first
		}
		return out
	}
	for i, tc := range []struct {
		text string
		want []change
	}{
		{"A disk filled up.", []change{{"", "A disk filled up."}}},
		{"A disk filled up.", []change{{"", "A disk filled up."}}},
		{"A log disk filled up.", []change{{"", "A disk filled up."}, {"A disk filled up.", "A log disk filled up."}}},
	} {
		advance(f.s, time.Minute)
		got, err := f.s.SetPostmortem(ctx, f.staff, inc.ID, tc.text)
		if err != nil || got.Postmortem != tc.text {
			t.Fatalf("postmortem %d: %v %q", i, err, got.Postmortem)
		}
		if e := entries(); !slices.Equal(e, tc.want) {
			t.Errorf("after postmortem %d the entries are %q, want %q", i, e, tc.want)
		}
	}
}

// TestAuditNamesTargets: each entry names what it acted on (a person by
// name, a thread or incident by title, a post by its thread's title, a
// service by name).
func TestAuditNamesTargets(t *testing.T) {
	f := newModFixture(t)
	ctx := context.Background()
	if _, err := f.s.HidePost(ctx, f.mod, f.reply.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetLocked(ctx, f.mod, f.thread.ID, true, "heated"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SanctionUser(ctx, f.mod, f.bob.ID, SanctionWarning, "no ads", nil); err != nil {
		t.Fatal(err)
	}
	svc, err := f.s.CreateService(ctx, f.admin, NewService{Name: "Calendar"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.s.ListAudit(ctx, AuditFilter{}, Page{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range list.Items {
		got[fmt.Sprintf("%s %d", e.TargetType, e.TargetID)] = e.TargetName
	}
	for target, want := range map[string]string{
		fmt.Sprintf("post %d", f.reply.ID): "Mail is down", fmt.Sprintf("thread %d", f.thread.ID): "Mail is down",
		fmt.Sprintf("user %d", f.bob.ID): "bob", fmt.Sprintf("service %d", svc.ID): "Calendar",
	} {
		if got[target] != want {
			t.Errorf("%s is named %q, want %q (all: %v)", target, got[target], want, got)
		}
	}
}
