package models

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// Unavailable tells whether err means that the database could not be
// reached or read at all (locked by another process for too long, the file
// gone or unreadable, a read-only disk for a write, the server unreachable,
// the store closed), as opposed to a refusal about the data. Pages that
// have a last good copy show it rather than an error.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrCantOpen, sqlite3.ErrIoErr, sqlite3.ErrReadonly,
			sqlite3.ErrNotADB, sqlite3.ErrCorrupt, sqlite3.ErrFull, sqlite3.ErrPerm:
			return true
		}
		return false
	}
	if pgUnavailable(err) {
		return true
	}
	var ne net.Error
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "sql: database is closed")
}
