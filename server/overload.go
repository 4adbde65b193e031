package main

import (
	"bytes"
	"container/list"
	"context"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Staying up on the day of an outage, when everyone reloads at once: the
// dashboard, incident and thread pages and the Statuspage API are served to
// visitors from a micro-cache of a few seconds, and past a bound on the
// requests in flight the server answers 503 with Retry-After at once instead
// of queueing until every request times out.

// Load shedding.

const (
	// shedWait is how long a request waits for a free slot before it is
	// refused: long enough to ride out a burst, short enough that a refused
	// client hears so at once.
	shedWait = 100 * time.Millisecond
	// shedRetryAfter is what a refused client is told to wait.
	shedRetryAfter = 5 * time.Second
)

var errOverloaded = &httpError{
	Status: http.StatusServiceUnavailable, Code: "overloaded",
	Message:    "The site is very busy right now. Please try again in a few seconds.",
	RetryAfter: shedRetryAfter,
}

// defaultMaxInFlight scales the bound with the CPUs: a page costs a few
// milliseconds of CPU, so 128 requests per core still finish within about
// half a second of queueing.
func defaultMaxInFlight() int { return 128 * runtime.GOMAXPROCS(0) }

// shedder is a counting semaphore over the requests being worked on.
type shedder struct {
	slots   chan struct{}
	wait    time.Duration
	waiting atomic.Int64 // requests waiting for a slot now
	refused atomic.Int64 // requests refused so far
}

// newShedder bounds the requests in flight to limit; 0 or less is no bound.
func newShedder(limit int, wait time.Duration) *shedder {
	if limit <= 0 {
		return nil
	}
	return &shedder{slots: make(chan struct{}, limit), wait: wait}
}

// acquire takes a slot, waiting at most s.wait; false means refuse.
func (s *shedder) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.wait <= 0 {
		return false
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *shedder) release() { <-s.slots }

// neverShed are the paths answered however busy the server is: the probes
// (a load balancer must still see the process alive and ready, or it would
// take a busy server out and overload the rest) and the embedded static
// files, which cost no database work and without which an admitted page
// arrives unstyled.
func neverShed(path string) bool {
	return path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/static/")
}

// shedLoad admits a request when a slot is free within shedWait and answers
// 503 overloaded with Retry-After otherwise. It runs before loadUser, so a
// refused request costs no database work.
func (a *app) shedLoad(c *gin.Context) {
	s := a.shed
	if s == nil || neverShed(c.Request.URL.Path) {
		c.Next()
		return
	}
	if !s.acquire(c.Request.Context()) {
		s.refused.Add(1)
		// The error page reads a form (no database work) to give the
		// person their text back to send again; limitBody has not run.
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxBodyBytes)
		a.fail(c, errOverloaded)
		return
	}
	defer s.release()
	c.Next()
}

// The visitors' micro-cache.

const (
	// defaultCacheEntries bounds the number of cached answers.
	defaultCacheEntries = 1000
	// cacheMaxBytes bounds the bodies held in all; cacheMaxBody is the
	// largest one kept (a bigger answer is served, not cached).
	cacheMaxBytes = 64 << 20
	cacheMaxBody  = 1 << 20
)

// cachedHeaders are the response headers replayed from the cache. Security
// headers and the request id are set afresh for every request.
var cachedHeaders = []string{
	"Content-Type", "Cache-Control", "Vary", "ETag", "Last-Modified",
	"Access-Control-Allow-Origin", "Content-Language",
}

// cachedResponse is a complete 200 answer that anyone may be given.
type cachedResponse struct {
	key     string
	header  http.Header
	body    []byte
	expires time.Time
	elem    *list.Element
}

// flight is one render in progress; requests for the same key wait for it
// instead of rendering the same page again.
type flight struct {
	done    chan struct{}
	started time.Time
	gen     uint64
	resp    *cachedResponse // set before done closes; nil if not shareable
}

