package models

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"sitrep/models/testdb"
)

// instances opens n stores on one fresh PostgreSQL database, as n
// instances of Sitrep would, migrated by the first. Skipped without
// PostgreSQL.
func instances(t *testing.T, n int) []*Store {
	t.Helper()
	dsn := testdb.Fresh(t, testdb.Postgres(t))
	var out []*Store
	for range n {
		s, err := Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.PasswordCost = bcrypt.MinCost
		out = append(out, s)
	}
	if _, err := out[0].Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChangesReachEveryInstance: a write with an event on one instance
// wakes the readers of another at once, through LISTEN/NOTIFY.
func TestChangesReachEveryInstance(t *testing.T) {
	st := instances(t, 2)
	changes, stop := st[1].Changes()
	defer stop()
	alice := mustUser(t, st[0], "alice", RoleCustomer)
	// Once the second instance's listener is up (it starts with the store)...
	mustThread(t, st[0], alice, "Warming up", "Once.")
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("the second instance was never woken")
	}
	// ...a write on the first wakes it at once.
	advance(st[0], time.Hour) // past the posting interval
	start := time.Now()
	mustThread(t, st[0], alice, "Mail is down", "Since nine.")
	select {
	case <-changes:
		if d := time.Since(start); d > time.Second {
			t.Errorf("woken after %v", d)
		}
	case <-time.After(time.Second):
		t.Fatal("a thread started on one instance did not wake the other within 1 s")
	}
}

// TestJobsClaimedOnceAcrossInstances: three instances claiming at once
// never hold the same job.
func TestJobsClaimedOnceAcrossInstances(t *testing.T) {
	st := instances(t, 3)
	ctx := context.Background()
	const jobs = 60
	for i := range jobs {
		if err := st[0].Enqueue(ctx, "k", map[string]int{"i": i}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for _, s := range st {
		for range 3 {
			wg.Go(func() {
				for {
					got, err := s.ClaimJobs(ctx, 4, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						claimed[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(claimed) != jobs {
		t.Errorf("%d of %d jobs claimed", len(claimed), jobs)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}

// TestInstancesMigrateAtOnce: instances started together on an empty
// database each migrate it; every step runs once.
func TestInstancesMigrateAtOnce(t *testing.T) {
	dsn := testdb.Fresh(t, testdb.Postgres(t))
	var wg sync.WaitGroup
	applied := make(chan int, 3)
	for range 3 {
		s, err := Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		wg.Go(func() {
			n, err := s.Migrate(context.Background())
			if err != nil {
				t.Error(err)
			}
			applied <- n
		})
	}
	wg.Wait()
	close(applied)
	total := 0
	for n := range applied {
		total += n
	}
	if total != len(migrations) {
		t.Errorf("three instances applied %d steps in all, want %d", total, len(migrations))
	}
}
