package models

import (
	"strings"
	"unicode/utf8"
)

// ReasonMaxLen bounds moderation reasons and notes.
const ReasonMaxLen = 500

// cleanReason trims a moderation reason or note and checks it. Reasons are
// shown to the person concerned, so a required one cannot be left empty.
func cleanReason(v validation, field, reason string, required bool) string {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "" && required:
		v.add(field, "Give a reason; the person concerned is told.")
	case utf8.RuneCountInString(reason) > ReasonMaxLen:
		v.add(field, "A reason has at most 500 characters.")
	case strings.ContainsFunc(reason, func(r rune) bool { return r < ' ' && r != '\n' }):
		v.add(field, "A reason cannot contain control characters.")
	}
	return reason
}

// requireModerator refuses anyone who may not use the moderation tools.
func requireModerator(u *User) error {
	if u == nil || !u.Role.CanModerate() {
		return ErrForbidden
	}
	return nil
}

// moderatorReason opens a moderator's action that takes nothing but a
// reason: it refuses anyone else and returns the cleaned reason.
func moderatorReason(mod *User, reason string, required bool) (string, error) {
	if err := requireModerator(mod); err != nil {
		return "", err
	}
	v := validation{}
	reason = cleanReason(v, "reason", reason, required)
	return reason, v.err()
}