// responseCache holds whole answers for a short TTL, bounded in entries and
// bytes. Every entry lives for the same TTL, so insertion order is also
// expiry order: the front of the list is evicted first.
type responseCache struct {
	ttl        time.Duration
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]*cachedResponse
	order   list.List
	bytes   int
	flights map[string]*flight
	// gen counts purges; a render that started before the last purge is
	// not stored, since it may show the data from before the change.
	gen uint64

	collapsed atomic.Int64 // requests that waited for another's render
}

// newResponseCache returns nil (no cache) when ttl is 0 or less.
func newResponseCache(ttl time.Duration, maxEntries, maxBytes int, now func() time.Time) *responseCache {
	if ttl <= 0 {
		return nil
	}
	if maxEntries <= 0 {
		maxEntries = defaultCacheEntries
	}
	return &responseCache{ttl: ttl, maxEntries: maxEntries, maxBytes: maxBytes, now: now,
		entries: map[string]*cachedResponse{}, flights: map[string]*flight{}}
}

// get returns a live answer for key; else the render in progress to wait
// for; else a new flight that the caller leads and must finish.
func (rc *responseCache) get(key string) (hit *cachedResponse, f *flight, leader bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := rc.now()
	if e := rc.entries[key]; e != nil {
		if now.Before(e.expires) {
			return e, nil, false
		}
		rc.remove(e)
	}
	if f := rc.flights[key]; f != nil {
		return nil, f, false
	}
	f = &flight{done: make(chan struct{}), started: now, gen: rc.gen}
	rc.flights[key] = f
	return nil, f, true
}

// finish ends a flight, storing resp (if any) for those waiting and those
// to come. The TTL counts from the start of the render, so no visitor sees
// data older than the TTL.
func (rc *responseCache) finish(key string, f *flight, resp *cachedResponse) {
	rc.mu.Lock()
	delete(rc.flights, key)
	if resp != nil && f.gen == rc.gen {
		resp.key, resp.expires = key, f.started.Add(rc.ttl)
		f.resp = resp
		rc.put(resp)
	}
	rc.mu.Unlock()
	close(f.done)
}

// put stores r, first dropping expired entries and then the oldest ones
// until r fits. Callers hold mu.
func (rc *responseCache) put(r *cachedResponse) {
	if old := rc.entries[r.key]; old != nil {
		rc.remove(old)
	}
	if len(r.body) > rc.maxBytes {
		return
	}
	now := rc.now()
	for front := rc.order.Front(); front != nil; front = rc.order.Front() {
		e := front.Value.(*cachedResponse)
		if now.Before(e.expires) && rc.order.Len() < rc.maxEntries && rc.bytes+len(r.body) <= rc.maxBytes {
			break
		}
		rc.remove(e)
	}
	r.elem = rc.order.PushBack(r)
	rc.entries[r.key] = r
	rc.bytes += len(r.body)
}

// purge drops every answer, and those being rendered.
func (rc *responseCache) purge() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gen++
	rc.entries = map[string]*cachedResponse{}
	rc.order.Init()
	rc.bytes = 0
}

// remove drops e. Callers hold mu.
func (rc *responseCache) remove(e *cachedResponse) {
	rc.order.Remove(e.elem)
	delete(rc.entries, e.key)
	rc.bytes -= len(e.body)
}

// len is the number of answers held, live or expired.
func (rc *responseCache) len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.order.Len()
}

// forVisitor tells whether the request may be answered from the cache: a
// GET of a cached page by a visitor. A visitor is what loadUser sees when
// there is no Authorization header and no session cookie; a flash cookie
// also skips the cache, since its page shows (and clears) the message.
func (a *app) forVisitor(c *gin.Context) bool {
	r := c.Request
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "" {
		return false
	}
	for _, name := range []string{a.sessionCookieName(), flashCookie} {
		if _, err := r.Cookie(name); err == nil {
			return false
		}
	}
	switch p := c.FullPath(); {
	case p == "/", p == "/incidents", p == "/incidents/:id", p == "/threads", p == "/threads/:id", p == "/search", p == "/api/v1/search",
		p == "/history.atom", p == "/history.rss", p == "/incidents/:id/feed.atom", p == "/threads/:id/feed.atom":
		return true
	default:
		return strings.HasPrefix(p, "/api/v2/")
	}
}

