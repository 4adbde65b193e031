package models

import (
	"context"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// PendingSignup is a sign-up waiting for its address to be confirmed (when
// the site sends mail): the account is made when the link in the mail is
// followed and its button pressed. Only the SHA-256 of the link's token is
// kept.
type PendingSignup struct {
	ID           int64
	Name         string
	Email        string
	PasswordHash string
	TokenHash    string
	ClientIP     string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// SignupConfirmWindow is how long a sign-up's link works.
const SignupConfirmWindow = 48 * time.Hour

// Sign-up mails to one address are limited, counted in the outbox, the same
// way whether the address has an account or not.
const (
	SignupMailWindow      = time.Hour
	SignupMailsPerAddress = 3
)

// SignupMails make the two mails a sign-up may send.
type SignupMails struct {
	// Confirm is the mail to a new address, with the link's token.
	Confirm func(token string) Mail
	// Exists is the mail to an address that has an account already,
	// naming that account.
	Exists func(accountName string) Mail
}

// StartSignup begins a sign-up by mail, so that the answer is the same for
// a registered address and a new one: for a new address it stores a pending
// sign-up and mails a confirmation link; for a registered one it mails the
// owner instead. Both hash the password (bcrypt) and write one mail, so
// they also take as long. A taken name is still refused (names are
// public), as is a name or password the rules refuse.
func (s *Store) StartSignup(ctx context.Context, in NewUser, clientIP string, mails SignupMails) error {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	v := validation{}
	validateName(v, in.Name, false)
	validateEmail(v, in.Email)
	validatePassword(v, "password", in.Password)
	if err := v.err(); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.PasswordCost)
	if err != nil {
		return err
	}
	token := newSecret()
	err = s.write(ctx, func(tx *gorm.DB) error {
		var taken struct{ Name, Email int64 }
		if err := tx.Raw(`SELECT
			(SELECT COUNT(*) FROM users WHERE name = ?) AS name,
			(SELECT COUNT(*) FROM users WHERE email = ?) AS email`, in.Name, in.Email).Scan(&taken).Error; err != nil {
			return err
		}
		if taken.Name > 0 {
			v.add("name", "This name is taken.")
			return v.err()
		}
		var sent []time.Time
		if err := tx.Model(&OutboxMail{}).Where("to_addr = ? AND kind IN ? AND created_at > ?",
			in.Email, []string{MailSignup, MailSignupExists}, s.now().Add(-SignupMailWindow)).
			Order("created_at").Limit(SignupMailsPerAddress).Pluck("created_at", &sent).Error; err != nil {
			return err
		}
		if len(sent) >= SignupMailsPerAddress {
			retry := sent[0].Add(SignupMailWindow).Sub(s.now())
			return &RateLimitError{RetryAfter: retry, Message: "This address was sent too many sign-up mails. " + tryAgainIn(retry)}
		}
		if taken.Email > 0 {
			var owner User
			if err := tx.Select("id", "name").Where("email = ?", in.Email).First(&owner).Error; err != nil {
				return err
			}
			m := mails.Exists(owner.Name)
			m.Kind, m.To, m.UserID = MailSignupExists, in.Email, &owner.ID
			_, err := s.enqueueMail(tx, m)
			return err
		}
		now := s.now()
		p := &PendingSignup{Name: in.Name, Email: in.Email, PasswordHash: string(hash), TokenHash: hashSecret(token),
			ClientIP: clientIP, CreatedAt: now, ExpiresAt: now.Add(SignupConfirmWindow)}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		m := mails.Confirm(token)
		m.Kind, m.To = MailSignup, in.Email
		_, err := s.enqueueMail(tx, m)
		return err
	})
	return translate(err)
}

// PendingSignupByToken is the sign-up a link's token belongs to, while it
// waits (the page the link opens); ErrNotFound when unknown or expired.
func (s *Store) PendingSignupByToken(ctx context.Context, token string) (*PendingSignup, error) {
	var p PendingSignup
	if err := s.db.WithContext(ctx).Where("token_hash = ? AND expires_at > ?", hashSecret(token), s.now()).First(&p).Error; err != nil {
		return nil, translate(err)
	}
	return &p, nil
}

// CompleteSignup makes the account of a confirmed sign-up. The token works
// once; other pending sign-ups of the address go with it. A name taken
// meanwhile is refused with the reason.
func (s *Store) CompleteSignup(ctx context.Context, token string) (*User, error) {
	var u *User
	err := s.write(ctx, func(tx *gorm.DB) error {
		var p PendingSignup
		if err := tx.Where("token_hash = ? AND expires_at > ?", hashSecret(token), s.now()).First(&p).Error; err != nil {
			return err
		}
		if err := tx.Where("email = ?", p.Email).Delete(&PendingSignup{}).Error; err != nil {
			return err
		}
		var taken struct{ Name, Email int64 }
		if err := tx.Raw(`SELECT
			(SELECT COUNT(*) FROM users WHERE name = ?) AS name,
			(SELECT COUNT(*) FROM users WHERE email = ?) AS email`, p.Name, p.Email).Scan(&taken).Error; err != nil {
			return err
		}
		switch {
		case taken.Email > 0:
			return &ConflictError{Message: "An account with this address exists already; log in."}
		case taken.Name > 0:
			return &ConflictError{Message: "The name " + p.Name + " was taken meanwhile; sign up again with another name."}
		}
		u = &User{Name: p.Name, Email: p.Email, PasswordHash: p.PasswordHash, Role: RoleCustomer, MailLevel: MailOfficial}
		return tx.Create(u).Error
	})
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}
