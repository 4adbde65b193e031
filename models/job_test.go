package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestJobsAreClaimedOnceAndLeased: a claimed job is not claimed again until
// its lease runs out; a retried job waits until it is due; DoJob deletes the
// job with the work, and does nothing for a job done meanwhile.
func TestJobsAreClaimedOnceAndLeased(t *testing.T) {
	s := newTestStore(t)
	setClock(s, time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	ctx := context.Background()
	for _, kind := range []string{"a", "b"} {
		if err := s.Enqueue(ctx, kind, map[string]string{"k": kind}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(ctx, "later", nil, s.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 2 || jobs[0].Kind != "a" || jobs[0].Payload != `{"k":"a"}` || jobs[0].Attempts != 1 {
		t.Fatalf("first claim: %+v %v", jobs, err)
	}
	if again, _ := s.ClaimJobs(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	// A worker that died: the lease runs out and the job is claimed again.
	advance(s, 61*time.Second)
	jobs, _ = s.ClaimJobs(ctx, 10, time.Minute)
	if len(jobs) != 2 || jobs[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v", jobs)
	}
	if err := s.RetryJob(ctx, jobs[0].ID, s.now().Add(10*time.Minute), "connection refused"); err != nil {
		t.Fatal(err)
	}
	ran := 0
	if err := s.DoJob(ctx, jobs[1].ID, func(*Tx) error { ran++; return nil }); err != nil || ran != 1 {
		t.Fatalf("do: %d %v", ran, err)
	}
	if err := s.DoJob(ctx, jobs[1].ID, func(*Tx) error { ran++; return nil }); err != nil || ran != 1 {
		t.Fatalf("done twice: %d %v", ran, err)
	}
	// A failing job's work is rolled back and the job stays.
	advance(s, time.Hour)
	jobs, _ = s.ClaimJobs(ctx, 10, time.Minute)
	if len(jobs) != 2 || jobs[0].LastError != "connection refused" {
		t.Fatalf("retried and later jobs: %+v", jobs)
	}
	boom := errors.New("boom")
	if err := s.DoJob(ctx, jobs[0].ID, func(tx *Tx) error {
		if err := tx.Enqueue("follow-up", nil, time.Time{}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing job: %v", err)
	}
	var n int64
	s.db.Model(&Job{}).Count(&n)
	if n != 2 {
		t.Errorf("%d jobs after a failed one, want the 2 claimed (no follow-up)", n)
	}
}

// TestWritesEmitEvents: each change leaves the events its readers need, in
// its own transaction, and wakes the waiting readers.
func TestWritesEmitEvents(t *testing.T) {
	f := newIncidentFixture(t)
	ctx := context.Background()
	changes, stop := f.s.Changes()
	defer stop()
	last, _ := f.s.LastEventID(ctx)
	inc := f.declare(t, ServiceChange{ServiceID: f.mail.ID, Status: MajorOutage})
	<-changes
	events, err := f.s.EventsAfter(ctx, last, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
		if e.Kind != EventStatus && (e.ThreadID == nil || *e.ThreadID != inc.ThreadID) {
			t.Errorf("%s event on thread %v, want %d", e.Kind, e.ThreadID, inc.ThreadID)
		}
		if !e.Purge {
			t.Errorf("%s event of an official change does not purge", e.Kind)
		}
	}
	if len(kinds) != 3 || kinds[0] != EventPost || kinds[1] != EventIncident || kinds[2] != EventStatus {
		t.Fatalf("declaring an incident: %v", kinds)
	}
	last = events[len(events)-1].ID
	cust := oldUser(t, f.s, "casey")
	p, _, err := f.s.CreateReply(ctx, cust, inc.ThreadID, NewPost{Body: "Same here"})
	if err != nil {
		t.Fatal(err)
	}
	events, _ = f.s.ThreadEventsAfter(ctx, inc.ThreadID, last, 100)
	if len(events) != 1 || events[0].Kind != EventPost || *events[0].PostID != p.ID || events[0].Purge {
		t.Fatalf("a customer's reply: %+v", events)
	}
	if e, _ := f.s.LatestEvent(ctx, EventStatus, 0); e == nil || e.ID >= events[0].ID {
		t.Errorf("latest status event: %+v", e)
	}
	// Events older than the retention go.
	advance(f.s, EventRetention+time.Minute)
	if n, err := f.s.PruneEvents(ctx); err != nil || n < 4 {
		t.Errorf("pruned %d %v", n, err)
	}
}

// TestClaimWakesNobody: claiming, retrying and ending jobs give readers
// nothing new, so they do not wake them (a worker woken by its own claim
// would poll without pause); writing a job does.
func TestClaimWakesNobody(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	changes, stop := s.Changes()
	defer stop()
	woken := func() bool {
		select {
		case <-changes:
			return true
		default:
			return false
		}
	}
	if err := s.Enqueue(ctx, "a", nil, time.Time{}); err != nil || !woken() {
		t.Fatalf("a new job woke nobody: %v", err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	if err := s.RetryJob(ctx, jobs[0].ID, s.now().Add(time.Minute), "later"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishJob(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if woken() {
		t.Error("claiming, retrying or ending a job woke the readers")
	}
}
