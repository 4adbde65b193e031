package web

import (
	"container/list"
	"encoding/binary"
	"hash/maphash"
	"html/template"
	"sync"

	"sitrep/models"
	"sitrep/server/markup"
)

// postItem is one post of a thread page as the post-item template
// (pages/thread_show.html) renders it: the post as its reader sees it, and
// what of the page changes it.
type postItem struct {
	postView
	Moderator   bool
	Marker      *models.IncidentUpdate // the timeline's update this post is, if it shows there
	Flag        flagForm               // the reader's refused flag, if on this post
	FlagReasons []string
}

// postCacheBytes bounds the memory of the rendered posts kept.
const postCacheBytes = 32 << 20

// postCache keeps posts rendered by the post-item template, so that a
// thread page includes each post's HTML instead of executing the template
// for it again: executing it was most of a page's time and allocations.
// An entry's key is the post's id and a fingerprint of everything the
// template reads (the post, its author, and what the reader may do with
// it), so an edited, hidden, moved or re-rendered post, or one seen by a
// reader with other rights, is a new entry and the old one is never shown:
// it ages out, the least recently used first, past postCacheBytes.
type postCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	max   int
	size  int
	byKey map[postKey]*list.Element
	lru   *list.List // of *postEntry, the most recently used first
}

type postKey struct {
	id          int64
	fingerprint uint64
}

type postEntry struct {
	key  postKey
	html template.HTML
}

func newPostCache(max int) *postCache {
	return &postCache{seed: maphash.MakeSeed(), max: max, byKey: map[postKey]*list.Element{}, lru: list.New()}
}

// render returns the post's HTML from the cache, or executes the template
// name of t for it and keeps the result. A post that shows page state of
// the moment (a refused flag form, a timeline marker) is rendered each
// time.
func (c *postCache) render(t *template.Template, name string, p postItem) (template.HTML, error) {
	if p.Marker != nil || p.Flag.PostID == p.ID {
		return markup.Fragment(t, name, p)
	}
	key := postKey{p.ID, c.fingerprint(p)}
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*postEntry).html, nil
	}
	c.mu.Unlock()
	html, err := markup.Fragment(t, name, p)
	if err != nil {
		return "", err
	}
	c.put(key, html)
	return html, nil
}

// entryOverhead approximates what an entry costs beside its HTML.
const entryOverhead = 128

func (c *postCache) put(key postKey, html template.HTML) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return // rendered at the same time by another request
	}
	c.byKey[key] = c.lru.PushFront(&postEntry{key: key, html: html})
	c.size += len(html) + entryOverhead
	for c.size > c.max && c.lru.Len() > 0 {
		old := c.lru.Remove(c.lru.Back()).(*postEntry)
		delete(c.byKey, old.key)
		c.size -= len(old.html) + entryOverhead
	}
}

// fingerprint hashes every field of p that the post-item template reads.
func (c *postCache) fingerprint(p postItem) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	buf := make([]byte, 0, 96)
	var bits uint64
	for i, b := range []bool{p.Visible, p.CanEdit, p.CanFlag, p.Flagged, p.Moderator, p.Official,
		p.EditedAt != nil, p.HiddenAt != nil, p.HiddenByID != nil} {
		if b {
			bits |= 1 << i
		}
	}
	buf = binary.LittleEndian.AppendUint64(buf, bits)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.AuthorID))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.CreatedAt.UnixNano()))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.UpdatedAt.UnixNano()))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(p.FlagReasons)))
	h.Write(buf)
	for _, s := range []string{string(p.AuthorRole), p.authorName(), p.mergedFromTitle(), p.HiddenReason, string(p.HTML)} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (p postItem) authorName() string {
	if p.Author == nil {
		return ""
	}
	return p.Author.Name
}

func (p postItem) mergedFromTitle() string {
	if p.MergedFrom == nil {
		return ""
	}
	return p.MergedFrom.Title
}
