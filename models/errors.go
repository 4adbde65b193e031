package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Sentinel errors returned by the Store. Handlers map them to HTTP statuses in
// one place (server/errors.go).
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	// ErrRevoked means the credentials were valid once but were ended by an
	// administrator (role change) or by the user; the reason travels with it.
	ErrRevoked = errors.New("revoked")
	// ErrBadCredentials is the one answer for an unknown user and a wrong
	// password, so a log-in form does not tell which names exist.
	ErrBadCredentials = errors.New("unknown user or wrong password")
	// ErrLocked refuses replies to a locked thread.
	ErrLocked = errors.New("locked")
)

// ValidationError lists what is wrong with an input, one message per field.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return strings.Join(parts, "; ")
}

// validation collects field errors; err returns nil when there are none.
type validation map[string]string

func (v validation) add(field, msg string) {
	if _, ok := v[field]; !ok {
		v[field] = msg
	}
}

func (v validation) err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Fields: v}
}

// RevokedError carries why credentials were revoked.
type RevokedError struct{ Reason string }

func (e *RevokedError) Error() string { return "revoked: " + e.Reason }

func (e *RevokedError) Unwrap() error { return ErrRevoked }

// DeniedError refuses an action with the reason the person is told.
type DeniedError struct{ Message string }

func (e *DeniedError) Error() string { return e.Message }

func (e *DeniedError) Unwrap() error { return ErrForbidden }

// ConflictError says the action was done already, or cannot be done in the
// object's present state.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

func (e *ConflictError) Unwrap() error { return ErrConflict }

// SanctionedError tells a silenced or suspended user why and until when.
type SanctionedError struct {
	Kind   string // SanctionSilence or SanctionSuspension
	Until  time.Time
	Reason string
}

// Error is what the sanctioned person is told.
func (e *SanctionedError) Error() string { return e.told("Your account", "you") }

// AboutAccount says the same to someone else, a moderator looking at the
// account.
func (e *SanctionedError) AboutAccount() string { return e.told("This account", "they") }

func (e *SanctionedError) told(account, who string) string {
	what := fmt.Sprintf("silenced: %s can read and say %s are affected, but not post or flag posts", who, who)
	if e.Kind == SanctionSuspension {
		what = "suspended"
	}
	return fmt.Sprintf("%s is %s until %s. Reason: %s", account, what, e.Until.UTC().Format("2 Jan 2006 15:04 UTC"), e.Reason)
}

// RateLimitError says a write came too soon.
type RateLimitError struct {
	RetryAfter time.Duration
	Message    string // why, and when to try again
	// Why is the reason alone ("You are posting too fast."), for a form
	// that says the wait itself and counts it down; empty when Message
	// is the only way to put it.
	Why string
}

func (e *RateLimitError) Error() string { return e.Message }

// tooSoon refuses a post or an edit for why, Retry-After wait.
func tooSoon(why string, wait time.Duration) *RateLimitError {
	e := &RateLimitError{RetryAfter: wait, Why: why}
	e.Message = fmt.Sprintf("%s Please wait %d more second(s).", why, e.Seconds())
	return e
}

// Seconds is the wait in whole seconds, rounded up.
func (e *RateLimitError) Seconds() int { return int((e.RetryAfter + time.Second - 1) / time.Second) }

// LockedError carries the reason a thread is locked.
type LockedError struct{ Reason string }

func (e *LockedError) Error() string {
	if e.Reason == "" {
		return "This thread is locked; it no longer takes replies."
	}
	return "This thread is locked: " + e.Reason
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// errKeyReused refuses a submit key (or Idempotency-Key) that made a
// different post: a retry must repeat the same request.
var errKeyReused = &ConflictError{Message: "This submit key (Idempotency-Key) was used for a different post; use a new key for a new post."}
