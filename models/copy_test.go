package models

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCopy: a site's every table moves to an empty database (PostgreSQL
// when the tests run on it), ids kept, its search working there and new
// rows numbered after the copied ones; a database with data is refused, as
// is a source of another schema version.
func TestCopy(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	mod := mustUser(t, f.s, "mia", RoleModerator)
	inc := f.declare(t, ServiceChange{f.mail.ID, PartialOutage})
	alice := oldUser(t, f.s, "alice")
	a := mustThread(t, f.s, alice, "Mail is down", "Nothing arrives since nine.")
	advance(f.s, time.Minute)
	b := mustThread(t, f.s, alice, "Mail down too", "Same here.")
	if _, err := f.s.MergeThread(ctx, mod, b.ID, a.ID, "same problem"); err != nil {
		t.Fatal(err)
	}

	to := openStore(t)
	n, err := f.s.CopyTo(ctx, to)
	if err != nil || n == 0 {
		t.Fatalf("copy: %d rows, %v", n, err)
	}
	for _, m := range tables {
		sch, err := modelSchema(f.s.db, m)
		if err != nil {
			t.Fatal(err)
		}
		var from, got int64
		f.s.db.Model(m).Count(&from)
		to.db.Model(m).Count(&got)
		if from != got {
			t.Errorf("table %s: %d rows copied of %d", sch.Table, got, from)
		}
	}
	var links Thread
	if err := to.db.First(&links, b.ID).Error; err != nil || links.MergedIntoID == nil || *links.MergedIntoID != a.ID {
		t.Errorf("merged thread after the copy: %+v %v", links, err)
	}
	if got, err := to.IncidentByID(ctx, inc.ID); err != nil || got.Title != inc.Title {
		t.Errorf("incident after the copy: %+v %v", got, err)
	}
	if r, err := to.Search(ctx, "arriving", nil, Page{}); err != nil || len(r.Items) != 1 || r.Items[0].ThreadID != a.ID {
		t.Errorf("search after the copy: %+v %v", r.Items, err)
	}
	bob := mustUser(t, to, "bob", RoleCustomer)
	if bob.ID <= alice.ID {
		t.Errorf("a new account after the copy has id %d, not after %d", bob.ID, alice.ID)
	}

	if _, err := f.s.CopyTo(ctx, to); err == nil || !strings.Contains(err.Error(), "already has data") {
		t.Errorf("copy into a database with data: %v", err)
	}
	old := openStore(t)
	all := migrations
	migrations = all[:len(all)-1]
	_, err = old.Migrate(ctx)
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.CopyTo(ctx, openStore(t)); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Errorf("copy from an older schema: %v", err)
	}
}
