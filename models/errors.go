package models

import (
	"errors"
	"sort"
	"strings"
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
