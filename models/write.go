package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// write runs fn in one write transaction and, once it has committed, wakes
// whoever waits for changes if the transaction wrote events or jobs: the
// live-update broker and the job worker read them (an event or a job is
// committed with the change that caused it, or not at all). With a
// committer (SQLite) the transaction is a savepoint in a batch committed
// with other writes (groupcommit.go); without one, its own transaction.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var wrote bool
	var err error
	if s.committer != nil {
		wrote, err = s.committer.do(ctx, fn)
	} else {
		err = s.wdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(tx.Set(wroteKey, &wrote).Session(&gorm.Session{}))
		})
	}
	if err == nil && wrote {
		s.changes.signal()
	}
	return err
}

// wroteKey marks, in a write transaction, that it wrote an event or a job.
const wroteKey = "sitrep:wrote"

// wroteOutbox notes in tx that it wrote an event or a job.
func wroteOutbox(tx *gorm.DB) {
	if p, ok := tx.Get(wroteKey); ok {
		*p.(*bool) = true
	}
}

// changeHub tells waiting readers that something was written. A signal
// carries no data: a reader that wakes reads the events and jobs it has not
// seen. Signals coalesce, so a burst of writes wakes each reader once.
type changeHub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newChangeHub() *changeHub { return &changeHub{subs: map[chan struct{}]struct{}{}} }

func (h *changeHub) signal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// Changes returns a channel that receives a value after writes have
// committed (several writes may give one value), and a function that stops
// the subscription.
func (s *Store) Changes() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.changes.mu.Lock()
	s.changes.subs[ch] = struct{}{}
	s.changes.mu.Unlock()
	return ch, func() {
		s.changes.mu.Lock()
		delete(s.changes.subs, ch)
		s.changes.mu.Unlock()
	}
}
