package models

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"sitrep/server/markup"
)

// checkBody normalizes and checks a post's Markdown without rendering it,
// so that a post refused for its text, its title, its pace or a silence
// costs no rendering. It first turns the CRLF line breaks browsers send
// into LF, so that the stored source is the same whether it came from a
// form or the API.
func checkBody(v validation, src *string) {
	*src = strings.ReplaceAll(*src, "\r\n", "\n")
	body := *src
	switch {
	case strings.TrimSpace(body) == "":
		v.add("body", "Write something first.")
	case len(body) > markup.MaxSourceBytes:
		v.add("body", markup.ErrTooLong.Error())
	// Tabs and line breaks are text; other control characters are not, and
	// some mean something elsewhere (search marks its hits with two).
	case strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0:
		v.add("body", "The text contains control characters; remove them.")
	}
}

// renderMarkdown renders a checked source; tests count its calls.
var renderMarkdown = markup.RenderMentions

// renderBody checks and renders a post's Markdown, with its mentions of
// people as links to them; a source that fails the checks is not rendered.
func (s *Store) renderBody(ctx context.Context, v validation, src *string) template.HTML {
	checkBody(v, src)
	if v["body"] != "" {
		return ""
	}
	isPerson, err := s.people(ctx, mentionedNames(*src))
	if err != nil {
		v.add("body", "The names mentioned could not be looked up; try again.")
		return ""
	}
	html, err := renderMarkdown(*src, isPerson)
	if err != nil {
		v.add("body", err.Error())
	}
	return html
}

// people tells which of names (case aside) are people's, in one query.
func (s *Store) people(ctx context.Context, names []string) (func(string) bool, error) {
	if len(names) == 0 {
		return func(string) bool { return false }, nil
	}
	var found []string
	if err := s.db.WithContext(ctx).Model(&User{}).Where("name IN ?", names).Pluck("name", &found).Error; err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, n := range found {
		known[strings.ToLower(n)] = true
	}
	return func(name string) bool { return known[strings.ToLower(name)] }, nil
}

// Posting limits: the least time between two posts of one customer, and
// between two of their edits, longer for accounts younger than
// NewAccountAge. Staff, moderators and admins are not limited: on an
// outage day they must be able to speak.
const (
	PostInterval           = 10 * time.Second
	NewAccountPostInterval = 60 * time.Second
	EditInterval           = 10 * time.Second
	NewAccountEditInterval = 60 * time.Second
	NewAccountAge          = 24 * time.Hour
)

// paced is what claimPace holds: the counts to give back when no post (or
// edit) came of the attempt.
type paced struct {
	s    *Store
	keys []string
}

// release gives the claim back, unless done: the attempt made its post or
// edit. It runs after the request may have ended, so it does not take the
// request's cancellation.
func (c *paced) release(ctx context.Context, done bool) {
	if c == nil || done {
		return
	}
	for _, k := range c.keys {
		_ = c.s.Undo(context.WithoutCancel(ctx), k)
	}
}

// claimPace takes a customer's turn to post or to edit (what is "post" or
// "edit") before the text is rendered, in the limits table: one turn per
// interval, taken atomically, so that posts sent at the same moment are
// refused before any of them costs a rendering. Staff, moderators and admins
// take no turn (nil). When the turn is not free, dup (if given) is asked
// whether this very text was saved already (a second click, a client's
// retry); if so, claimPace returns no claim and no error.
func (s *Store) claimPace(ctx context.Context, author *User, what string, dup func() (bool, error)) (*paced, error) {
	if author.Role != RoleCustomer {
		return nil, nil
	}
	interval := map[string][2]time.Duration{
		"post": {PostInterval, NewAccountPostInterval},
		"edit": {EditInterval, NewAccountEditInterval},
	}[what]
	every := interval[0]
	if s.now().Sub(author.CreatedAt) < NewAccountAge {
		every = interval[1]
	}
	key := fmt.Sprintf("pace-%s:%d", what, author.ID)
	ok, retry, err := s.Take(ctx, key, 1, every)
	if err != nil {
		return nil, err
	}
	if ok {
		return &paced{s: s, keys: []string{key}}, nil
	}
	if dup != nil {
		if found, err := dup(); found || err != nil {
			return nil, err
		}
	}
	verb := map[string]string{"post": "posting", "edit": "editing"}[what]
	return nil, tooSoon("You are "+verb+" too fast.", retry)
}

