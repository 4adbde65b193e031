package models

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestTakeCountsInWindows(t *testing.T) {
	s := newTestStore(t)
	now := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	take := func(key string) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := s.Take(ctx, key, 3, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok, retry
	}
	for i := range 3 {
		if ok, _ := take("a"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		now = now.Add(time.Minute)
	}
	ok, retry := take("a")
	if ok || retry != 7*time.Minute {
		t.Fatalf("fourth attempt: ok %v, retry %v; want refused for 7m", ok, retry)
	}
	if ok, _ := take("b"); !ok {
		t.Fatal("another key is refused")
	}
	// Undo gives one back; refused attempts count too, so it takes two.
	for range 2 {
		if err := s.Undo(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := take("a"); !ok {
		t.Fatal("refused after two attempts were given back")
	}
	if ok, _ := take("a"); ok {
		t.Fatal("not refused again")
	}
	// Reset forgets the key; a window that ended starts afresh.
	if err := s.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take("a"); !ok {
		t.Fatal("refused after a reset")
	}
	for range 3 {
		take("b")
	}
	now = now.Add(10 * time.Minute)
	if ok, _ := take("b"); !ok {
		t.Fatal("refused in a new window")
	}
	// Pruning deletes the windows that ended, and only those.
	now = now.Add(9 * time.Minute)
	n, err := s.PruneLimits(ctx)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1 (key a)", n, err)
	}
	var keys []string
	s.db.Model(&Limit{}).Pluck("key", &keys)
	if len(keys) != 1 || keys[0] != "b" {
		t.Fatalf("left %v, want [b]", keys)
	}
}

// TestTakeConcurrent: attempts sent at the same moment are counted one
// after the other, so exactly max of them go ahead.
func TestTakeConcurrent(t *testing.T) {
	s := newTestStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 40 {
		wg.Go(func() {
			ok, _, err := s.Take(context.Background(), "k", 5, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d of 40 concurrent attempts went ahead, want 5", allowed)
	}
}
