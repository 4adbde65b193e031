package httpcache

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

const (
	// ShedWait is how long a request waits for a free slot before it is
	// refused: long enough to ride out a burst, short enough that a refused
	// client hears so at once.
	ShedWait = 100 * time.Millisecond
	// RetryAfter is what a refused client is told to wait.
	RetryAfter = 5 * time.Second
)

// DefaultMaxInFlight scales the bound with the CPUs: a page costs a few
// milliseconds of CPU, so 128 requests per core still finish within about
// half a second of queueing.
func DefaultMaxInFlight() int { return 128 * runtime.GOMAXPROCS(0) }

// Shedder is a counting semaphore over the requests being worked on.
type Shedder struct {
	slots chan struct{}
	// Wait is how long Acquire waits for a slot.
	Wait    time.Duration
	waiting atomic.Int64 // requests waiting for a slot now
	refused atomic.Int64 // requests refused so far
}

// NewShedder bounds the requests in flight to limit; 0 or less is no bound
// (nil).
func NewShedder(limit int, wait time.Duration) *Shedder {
	if limit <= 0 {
		return nil
	}
	return &Shedder{slots: make(chan struct{}, limit), Wait: wait}
}

// Acquire takes a slot, waiting at most s.Wait; false means refuse (and is
// counted).
func (s *Shedder) Acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.Wait > 0 {
		s.waiting.Add(1)
		defer s.waiting.Add(-1)
		t := time.NewTimer(s.Wait)
		defer t.Stop()
		select {
		case s.slots <- struct{}{}:
			return true
		case <-t.C:
		case <-ctx.Done():
		}
	}
	s.refused.Add(1)
	return false
}

// Release gives back a slot taken by Acquire.
func (s *Shedder) Release() { <-s.slots }

// Waiting is the number of requests waiting for a slot now.
func (s *Shedder) Waiting() int64 { return s.waiting.Load() }

// Refused is the number of requests refused so far.
func (s *Shedder) Refused() int64 { return s.refused.Load() }
