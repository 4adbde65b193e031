package models

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"sitrep/server/markup"
)

// renderBody validates and renders a post's Markdown. It first turns the
// CRLF line breaks browsers send into LF, so that the stored source is the
// same whether it came from a form or the API.
func renderBody(v validation, src *string) template.HTML {
	*src = strings.ReplaceAll(*src, "\r\n", "\n")
	body := *src
	if strings.TrimSpace(body) == "" {
		v.add("body", "Write something first.")
		return ""
	}
	// Tabs and line breaks are text; other control characters are not, and
	// some mean something elsewhere (search marks its hits with two).
	if strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
		v.add("body", "The text contains control characters; remove them.")
		return ""
	}
	html, err := markup.Render(body)
	if err != nil {
		v.add("body", err.Error())
	}
	return html
}

// Posting limits: the least time between two posts of one customer, longer
// for accounts younger than NewAccountAge. Staff, moderators and admins are
// not limited: on an outage day they must be able to speak.
const (
	PostInterval           = 10 * time.Second
	NewAccountPostInterval = 60 * time.Second
	NewAccountAge          = 24 * time.Hour
)

// checkPace refuses a post that comes too soon after the author's last one.
// It runs inside the write transaction, so two concurrent posts cannot both
// pass.
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
			return &RateLimitError{RetryAfter: wait, Message: fmt.Sprintf(
				"This thread is in slow mode: one post every %s. Please wait %d more second(s).",
				time.Duration(th.SlowModeSeconds)*time.Second, int(wait.Seconds()+0.999))}
		}
	}
	interval := PostInterval
	if s.now().Sub(author.CreatedAt) < NewAccountAge {
		interval = NewAccountPostInterval
	}
	var last Post
	err := tx.Select("created_at").Where("author_id = ?", author.ID).Order("created_at DESC").Limit(1).Find(&last).Error
	if err != nil || last.CreatedAt.IsZero() {
		return err
	}
	if wait := last.CreatedAt.Add(interval).Sub(s.now()); wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		return &RateLimitError{RetryAfter: wait, Message: fmt.Sprintf(
			"You are posting too fast. Please wait %d more second(s).", secs)}
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
