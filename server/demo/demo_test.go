package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sitrep/models"
)

// TestLoadTellsTheStory loads the demo into a new database and reads the
// story back.
func TestLoadTellsTheStory(t *testing.T) {
	store, err := models.Open(filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := Load(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range demoUsers {
		got, err := store.Authenticate(ctx, u.name, Password)
		if err != nil || got.Role != u.role {
			t.Errorf("demo user %s: %+v %v", u.name, got, err)
		}
	}
	services, _ := store.ListServices(ctx)
	if len(services) != len(demoServices) {
		t.Errorf("%d services, want %d", len(services), len(demoServices))
	}
	// The story: the mail outage resolved today from investigating with
	// kept promises and linked complaints, pinned in the forum; its fallout
	// still open with a promise; a resolved incident with a postmortem;
	// maintenance done and planned; a spam post in the queue.
	open := true
	incidents, _ := store.ListIncidents(ctx, models.IncidentFilter{Kind: models.KindIncident, Open: &open}, models.Page{})
	if len(incidents.Items) != 1 || incidents.Items[0].Status != models.StatusIdentified || incidents.Items[0].NextUpdateAt == nil ||
		incidents.Items[0].Overdue(time.Now()) != 0 {
		t.Fatalf("open incidents: %+v", incidents.Items)
	}
	fallout := incidents.Items[0]
	if linked, _ := store.LinkedThreads(ctx, &fallout); len(linked) != 1 {
		t.Errorf("%d threads linked to the open incident, want 1", len(linked))
	}
	all, _ := store.ListIncidents(ctx, models.IncidentFilter{}, models.Page{})
	if len(all.Items) != 5 {
		t.Errorf("%d incidents and maintenance windows, want 5", len(all.Items))
	}
	var outage *models.Incident
	for i, inc := range all.Items {
		if strings.HasPrefix(inc.Title, "Outgoing mail failing") {
			outage = &all.Items[i]
		}
	}
	if outage == nil || outage.Status != models.StatusResolved || outage.ResolvedAt == nil || time.Since(*outage.ResolvedAt) > 6*time.Hour {
		t.Fatalf("the mail outage is not resolved today: %+v", outage)
	}
	ups, _ := store.IncidentUpdates(ctx, nil, 0, outage.ID)
	var statuses []string
	for _, u := range ups {
		statuses = append(statuses, u.Status)
	}
	if strings.Join(statuses, " ") != "resolved monitoring identified investigating" {
		t.Errorf("the outage's updates, newest first: %v", statuses)
	}
	for _, u := range ups[1:] {
		if u.NextUpdateAt == nil {
			t.Errorf("update %q made no promise", u.Status)
		}
	}
	if linked, _ := store.LinkedThreads(ctx, outage); len(linked) != 1 {
		t.Errorf("%d threads linked to the outage, want 1", len(linked))
	}
	if counts, _ := store.AffectedCounts(ctx, outage.ID); counts[outage.ID] < 3 {
		t.Errorf("%d affected by the outage", counts[outage.ID])
	}
	threads, _ := store.ListThreads(ctx, models.ThreadFilter{}, models.Page{})
	if len(threads.Items) == 0 || threads.Items[0].ID != outage.ThreadID || !threads.Items[0].Pinned || threads.Items[0].PinnedUntil == nil {
		t.Errorf("the outage is not pinned, for the day, on top of the forum")
	}
	if flags, _ := store.FlagQueue(ctx, false, models.Page{}); len(flags.Items) != 1 {
		t.Errorf("%d flagged posts in the queue, want 1", len(flags.Items))
	}
	subs, _ := store.ListSubscriptions(ctx, models.Page{}, 0)
	kinds := map[string]int{}
	for _, sub := range subs.Items {
		if sub.State != models.SubscriptionActive {
			t.Errorf("demo subscription %d is %s", sub.ID, sub.State)
		}
		kinds[sub.Kind]++
	}
	if kinds[models.SubscriptionEmail] != 2 || kinds[models.SubscriptionWebhook] != 1 {
		t.Errorf("demo subscriptions: %v", kinds)
	}
	if err := Load(ctx, store); err != ErrNotEmpty {
		t.Errorf("loading twice: %v", err)
	}
}
