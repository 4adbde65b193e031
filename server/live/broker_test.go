package live

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"sitrep/models"
)

// newStore is a migrated database in the test's directory with a staff
// member and a customer whose account is old enough to post freely.
func newStore(t *testing.T) (s *models.Store, staff, cust *models.User, clock *time.Time) {
	t.Helper()
	s, err := models.Open(filepath.Join(t.TempDir(), "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	clock = &now
	s.Now = func() time.Time { return *clock }
	s.PasswordCost = bcrypt.MinCost
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	user := func(name string, role models.Role) *models.User {
		u, err := s.CreateUser(context.Background(), models.NewUser{Name: name, Email: name + "@example.com",
			Password: "long enough password", Role: role, AllowReserved: true})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	staff, cust = user("sam", models.RoleStaff), user("casey", models.RoleCustomer)
	*clock = clock.Add(72 * time.Hour)
	return s, staff, cust, clock
}

// next waits for a stream's next message, or fails after a generous while.
func next(t *testing.T, sub *Sub) Message {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok {
			t.Fatal("the stream was closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no message on %+v", sub.Topic)
	}
	return Message{}
}

// none checks that a stream got nothing.
func none(t *testing.T, sub *Sub) {
	t.Helper()
	select {
	case m := <-sub.C:
		t.Errorf("%+v got %s %s", sub.Topic, m.Event, m.Data)
	default:
	}
}

// Each event reaches the streams of its topic only: a reply the thread's,
// an incident its thread's and the status stream.
func TestBrokerAddressesEachStream(t *testing.T) {
	s, staff, cust, clock := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mine, _, err := s.CreateThread(ctx, cust, models.NewThread{Title: "Mail is slow", Body: "Since nine."})
	if err != nil {
		t.Fatal(err)
	}
	*clock = clock.Add(time.Hour)
	other, _, err := s.CreateThread(ctx, cust, models.NewThread{Title: "Invoices", Body: "Wrong totals."})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBroker(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 10)
	purged := make(chan struct{}, 10)
	b.OnPurge = func() { purged <- struct{}{} }
	subs := map[string]*Sub{}
	for name, topic := range map[string]Topic{"mine": {ThreadID: mine.ID}, "other": {ThreadID: other.ID}, "status": {Status: true}} {
		if subs[name], err = b.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // Run reads its starting point first

	*clock = clock.Add(time.Minute)
	p, _, err := s.CreateReply(ctx, staff, mine.ID, models.NewPost{Body: "We are **on it**."})
	if err != nil {
		t.Fatal(err)
	}
	m := next(t, subs["mine"])
	var post PostData
	if err := json.Unmarshal(m.Data, &post); err != nil || m.Event != "post" || post.ID != p.ID || post.Role != models.RoleStaff ||
		post.BodyHTML != "<p>We are <strong>on it</strong>.</p>\n" {
		t.Errorf("the reply arrived as %s %s (%v)", m.Event, m.Data, err)
	}
	svc, err := s.CreateService(ctx, nil, models.NewService{Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	for len(purged) > 0 { // the catalogue's change
		<-purged
	}
	inc, err := s.DeclareIncident(ctx, staff, models.NewIncident{Kind: models.KindIncident, Title: "Mail delayed", Impact: "minor",
		Status: models.StatusInvestigating, Body: "Looking.", Services: []models.ServiceChange{{ServiceID: svc.ID, Status: models.PartialOutage}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if m = next(t, subs["status"]); m.Event != "status" {
			t.Fatalf("the status stream got %s", m.Event)
		}
		var st StatusData
		if err := json.Unmarshal(m.Data, &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Incidents) == 1 { // an earlier one may tell of the new service
			if st.Incidents[0].IncidentID != inc.ID {
				t.Errorf("the status names incident %d, want %d", st.Incidents[0].IncidentID, inc.ID)
			}
			break
		}
	}
	select {
	case <-purged:
	case <-time.After(10 * time.Second):
		t.Error("an official change did not purge the caches")
	}
	none(t, subs["mine"])
	none(t, subs["other"])
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A stream that does not keep up is dropped, not waited for; the bound on
// streams holds; Close ends them all.
func TestBrokerBoundsStreams(t *testing.T) {
	s, _, _, _ := newStore(t)
	ctx := context.Background()
	b := NewBroker(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 2)
	slow, err := b.Subscribe(Topic{Status: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Subscribe(Topic{ThreadID: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(Topic{Status: true}); !errors.Is(err, ErrFull) {
		t.Fatalf("a third stream: %v, want ErrFull", err)
	}
	for id := int64(1); id <= subBuffer+1; id++ {
		if err := b.send(ctx, []models.Event{{ID: id, Kind: models.EventStatus}}); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for range slow.C {
		got++
	}
	if got != subBuffer || b.Streams() != 1 {
		t.Errorf("the slow stream got %d messages before it was dropped (want %d); %d streams open", got, subBuffer, b.Streams())
	}
	if _, err := b.Subscribe(Topic{Status: true}); err != nil {
		t.Errorf("a stream in the dropped one's place: %v", err)
	}
	b.Close()
	if _, ok := <-other.C; ok {
		t.Error("Close left a stream open")
	}
	if _, err := b.Subscribe(Topic{Status: true}); !errors.Is(err, ErrFull) {
		t.Errorf("a stream after Close: %v, want ErrFull", err)
	}
}

// Events may commit out of id order (PostgreSQL): the broker waits a while
// for a missing id, then goes on without it.
func TestBrokerWaitsForGaps(t *testing.T) {
	ids := func(es []models.Event) (out []int64) {
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	events := func(ids ...int64) (out []models.Event) {
		for _, id := range ids {
			out = append(out, models.Event{ID: id})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		cursor int64
		events []models.Event
		seen   map[int64]time.Duration // how long ago each gap (by its first missing id) was first seen
		want   []int64
	}{
		{"in order", 3, events(4, 5, 6), nil, []int64{4, 5, 6}},
		{"up to a gap", 3, events(4, 5, 7, 8), nil, []int64{4, 5}},
		{"a gap first", 5, events(7, 8), nil, nil},
		{"a gap seen a second ago", 5, events(7, 8), map[int64]time.Duration{6: time.Second}, nil},
		{"a gap seen too long ago", 5, events(7, 8), map[int64]time.Duration{6: 3 * time.Second}, []int64{7, 8}},
		{"gaps seen together, too long ago", 5, events(7, 9, 12), map[int64]time.Duration{6: 3 * time.Second, 8: 3 * time.Second, 10: 3 * time.Second}, []int64{7, 9, 12}},
		{"an old gap, then a new one", 5, events(7, 9), map[int64]time.Duration{6: 3 * time.Second}, []int64{7}},
	} {
		b := &Broker{cursor: tc.cursor, gaps: map[int64]time.Time{}}
		for id, ago := range tc.seen {
			b.gaps[id] = time.Now().Add(-ago)
		}
		if got := ids(b.inOrder(tc.events)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: delivered %v, want %v", tc.name, got, tc.want)
		}
	}
	// Gaps seen in one read are all noted then: once the first has waited
	// long enough, so have the others.
	b := &Broker{cursor: 5}
	if got := b.inOrder(events(7, 9, 11)); len(got) != 0 || len(b.gaps) != 3 {
		t.Fatalf("first read: delivered %v, noted gaps %v", ids(got), b.gaps)
	}
	for id := range b.gaps {
		b.gaps[id] = b.gaps[id].Add(-gapWait)
	}
	if got := ids(b.inOrder(events(7, 9, 11))); !slices.Equal(got, []int64{7, 9, 11}) || len(b.gaps) != 0 {
		t.Errorf("after gapWait: delivered %v, gaps left %v", got, b.gaps)
	}
}
