package web

import (
	"container/list"
	"encoding/binary"
	"hash/maphash"
	"html/template"
	"sync"
	"time"

	"sitrep/server/markup"
)

// fragmentCacheBytes bounds the memory of the rendered fragments kept.
const fragmentCacheBytes = 32 << 20

// fragmentCache keeps parts of pages rendered by their templates (a post of
// a thread page, a service's row of 90 days on the dashboard), so that a
// page includes their HTML instead of executing the template for them
// again: executing them was most of those pages' time and allocations.
// An entry's key is what it is (kind and id) and a fingerprint of
// everything its template reads, so a changed post or day, or a reader
// with other rights, is a new entry and the old one is never shown: it
// ages out, the least recently used first, past fragmentCacheBytes.
type fragmentCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	max   int
	size  int
	byKey map[fragmentKey]*list.Element
	lru   *list.List // of *fragmentEntry, the most recently used first
}

// fragmentKind tells a post from a service row with the same id.
type fragmentKind uint8

const (
	postFragment fragmentKind = iota
	serviceRowFragment
)

type fragmentKey struct {
	kind        fragmentKind
	id          int64
	fingerprint uint64
}

type fragmentEntry struct {
	key  fragmentKey
	html template.HTML
}

func newFragmentCache(max int) *fragmentCache {
	return &fragmentCache{seed: maphash.MakeSeed(), max: max, byKey: map[fragmentKey]*list.Element{}, lru: list.New()}
}

// renderFragment returns the fragment of key from c, or executes the
// template name of t for data and keeps the result. It is generic so that
// data is boxed only when the template runs, not on every hit.
func renderFragment[T any](c *fragmentCache, t *template.Template, name string, key fragmentKey, data T) (template.HTML, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*fragmentEntry).html, nil
	}
	c.mu.Unlock()
	html, err := markup.Fragment(t, name, data)
	if err != nil {
		return "", err
	}
	c.put(key, html)
	return html, nil
}

// entryOverhead approximates what an entry costs beside its HTML.
const entryOverhead = 128

func (c *fragmentCache) put(key fragmentKey, html template.HTML) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return // rendered at the same time by another request
	}
	c.byKey[key] = c.lru.PushFront(&fragmentEntry{key: key, html: html})
	c.size += len(html) + entryOverhead
	for c.size > c.max && c.lru.Len() > 0 {
		old := c.lru.Remove(c.lru.Back()).(*fragmentEntry)
		delete(c.byKey, old.key)
		c.size -= len(old.html) + entryOverhead
	}
}

// fingerprint hashes what a fragment's template reads.
type fingerprint struct {
	h   maphash.Hash
	buf [8]byte
}

// fingerprint starts one; it is a value, so that it stays on the stack.
func (c *fragmentCache) fingerprint() fingerprint {
	var f fingerprint
	f.h.SetSeed(c.seed)
	return f
}

func (f *fingerprint) int(v int64) {
	binary.LittleEndian.PutUint64(f.buf[:], uint64(v))
	f.h.Write(f.buf[:])
}

func (f *fingerprint) flags(bs ...bool) {
	var bits int64
	for i, b := range bs {
		if b {
			bits |= 1 << i
		}
	}
	f.int(bits)
}

func (f *fingerprint) time(t time.Time) { f.int(t.UnixNano()) }

// str writes s and its end, so that "ab","c" and "a","bc" differ.
func (f *fingerprint) str(s string) {
	f.h.WriteString(s)
	f.h.WriteByte(0)
}

func (f *fingerprint) sum() uint64 { return f.h.Sum64() }
