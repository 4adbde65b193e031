package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SessionLifetime is how long a log-in lasts.
const SessionLifetime = 30 * 24 * time.Hour

// Session is a server-side log-in. The cookie holds a random secret; the
// table holds only its SHA-256, so a leaked database does not leak sessions.
type Session struct {
	ID            string // hex SHA-256 of the cookie value
	UserID        int64
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
	RevokedReason string
}

// APIToken is a bearer credential acting as its user. Only its hash is kept.
type APIToken struct {
	ID            int64
	UserID        int64
	Name          string
	Hash          string
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
	RevokedReason string
}

// TokenNameMaxLen bounds a token's label.
const TokenNameMaxLen = 60

// MaxActiveTokens is how many live API tokens one person may hold; past it,
// they revoke one before making another.
const MaxActiveTokens = 20

// TokenPrefix starts every API token, so a leaked one is easy to recognise.
const TokenPrefix = "sitrep_"

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a session and returns the secret for the cookie.
// Expired sessions are pruned on the way.
func (s *Store) CreateSession(ctx context.Context, userID int64) (string, error) {
	secret := newSecret()
	now := s.now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at < ?", now).Delete(&Session{}).Error; err != nil {
			return err
		}
		return tx.Create(&Session{ID: hashSecret(secret), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)}).Error
	})
	return secret, translate(err)
}

// DeleteSession ends a session (log-out). Unknown secrets are ignored.
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	return s.write(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", hashSecret(secret)).Delete(&Session{}).Error })
}

// UserBySession returns the user of a live session. An unknown or expired
// session gives ErrNotFound; a revoked one a *RevokedError.
func (s *Store) UserBySession(ctx context.Context, secret string) (*User, error) {
	// One query for the session and its user, scanned by hand: every
	// signed-in request makes it.
	var (
		u              User
		revokedAt      sql.NullTime
		revokedReason  string
		expiresAt      time.Time
		silenced, susp sql.NullTime
	)
	err := s.db.WithContext(ctx).Raw(`SELECT s.revoked_at, s.revoked_reason, s.expires_at, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, hashSecret(secret)).Row().Scan(
		&revokedAt, &revokedReason, &expiresAt,
		&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Role, &silenced, &u.SilenceReason, &susp, &u.SuspensionReason,
		&u.MailLevel, &u.MailKey, &u.MailUnsubscribeHash, &u.CreatedAt, &u.UpdatedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	case revokedAt.Valid:
		return nil, &RevokedError{Reason: revokedReason}
	case !expiresAt.After(s.now()):
		return nil, ErrNotFound
	}
	if silenced.Valid {
		u.SilencedUntil = &silenced.Time
	}
	if susp.Valid {
		u.SuspendedUntil = &susp.Time
	}
	if err := u.Suspended(s.now()); err != nil {
		return nil, err
	}
	return &u, nil
}

// userColumns are the users' columns (aliased u) in the order of the
// fields of User; TestUserColumns holds them to the model.
const userColumns = "u.id, u.name, u.email, u.password_hash, u.role, u.silenced_until, u.silence_reason, " +
	"u.suspended_until, u.suspension_reason, u.mail_level, u.mail_key, u.mail_unsubscribe_hash, u.created_at, u.updated_at"

// revokeCredentials ends every session and token of a user, keeping the rows
// so that a later request with them is told why.
func (s *Store) revokeCredentials(tx *gorm.DB, userID int64, reason string) error {
	now := s.now()
	set := map[string]any{"revoked_at": now, "revoked_reason": reason}
	if err := tx.Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL", userID).Updates(set).Error; err != nil {
		return err
	}
	return tx.Model(&APIToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Updates(set).Error
}

// CreateToken makes an API token for a user and returns its secret, which is
// shown once and never stored. A person holds at most MaxActiveTokens live
// tokens.
func (s *Store) CreateToken(ctx context.Context, userID int64, name string) (*APIToken, string, error) {
	name = strings.TrimSpace(name)
	v := validation{}
	switch {
	case name == "":
		v.add("name", "Give the token a name, such as the script that will use it.")
	case len([]rune(name)) > TokenNameMaxLen:
		v.add("name", "A token name has at most 60 characters.")
	}
	if err := v.err(); err != nil {
		return nil, "", err
	}
	secret := TokenPrefix + newSecret()
	t := &APIToken{UserID: userID, Name: name, Hash: hashSecret(secret), CreatedAt: s.now()}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var live int64
		if err := tx.Model(&APIToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Count(&live).Error; err != nil {
			return err
		}
		if live >= MaxActiveTokens {
			v.add("name", fmt.Sprintf("You have %d active API tokens, the most one person may hold. Revoke one you no longer use first.", live))
			return v.err()
		}
		return tx.Create(t).Error
	})
	if err != nil {
		return nil, "", translate(err)
	}
	return t, secret, nil
}

// tokenTouchInterval limits how often a token's last use is written, so that
// a busy script does not turn every read into a write.
const tokenTouchInterval = time.Hour

// UserByToken returns the user an API token acts as.
func (s *Store) UserByToken(ctx context.Context, secret string) (*User, error) {
	var t APIToken
	if err := s.db.WithContext(ctx).Where("hash = ?", hashSecret(secret)).First(&t).Error; err != nil {
		return nil, translate(err)
	}
	if t.RevokedAt != nil {
		return nil, &RevokedError{Reason: t.RevokedReason}
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > tokenTouchInterval {
		if err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now).Error
		}); err != nil {
			return nil, err
		}
	}
	return s.activeUser(ctx, t.UserID)
}

// activeUser is the user a session or token acts as, refused while the user
// is suspended: a suspension takes effect on the very next request.
func (s *Store) activeUser(ctx context.Context, id int64) (*User, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := u.Suspended(s.now()); err != nil {
		return nil, err
	}
	return u, nil
}

// ListTokens lists a user's live tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64) ([]APIToken, error) {
	var ts []APIToken
	err := s.db.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", userID).
		Order("id DESC").Limit(MaxPerPage).Find(&ts).Error
	return ts, err
}

// RevokeToken revokes one of the user's own tokens.
func (s *Store) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&APIToken{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL", tokenID, userID).
			Updates(map[string]any{"revoked_at": s.now(), "revoked_reason": "revoked by its owner"})
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		return res.Error
	})
}
