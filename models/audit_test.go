package models

import (
	"context"
	"testing"
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