// claimPost takes a customer's turn to post (claimPace). A form submitted
// twice (the same submit key) makes one post: a "submit" count marks the
// form as being posted, and a second submit waits a little for the first
// one's post and returns it as prev instead of taking a turn.
func (s *Store) claimPost(ctx context.Context, author *User, key *string, threadID int64, body string) (c *paced, prev *Post, err error) {
	if author.Role != RoleCustomer {
		return nil, nil, nil
	}
	submitted := func() (bool, error) {
		var err error
		prev, err = findSubmitted(s.db.WithContext(ctx), author.ID, key, threadID, body)
		return prev != nil, err
	}
	var held []string
	if key != nil {
		k := fmt.Sprintf("submit:%d:%s", author.ID, *key)
		ok, _, err := s.Take(ctx, k, 1, time.Minute)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			// The same form is being posted: wait for it.
			if err := awaitDuplicate(ctx, submitted); err != nil || prev != nil {
				return nil, prev, err
			}
		} else {
			held = append(held, k)
		}
	}
	c, err = s.claimPace(ctx, author, "post", func() (bool, error) {
		if key == nil {
			return false, nil
		}
		return submitted()
	})
	if c != nil {
		c.keys = append(c.keys, held...)
	} else {
		(&paced{s: s, keys: held}).release(ctx, false)
	}
	return c, prev, err
}

// awaitDuplicate gives a request that repeats one still in flight a short
// while (about a second) to see the first one's result: found is asked
// again after growing pauses until it reports one.
func awaitDuplicate(ctx context.Context, found func() (bool, error)) error {
	for _, pause := range []time.Duration{0, 10, 30, 100, 300, 600} {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause * time.Millisecond):
		}
		if ok, err := found(); ok || err != nil {
			return err
		}
	}
	return nil
}

// checkPace refuses a post that a silence forbids or that comes too soon
// after the author's last one in a thread in slow mode. It runs inside the
// write transaction, so two concurrent posts cannot both pass. (The
// posting interval itself is claimed before rendering: claimPace.)
func (s *Store) checkPace(tx *gorm.DB, author *User, th *Thread) error {
	if err := author.Silenced(s.now()); err != nil {
		return err
	}
	if author.Role != RoleCustomer {
		return nil
	}
	if th != nil && th.SlowModeSeconds > 0 {
		var last Post
		err := tx.Select("created_at").Where("author_id = ? AND thread_id = ?", author.ID, th.ID).Order("id DESC").Limit(1).Find(&last).Error
		if err != nil {
			return err
		}
		if wait := last.CreatedAt.Add(time.Duration(th.SlowModeSeconds) * time.Second).Sub(s.now()); !last.CreatedAt.IsZero() && wait > 0 {
			return tooSoon(fmt.Sprintf("This thread is in slow mode: one post every %s.", time.Duration(th.SlowModeSeconds)*time.Second), wait)
		}
	}
	return nil
}

// SubmitKeyMaxLen bounds the duplicate-submit key a form or API client sends.
const SubmitKeyMaxLen = 64

// cleanSubmitKey checks the key that makes a retried submit return the first
// post instead of a second one; nil when none was sent.
func cleanSubmitKey(v validation, key string) *string {
	if key == "" {
		return nil
	}
	if len(key) > SubmitKeyMaxLen {
		v.add("submit_key", "The submit key has at most 64 characters.")
	}
	return &key
}

// findSubmitted returns the post an earlier submit of the same form made.
// threadID is where the new post would go (0 for a new thread); body is its
// text. The earlier post must be the same request.
func findSubmitted(tx *gorm.DB, authorID int64, key *string, threadID int64, body string) (*Post, error) {
	if key == nil {
		return nil, nil
	}
	var p Post
	err := tx.Where("author_id = ? AND submit_key = ?", authorID, *key).Limit(1).Find(&p).Error
	if err != nil || p.ID == 0 {
		return nil, err
	}
	if p.Source != body {
		return nil, errKeyReused
	}
	if threadID == 0 { // the key must have started a thread
		var first int64
		if err := tx.Model(&Post{}).Where("thread_id = ?", p.ThreadID).Select("MIN(id)").Scan(&first).Error; err != nil {
			return nil, err
		}
		if first != p.ID {
			return nil, errKeyReused
		}
	} else if p.ThreadID != threadID {
		return nil, errKeyReused
	}
	return &p, nil
}

// published does, in a new post's transaction, what every new post causes:
// its author follows the thread (unless they muted it) and has read it up
// to the post, the thread's stream hears of it, caches purge when staff,
// moderators or admins spoke (purge), and the notifications j asks for are
// queued.
func (s *Store) published(tx *gorm.DB, p *Post, purge bool, j NotifyJob) error {
	if err := s.followOnReply(tx, p.ThreadID, p.AuthorID, p.ID); err != nil {
		return err
	}
	if err := s.emitPost(tx, p.ThreadID, p.ID, purge); err != nil {
		return err
	}
	return s.notify(tx, j)
}
