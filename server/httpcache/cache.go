// Package httpcache keeps the site up on the day of an outage, when everyone
// reloads at once: a micro-cache that answers visitors from memory for a few
// seconds, and a bound on the requests worked on at once past which the
// server says "come back in a few seconds" instead of queueing until every
// request times out.
//
// It knows HTTP and nothing of the application: who is a visitor, which
// routes may be shared and what a key holds are decided by the caller.
package httpcache

import (
	"bytes"
	"container/list"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

const (
	// DefaultEntries bounds the number of cached answers.
	DefaultEntries = 1000
	// MaxBytes bounds the bodies held in all; maxBody is the largest one
	// kept (a bigger answer is served, not cached).
	MaxBytes = 64 << 20
	maxBody  = 1 << 20
)

// replayedHeaders are the response headers replayed from the cache.
// Security headers and the request id are set afresh for every request.
var replayedHeaders = []string{
	"Content-Type", "Cache-Control", "Vary", "ETag", "Last-Modified",
	"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Content-Language",
}

// entry is a complete 200 answer that anyone may be given: fresh until
// expires, and kept as the last good answer until staleUntil.
type entry struct {
	key        string
	header     http.Header
	body       []byte
	gz         []byte    // body gzipped, or nil (see gzipped)
	stored     time.Time // when its render began
	expires    time.Time
	staleUntil time.Time
	elem       *list.Element
}

// flight is one render in progress; requests for the same key wait for it
// instead of rendering the same page again.
type flight struct {
	done    chan struct{}
	started time.Time
	gen     uint64
	resp    *entry // set before done closes; nil if not shareable
}

// Cache holds whole answers for a short TTL, bounded in entries and bytes,
// and keeps each as the last good answer for longer (stale), to be served
// when the page cannot be made at all. Every entry lives for the same
// times, so insertion order is also expiry order: the front of the list is
// evicted first.
type Cache struct {
	ttl        time.Duration
	stale      time.Duration
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	order   list.List
	bytes   int
	flights map[string]*flight
	// gen counts purges; a render that started before the last purge is
	// not stored, since it may show the data from before the change.
	gen uint64

	collapsed atomic.Int64 // requests that waited for another's render
}

// New returns a cache whose answers are fresh for ttl and kept as last good
// answers for stale, or nil (no cache) when both are 0 or less.
func New(ttl, stale time.Duration, maxEntries, maxBytes int, now func() time.Time) *Cache {
	if ttl <= 0 && stale <= 0 {
		return nil
	}
	if maxEntries <= 0 {
		maxEntries = DefaultEntries
	}
	return &Cache{ttl: max(ttl, 0), stale: max(stale, ttl, 0), maxEntries: maxEntries, maxBytes: maxBytes, now: now,
		entries: map[string]*entry{}, flights: map[string]*flight{}}
}

// get returns a live answer for key; else the render in progress to wait
// for; else a new flight that the caller leads and must finish.
func (rc *Cache) get(key string) (hit *entry, f *flight, leader bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := rc.now()
	if e := rc.entries[key]; e != nil && now.Before(e.expires) {
		return e, nil, false
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
func (rc *Cache) finish(key string, f *flight, resp *entry) {
	rc.mu.Lock()
	delete(rc.flights, key)
	if resp != nil && f.gen == rc.gen {
		resp.key, resp.stored, resp.expires, resp.staleUntil = key, f.started, f.started.Add(rc.ttl), f.started.Add(rc.stale)
		f.resp = resp
		rc.put(resp)
	}
	rc.mu.Unlock()
	close(f.done)
}

// put stores r, first dropping expired entries and then the oldest ones
// until r fits. Callers hold mu.
func (rc *Cache) put(r *entry) {
	if old := rc.entries[r.key]; old != nil {
		rc.remove(old)
	}
	if r.size() > rc.maxBytes {
		return
	}
	now := rc.now()
	for front := rc.order.Front(); front != nil; front = rc.order.Front() {
		e := front.Value.(*entry)
		if now.Before(e.staleUntil) && rc.order.Len() < rc.maxEntries && rc.bytes+r.size() <= rc.maxBytes {
			break
		}
		rc.remove(e)
	}
	r.elem = rc.order.PushBack(r)
	rc.entries[r.key] = r
	rc.bytes += r.size()
}

// Purge ends the freshness of every answer, and drops those being
// rendered, so that the next request renders anew. The answers stay as
// last good answers: a change that happened is no reason to have nothing
// to show when the database is gone.
func (rc *Cache) Purge() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gen++
	now := rc.now()
	for _, e := range rc.entries {
		e.expires = now
	}
}

// Copy is a last good answer.
type Copy struct {
	Header http.Header
	Body   []byte
	// Made is when its render began: what it shows is as of then.
	Made time.Time
}

// Stale returns the last good answer under key, if one is kept.
func (rc *Cache) Stale(key string) (Copy, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e := rc.entries[key]
	if e == nil || !rc.now().Before(e.staleUntil) {
		return Copy{}, false
	}
	return Copy{Header: e.header.Clone(), Body: e.body, Made: e.stored}, true
}

// remove drops e. Callers hold mu.
func (rc *Cache) remove(e *entry) {
	rc.order.Remove(e.elem)
	delete(rc.entries, e.key)
	rc.bytes -= e.size()
}

// Len is the number of answers held, live or expired.
func (rc *Cache) Len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.order.Len()
}

// Collapsed counts the requests that waited for another request's render
// instead of rendering the same answer again.
func (rc *Cache) Collapsed() int64 { return rc.collapsed.Load() }

// Serve answers the request from the cache under key, and collapses
// concurrent misses for one key into one render (the rest of the handler
// chain) whose answer all of them get. The caller decides that the request
// may be shared at all; an answer is stored only if it is a complete 200
// without cookies and not marked private or no-store.
func (rc *Cache) Serve(c *gin.Context, key string) {
	hit, f, leader := rc.get(key)
	switch {
	case hit != nil:
		serveEntry(c, hit)
		return
	case !leader:
		rc.collapsed.Add(1)
		<-f.done
		if f.resp != nil {
			serveEntry(c, f.resp)
			return
		}
		// The answer could not be shared (an error, a cookie): render ours.
		c.Next()
		return
	}
	var shared *entry
	defer func() { rc.finish(key, f, shared) }() // also when the handler panics
	tw := &teeWriter{ResponseWriter: c.Writer}
	c.Writer = tw
	c.Header("X-Cache", "miss")
	c.Next()
	c.Writer = tw.ResponseWriter
	shared = shareable(tw)
}

// shareable returns the answer tw saw if anyone may be given it: a complete
// 200 without cookies, not marked private or no-store.
func shareable(tw *teeWriter) *entry {
	h := tw.Header()
	cc := strings.ToLower(h.Get("Cache-Control"))
	if tw.Status() != http.StatusOK || !tw.Written() || tw.overflow || len(h.Values("Set-Cookie")) > 0 ||
		strings.Contains(cc, "no-store") || strings.Contains(cc, "private") {
		return nil
	}
	keep := http.Header{}
	for _, k := range replayedHeaders {
		if v := h.Values(k); len(v) > 0 {
			keep[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
	}
	body := tw.buf.Bytes()
	gz := gzipped(keep.Get("Content-Type"), body)
	if gz != nil {
		keep.Add("Vary", "Accept-Encoding")
	}
	return &entry{header: keep, body: body, gz: gz}
}

// size is what e holds in bytes.
func (e *entry) size() int { return len(e.body) + len(e.gz) }

// serveEntry writes r, gzipped when the client takes it, or 304 when the
// client already holds that form's ETag.
func serveEntry(c *gin.Context, r *entry) {
	h := c.Writer.Header()
	for k, v := range r.header {
		h[k] = slices.Clone(v)
	}
	h.Set("X-Cache", "hit")
	body, etag := r.body, r.header.Get("ETag")
	if r.gz != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
		body, etag = r.gz, gzipETag(etag)
		h.Set("Content-Encoding", "gzip")
		if etag != "" {
			h.Set("ETag", etag)
		}
	}
	if etag != "" && ETagMatches(c.GetHeader("If-None-Match"), etag) {
		c.AbortWithStatus(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(body)
	c.Abort()
}

// teeWriter passes the answer through and keeps a copy of its body, up to
// maxBody.
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
	case w.buf.Len()+len(b) > maxBody:
		w.overflow = true
		w.buf = bytes.Buffer{}
	default:
		w.buf.Write(b)
	}
}
