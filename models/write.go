package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// write runs fn in one write transaction and, once it has committed, wakes
// whoever waits for changes: the live-update broker and the job worker read
// the events and jobs the transaction wrote (an event or a job is committed
// with the change that caused it, or not at all).
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := s.db.WithContext(ctx).Transaction(fn)
	if err == nil {
		s.changes.signal()
	}
	return err
}

// writeQuietly runs fn in one write transaction without waking anyone:
// for writes that give readers nothing new to read (claiming a job, giving
// it back for later, ending it). A worker's claim waking the worker itself
// would keep it polling without pause.
func (s *Store) writeQuietly(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
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
