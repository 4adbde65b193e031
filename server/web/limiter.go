package web

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

// Take counts one attempt for key unless key has used up its window, in
// one step, so that attempts sent at the same moment cannot all slip past a
// check made before any of them was counted. It tells whether the attempt
// may go ahead and, if not, for how long the key is still blocked.
func (l *limiter) Take(key string) (bool, time.Duration) {
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
	if w.n >= l.max {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return true, 0
}

// Undo gives back an attempt that Take counted and that turned out not to
// count (a log-in that succeeded, a sign-up form with a typo).
func (l *limiter) Undo(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.current(key, l.now()); w != nil && w.n > 0 {
		w.n--
	}
}

// Reset forgets key, e.g. after a successful log-in.
func (l *limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}
