package models

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"time"

	"gorm.io/gorm"
)

// write runs fn in one write transaction and, once it has committed, wakes
// whoever waits for changes if the transaction wrote events or jobs: the
// live-update broker and the job worker read them (an event or a job is
// committed with the change that caused it, or not at all).
//
// SQLite runs one write transaction at a time: with a committer, the
// transaction is a savepoint in a batch committed with other writes
// (groupcommit.go). PostgreSQL runs them side by side, serializable so that
// each still reads as if it were alone; one that collided with another
// runs again, fn and all.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var wrote bool
	var err error
	if s.committer != nil {
		wrote, err = s.committer.do(ctx, fn)
	} else {
		wrote, err = s.transaction(ctx, fn)
	}
	if err == nil && wrote {
		s.changes.signal()
	}
	return err
}

// transaction runs fn in a write transaction of its own, and says whether
// it wrote events or jobs. On PostgreSQL it runs again after a collision,
// and a write that wrote events or jobs tells the other instances.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) (wrote bool, err error) {
	var opts []*sql.TxOptions
	if s.pg {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelSerializable})
		select {
		case s.writers <- struct{}{}:
			defer func() { <-s.writers }()
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	for attempt := 0; attempt == 0 || retryable(err) && attempt < maxWriteAttempts && ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			// Those that collided wait apart before they try again.
			time.Sleep(time.Duration(rand.Int64N(int64(min(attempt*attempt, 50)) * int64(time.Millisecond))))
		}
		wrote = false
		err = s.wdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := fn(tx.Set(wroteKey, &wrote).Session(&gorm.Session{})); err != nil || !wrote || !s.pg {
				return err
			}
			return s.notifyChanges(tx)
		}, opts...)
	}
	return wrote, err
}

// maxWriteAttempts bounds how often a PostgreSQL write transaction runs
// again after colliding with others.
const maxWriteAttempts = 30

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