// microCache answers visitors from the cache, and collapses concurrent
// misses for the same page into one render whose answer all of them get.
// It runs before shedLoad: a hit costs no slot, and neither does waiting
// for another request's render.
func (a *app) microCache(c *gin.Context) {
	rc := a.cache
	if rc == nil {
		c.Next()
		return
	}
	if !a.forVisitor(c) {
		c.Next()
		if officialChange(c) {
			rc.purge()
		}
		return
	}
	// The host is part of the key because absolute links in the
	// Statuspage API are built from it when no base URL is set.
	key := c.Request.Host + " " + c.Request.URL.RequestURI()
	hit, f, leader := rc.get(key)
	switch {
	case hit != nil:
		serveCached(c, hit)
		return
	case !leader:
		rc.collapsed.Add(1)
		<-f.done
		if f.resp != nil {
			serveCached(c, f.resp)
			return
		}
		// The answer could not be shared (an error, a cookie): render ours.
		c.Next()
		return
	}
	var shared *cachedResponse
	defer func() { rc.finish(key, f, shared) }() // also when the handler panics
	tw := &teeWriter{ResponseWriter: c.Writer}
	c.Writer = tw
	c.Header("X-Cache", "miss")
	c.Next()
	c.Writer = tw.ResponseWriter
	shared = shareable(c, tw)
}

// officialChange tells whether the request changed data as staff, a
// moderator or an admin: an official update, a status change, a hidden post.
// Visitors see those at once rather than up to a TTL later. Customers'
// replies, the bulk of the writes on an outage day, wait for the TTL, or
// the cache would be emptied many times a second.
func officialChange(c *gin.Context) bool {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	u := currentUser(c)
	return u != nil && (u.Role.IsStaff() || u.Role.CanModerate()) && c.Writer.Status() < http.StatusBadRequest
}

// shareable returns the answer tw saw if anyone may be given it: a complete
// 200 without cookies, not marked private, made for a visitor.
func shareable(c *gin.Context, tw *teeWriter) *cachedResponse {
	h := tw.Header()
	cc := strings.ToLower(h.Get("Cache-Control"))
	_, revoked := c.Get(ctxRevoked)
	if tw.Status() != http.StatusOK || !tw.Written() || tw.overflow || len(h.Values("Set-Cookie")) > 0 ||
		strings.Contains(cc, "no-store") || strings.Contains(cc, "private") ||
		currentUser(c) != nil || revoked {
		return nil
	}
	keep := http.Header{}
	for _, k := range cachedHeaders {
		if v := h.Values(k); len(v) > 0 {
			keep[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
	}
	return &cachedResponse{header: keep, body: tw.buf.Bytes()}
}

// serveCached writes r, or 304 when the client already holds its ETag.
func serveCached(c *gin.Context, r *cachedResponse) {
	h := c.Writer.Header()
	for k, v := range r.header {
		h[k] = slices.Clone(v)
	}
	h.Set("X-Cache", "hit")
	if etag := r.header.Get("ETag"); etag != "" && etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.AbortWithStatus(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(r.body)))
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(r.body)
	c.Abort()
}

// teeWriter passes the answer through and keeps a copy of its body, up to
// cacheMaxBody.
type teeWriter struct {
	gin.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

func (w *teeWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.keep(b[:n])
	return n, err
}

func (w *teeWriter) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	w.keep([]byte(s[:n]))
	return n, err
}

func (w *teeWriter) keep(b []byte) {
	switch {
	case w.overflow:
	case w.buf.Len()+len(b) > cacheMaxBody:
		w.overflow = true
		w.buf = bytes.Buffer{}
	default:
		w.buf.Write(b)
	}
}
