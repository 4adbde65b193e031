// Package live tells open pages what changed, as Server-Sent Events: a
// thread's new and changed posts and its incident, the dashboard's status,
// a person's notifications.
//
// Changes come from the database's events table (an outbox written in the
// transaction of each change), so an event committed by any instance
// reaches the streams held by every instance. Each instance's Broker reads
// each event once and builds its message once, whatever the number of
// streams waiting for it: a post read by two thousand people costs one
// query, not two thousand.
package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"sitrep/models"
)

// Message is one event as a stream sends it.
type Message struct {
	ID    int64  // the event's id (the stream's "id:")
	Event string // "post", "thread", "incident", "status", "notification"
	Data  []byte // JSON
}

// Topic is what a stream listens to: one thread, the status, or one
// person's notifications.
type Topic struct {
	ThreadID int64
	Status   bool
	UserID   int64 // notifications
}

// Sub is one open stream.
type Sub struct {
	Topic Topic
	// C carries the stream's messages; it is closed when the broker drops
	// a stream that does not keep up (the client reconnects with
	// Last-Event-ID and catches up from the database).
	C chan Message
}

// ErrFull refuses a stream past the bound on open streams.
var ErrFull = errors.New("too many open streams")

// subBuffer is how many messages a stream may fall behind before it is
// dropped.
const subBuffer = 64

// gapWait is how long the broker waits for an event id below the newest it
// has read: on PostgreSQL, transactions commit out of id order, and an
// event read too early would be skipped for good. A gap older than this is
// an id that was never committed (a transaction rolled back, or one that
// collided with another and ran again: on a busy PostgreSQL there are many,
// and each waits from when it was first seen, not one after the other).
const gapWait = 2 * time.Second

// pollEvery reads the events table even without a wake-up, for changes
// made by another process.
const pollEvery = time.Second

// Broker fans events out to the streams of this instance.
type Broker struct {
	store *models.Store
	log   *slog.Logger
	max   int
	// OnPurge is called for an event that asks caches to purge.
	OnPurge func()

	mu   sync.Mutex
	subs map[*Sub]struct{}
	n    int

	cursor int64               // the newest event delivered
	gaps   map[int64]time.Time // when each gap after cursor (by its first missing id) was first seen
}

// NewBroker makes a broker that holds at most max streams.
func NewBroker(store *models.Store, log *slog.Logger, max int) *Broker {
	return &Broker{store: store, log: log, max: max, subs: map[*Sub]struct{}{}}
}

// Streams is the number of open streams.
func (b *Broker) Streams() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Subscribe opens a stream on topic, or refuses with ErrFull.
func (b *Broker) Subscribe(t Topic) (*Sub, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n >= b.max {
		return nil, ErrFull
	}
	s := &Sub{Topic: t, C: make(chan Message, subBuffer)}
	b.subs[s] = struct{}{}
	b.n++
	return s, nil
}

// Close ends every stream and refuses new ones, so that a server shutting
// down is not held up by connections that never go idle; clients reconnect
// to another instance.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		delete(b.subs, s)
		close(s.C)
	}
	b.n, b.max = 0, 0
}

// Unsubscribe closes a stream.
func (b *Broker) Unsubscribe(s *Sub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		b.n--
		close(s.C)
	}
}

// Run delivers events until ctx ends: after every write this instance
// makes (the store's change signal, which PostgreSQL's NOTIFY also feeds)
// and at least every pollEvery.
func (b *Broker) Run(ctx context.Context) error {
	cursor, err := b.store.LastEventID(ctx)
	if err != nil {
		return err
	}
	b.cursor = cursor
	changes, stop := b.store.Changes()
	defer stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := b.deliver(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("live: delivering events", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
		case <-tick.C:
		}
	}
}

// deliver reads the events after the cursor, in batches, and sends each to
// the streams that listen to it.
func (b *Broker) deliver(ctx context.Context) error {
	for {
		events, err := b.store.EventsAfter(ctx, b.cursor, 500)
		if err != nil {
			return err
		}
		ready := b.inOrder(events)
		if len(ready) == 0 {
			return nil
		}
		if err := b.send(ctx, ready); err != nil {
			return err
		}
		b.cursor = ready[len(ready)-1].ID
		if len(ready) < len(events) || len(events) < 500 {
			return nil
		}
	}
}

// inOrder keeps the events that follow the cursor without a gap, or after
// gaps first seen more than gapWait ago.
func (b *Broker) inOrder(events []models.Event) []models.Event {
	if b.gaps == nil {
		b.gaps = map[int64]time.Time{}
	}
	now := time.Now()
	next := b.cursor + 1
	ready := events
	for i, e := range events {
		if e.ID != next {
			// Every gap in the batch is noted, the later ones too, so
			// that gaps seen together expire together.
			seen, ok := b.gaps[next]
			if !ok {
				b.gaps[next] = now
				seen = now
			}
			if now.Sub(seen) < gapWait && len(ready) == len(events) {
				ready = events[:i]
			}
		}
		next = e.ID + 1
	}
	if len(ready) > 0 {
		last := ready[len(ready)-1].ID
		for id := range b.gaps {
			if id <= last {
				delete(b.gaps, id)
			}
		}
	}
	return ready
}

// send builds the messages of a batch of events once and hands each to its
// streams.
func (b *Broker) send(ctx context.Context, events []models.Event) error {
	b.mu.Lock()
	users := map[int64]bool{}
	for s := range b.subs {
		if s.Topic.UserID != 0 {
			users[s.Topic.UserID] = true
		}
	}
	b.mu.Unlock()
	msgs, err := build(ctx, b.store, events, users)
	if err != nil {
		return err
	}
	purge := false
	for _, e := range events {
		purge = purge || e.Purge
	}
	if purge && b.OnPurge != nil {
		b.OnPurge()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		for s := range b.subs {
			if !m.to(s.Topic) {
				continue
			}
			select {
			case s.C <- m.Message:
			default:
				// Too far behind: drop the stream rather than hold the
				// others up or buffer without end.
				delete(b.subs, s)
				b.n--
				close(s.C)
			}
		}
	}
	return nil
}

// Replay is what a stream that reconnects with Last-Event-ID missed on its
// topic since after, oldest first.
func (b *Broker) Replay(ctx context.Context, t Topic, after int64) ([]Message, error) {
	var events []models.Event
	switch {
	case t.ThreadID != 0:
		var err error
		if events, err = b.store.ThreadEventsAfter(ctx, t.ThreadID, after, 500); err != nil {
			return nil, err
		}
	case t.Status:
		e, err := b.store.LatestEvent(ctx, models.EventStatus, after)
		if err != nil || e == nil {
			return nil, err
		}
		events = []models.Event{*e}
	case t.UserID != 0:
		return replayNotifications(ctx, b.store, t.UserID, after)
	}
	msgs, err := build(ctx, b.store, events, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		if m.to(t) {
			out = append(out, m.Message)
		}
	}
	return out, nil
}
