package main

import (
	"sync"
	"time"
)

// limiter counts events per key in fixed windows: after max events in a
// window the key is blocked until the window ends. It is in memory, which
// suits one Sitrep process per database.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	hits   map[string]*hitWindow
	swept  time.Time
}

type hitWindow struct {
	start time.Time
	n     int
}

// Past sweepAt keys, expired windows are dropped, at most once a minute so
// that a flood of keys does not make every call walk the map.
const sweepAt = 10000

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, now: time.Now, hits: map[string]*hitWindow{}}
}

// current returns the live window for key, or nil. Callers hold mu.
func (l *limiter) current(key string, now time.Time) *hitWindow {
	w := l.hits[key]
	if w != nil && now.Sub(w.start) >= l.window {
		delete(l.hits, key)
		return nil
	}
	return w
}

// Blocked tells whether key has used up its window, and for how long still.
func (l *limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.current(key, now)
	if w == nil || w.n < l.max {
		return false, 0
	}
	return true, w.start.Add(l.window).Sub(now)
}

// Add counts one event for key.
func (l *limiter) Add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) >= sweepAt && now.Sub(l.swept) > time.Minute {
		l.swept = now
		for k := range l.hits {
			l.current(k, now)
		}
	}
	w := l.current(key, now)
	if w == nil {
		w = &hitWindow{start: now}
		l.hits[key] = w
	}
	w.n++
}

// Reset forgets key, e.g. after a successful log-in.
func (l *limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}
